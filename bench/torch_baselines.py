#!/usr/bin/env python3
"""Time PyTorch's attention baselines (SDPA flash, compiled flex_attention) on a GPU.

Standalone (imports nothing from attnc): the numbers it prints are the baselines
that attnc's own CUDA kernels, timed elsewhere (`attnc bench`, bench/gpu_bench.py),
are compared against. Shapes and variants follow bench/gpu_bench.py: bf16, q/k/v as
[B, H, L, D] with B = 16384 // L and H = 2048 // D; variants plain, causal, softcap,
alibi, sliding_window, document. For each (variant, head dim, length) it times

  * torch.nn.functional.scaled_dot_product_attention forced to the flash backend
    (plain and causal only; is_causal for causal), and
  * flex_attention wrapped once in torch.compile (BlockMask from create_block_mask
    for masked variants, score_mod for softcap/alibi),

with CUDA events around each call after warm-up calls, reporting the median ms and
TFLOP/s = FlashAttention's 4*B*H*L*L*D times the mask's density, sampled on a 64 x 64
grid at b = 0 as `attnc bench` counts it. At the first length of each (variant, dim)
it prints the max abs difference of flex's output from SDPA flash's (plain, causal)
or from eager, uncompiled flex_attention (the other variants). Each measurement is
wrapped in try/except: failures are recorded, not fatal. Once --budget-seconds have
passed no new measurement starts; the rest are recorded as skipped. The JSON is
rewritten after every shape, so a run killed by a timeout keeps what it measured.

Run:  python3 bench/torch_baselines.py --json /tmp/x.json   (options: --help)
Called by the device half of scripts/gpu-check.sh. Output: a markdown table on
stdout; with --json, a list of {variant, dim, length, batch, heads, impl, ms, tflops,
density[, max_abs_diff, check_ref][, error]} (impl "sdpa_flash" or "flex_compiled").
"""
import argparse
import datetime
import json
import sys
import time

VARIANTS = ("plain", "causal", "softcap", "alibi", "sliding_window", "document")
SDPA_VARIANTS = ("plain", "causal")
SOFTCAP, WINDOW, DOCS = 50.0, 1024, 8


def mods(variant, batch, heads, length):
    """(score_mod, mask_mod, mask_batch) for a variant, written as in gpu_bench.py."""
    import torch
    dev = "cuda"
    score_mod = mask_mod = None
    if variant == "softcap":
        score_mod = lambda s, b, h, qi, ki: SOFTCAP * torch.tanh(s / SOFTCAP)
    if variant == "alibi":
        slopes = torch.exp2(-8.0 * torch.arange(1, heads + 1, device=dev) / heads)
        score_mod = lambda s, b, h, qi, ki: s + slopes[h] * (ki - qi)
    if variant in ("causal", "softcap", "alibi"):
        mask_mod = lambda b, h, qi, ki: qi >= ki
    if variant == "sliding_window":
        mask_mod = lambda b, h, qi, ki: (qi >= ki) & (qi - ki < WINDOW)
    if variant == "document":
        # DOCS equal documents per row (document ids 0..DOCS-1, sorted).
        docs = (torch.arange(length, device=dev) * DOCS // length).int()
        docs = docs.expand(batch, length).contiguous()
        mask_mod = lambda b, h, qi, ki: (docs[b, qi] == docs[b, ki]) & (qi >= ki)
    # Only the document mask depends on b; the others broadcast over B and H.
    return score_mod, mask_mod, batch if variant == "document" else None


def density_of(mask_mod, length):
    """Fraction of (q, kv) pairs kept, sampled on a 64 x 64 grid at b = h = 0 (as attnc)."""
    import torch
    if mask_mod is None:
        return 1.0
    at = torch.arange(64, device="cuda") * length // 64
    return mask_mod(0, 0, at[:, None], at[None, :]).float().mean().item()


def time_ms(fn, reps, warmup):
    """Median milliseconds of fn() over reps calls, CUDA events around each call."""
    import torch
    for _ in range(max(1, warmup)):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(reps):
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def fmt(rec, key, spec):
    if rec is None:
        return "-"
    if rec.get("error"):
        return "skip" if rec["error"].startswith("skipped") else "err"
    return format(rec[key], spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="Called by the device half of scripts/gpu-check.sh.")
    ap.add_argument("--variants", default="plain,causal",
                    help=f"comma-separated, of {','.join(VARIANTS)} (SDPA: plain, causal only)")
    ap.add_argument("--dims", default="64,128", help="head dims")
    ap.add_argument("--lengths", default="1024,2048,4096,8192,16384", help="L (B = 16384 // L)")
    ap.add_argument("--reps", type=int, default=20, help="timed calls per measurement")
    ap.add_argument("--warmup", type=int, default=5, help="untimed calls first (at least 1)")
    ap.add_argument("--json", metavar="OUT.json", help="write all results here")
    ap.add_argument("--budget-seconds", type=float, default=150.0,
                    help="start no new measurement after this many seconds")
    ap.add_argument("--no-flex", action="store_true", help="time SDPA only")
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f"unknown variant '{v}' (expected one of {', '.join(VARIANTS)})")
    dims = [int(x) for x in args.dims.split(",") if x]
    lengths = [int(x) for x in args.lengths.split(",") if x]

    import torch
    import torch._dynamo
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    if not torch.cuda.is_available():
        sys.exit("torch_baselines.py: no CUDA device visible to PyTorch")
    try:
        import triton
        triton_version = triton.__version__
    except Exception:
        triton_version = "none"
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), triton {triton_version}")
    print(f"GPU: {torch.cuda.get_device_name(0)}")
    print(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(flush=True)

    # One compiled flex for every shape and variant: each new shape/mod recompiles
    # (dynamic=False keeps kernels shape-specialised), so lift dynamo's limits.
    for name in ("cache_size_limit", "recompile_limit",
                 "accumulated_cache_size_limit", "accumulated_recompile_limit"):
        if hasattr(torch._dynamo.config, name):
            setattr(torch._dynamo.config, name, 1024)
    flex = torch.compile(flex_attention, dynamic=False)

    t0 = time.monotonic()
    results, rows, skipped = [], [], []
    torch.manual_seed(0)

    def dump():
        if args.json:
            with open(args.json, "w") as out:
                json.dump(results, out, indent=1)

    def measure(base, impl, setup, flops):
        """Time setup()'s function; returns the record (error on failure or skip)."""
        rec = dict(base, impl=impl, ms=None, tflops=None)
        results.append(rec)
        if time.monotonic() - t0 > args.budget_seconds:
            rec["error"] = f"skipped: budget of {args.budget_seconds:g} s spent"
            skipped.append(f"{impl} {base['variant']} d{base['dim']} L{base['length']}")
            return rec, None
        try:
            fn = setup()
            ms = time_ms(fn, args.reps, args.warmup)
            rec.update(ms=ms, tflops=flops / (ms * 1e9))
            return rec, fn
        except Exception as e:
            rec["error"] = f"{type(e).__name__}: {e}"[:2000]
            print(f"  {impl} {base['variant']} d{base['dim']} L{base['length']}: "
                  f"{rec['error'][:300]}", file=sys.stderr, flush=True)
            return rec, None

    def check(variant, dim, length, flex_fn, ref_fn, ref_name, rec):
        """Max |flex - reference| of one call each, printed and stored in rec."""
        try:
            diff = (flex_fn().float() - ref_fn().float()).abs().max().item()
            rec.update(max_abs_diff=diff, check_ref=ref_name)
            print(f"check {variant} d{dim} L{length}: max |flex - {ref_name}| = {diff:.3e}",
                  flush=True)
        except Exception as e:
            rec["check_error"] = f"{type(e).__name__}: {e}"[:2000]
            print(f"check {variant} d{dim} L{length} failed: {rec['check_error'][:300]}",
                  flush=True)

    for variant in variants:
        for dim in dims:
            heads = 2048 // dim
            for i, length in enumerate(lengths):
                batch = max(1, 16384 // length)
                base = dict(variant=variant, dim=dim, length=length, batch=batch, heads=heads)
                sdpa_rec = flex_rec = None
                try:
                    q, k, v = (torch.randn(batch, heads, length, dim, device="cuda",
                                           dtype=torch.bfloat16) for _ in range(3))
                    score_mod, mask_mod, mask_b = mods(variant, batch, heads, length)
                    base["density"] = density_of(mask_mod, length)
                except Exception as e:  # e.g. out of memory, or a dead CUDA context
                    err = f"setup: {type(e).__name__}: {e}"[:2000]
                    print(f"  {variant} d{dim} L{length}: {err[:300]}", file=sys.stderr)
                    recs = [dict(base, impl=m, ms=None, tflops=None, error=err) if on else None
                            for m, on in (("sdpa_flash", variant in SDPA_VARIANTS),
                                          ("flex_compiled", not args.no_flex))]
                    results.extend(r for r in recs if r)
                    rows.append((variant, dim, length, batch, heads, *recs))
                    q = k = v = score_mod = mask_mod = None
                    torch.cuda.empty_cache()
                    dump()
                    continue
                flops = 4.0 * batch * heads * length * length * dim * base["density"]
                causal = variant == "causal"
                block_mask = None

                def sdpa():
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

                def flex_setup():
                    nonlocal block_mask
                    if mask_mod is not None:
                        block_mask = create_block_mask(mask_mod, mask_b, None, length, length,
                                                       device="cuda")
                    return lambda: flex(q, k, v, score_mod=score_mod, block_mask=block_mask)

                if variant in SDPA_VARIANTS:
                    sdpa_rec, _ = measure(base, "sdpa_flash", lambda: sdpa, flops)
                if not args.no_flex:
                    flex_rec, flex_fn = measure(base, "flex_compiled", flex_setup, flops)
                    if i == 0 and flex_fn is not None:
                        # Sanity check: flex vs SDPA flash, else vs eager (unfused) flex.
                        if variant in SDPA_VARIANTS:
                            check(variant, dim, length, flex_fn, sdpa, "sdpa_flash", flex_rec)
                        else:
                            eager = lambda: flex_attention(q, k, v, score_mod=score_mod,
                                                           block_mask=block_mask)
                            check(variant, dim, length, flex_fn, eager, "flex_eager", flex_rec)
                # Free this shape's tensors before the next one.
                q = k = v = block_mask = score_mod = mask_mod = flex_fn = None
                try:
                    torch.cuda.synchronize()
                    torch.cuda.empty_cache()
                except Exception as e:
                    print(f"  cleanup after {variant} d{dim} L{length}: {e}", file=sys.stderr)
                rows.append((variant, dim, length, batch, heads, sdpa_rec, flex_rec))
                dump()
                print(f"  done {variant} d{dim} L{length} ({time.monotonic() - t0:.0f} s)",
                      file=sys.stderr, flush=True)

    print("\n| variant | head dim | L | B | H | SDPA ms | SDPA TFLOP/s | flex ms | flex TFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for variant, dim, length, batch, heads, s, f in rows:
        print(f"| {variant} | {dim} | {length} | {batch} | {heads} | {fmt(s, 'ms', '.3f')} | "
              f"{fmt(s, 'tflops', '.1f')} | {fmt(f, 'ms', '.3f')} | {fmt(f, 'tflops', '.1f')} |")
    errors = [r for r in results if r.get("error") and not r["error"].startswith("skipped")]
    if errors:
        print(f"\n{len(errors)} measurement(s) failed; see stderr or the JSON for errors.")
    if skipped:
        print(f"\nbudget of {args.budget_seconds:g} s spent; skipped: {', '.join(skipped)}")
    print(f"\ntotal {time.monotonic() - t0:.0f} s", flush=True)
    if args.json:
        dump()
        print(f"wrote {len(results)} results to {args.json}")


if __name__ == "__main__":
    main()
