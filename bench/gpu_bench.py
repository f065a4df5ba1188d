#!/usr/bin/env python3
"""GPU benchmark of attnc's kernels: the variants of issue 5's table, in bf16.

For each variant (plain, causal, softcap, alibi, sliding_window, document) and head
dim (64, 128) it writes a spec (bf16, 2048 / head_dim heads, so every row of the
table does the same work per token), then for each length L (1024 ... 16384) runs

    attnc bench SPEC --target cuda --shape B,L,L --reps N     (B = 16384 / L)

and prints a markdown table of attnc's TFLOP/s (FlashAttention's count, times the
fraction of pairs the mask keeps). With --torch, PyTorch's SDPA (flash backend,
plain/causal only) and flex_attention (every variant, score_mod/mask_mod written as
in the specs, compiled once per shape) are timed in the same run on the same
shapes, for the comparison in docs/performance.md. attnc's timings come from its
own `bench` command (median of N calls on GPU-resident tensors). The attnc part is
tested against the stand-in driver (test/fake-cuda); the --torch part has not run yet:
no GPU and no PyTorch were available where it was written.

Usage: bench/gpu_bench.py [--attnc build/bin/attnc] [--lengths 1024,4096]
                          [--dims 64,128] [--variants causal,softcap] [--torch]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

VARIANTS = {
    "plain": {},
    "causal": {"mask_mod": "q_idx >= kv_idx"},
    "softcap": {"constants": {"softcap": 50.0},
                "score_mod": "softcap * tanh(score / softcap)",
                "mask_mod": "q_idx >= kv_idx"},
    "alibi": {"buffers": {"slopes": {"dtype": "f32", "shape": ["H"]}},
              "score_mod": "score + slopes[h] * (kv_idx - q_idx)",
              "mask_mod": "q_idx >= kv_idx"},
    "sliding_window": {"constants": {"window": 1024},
                       "mask_mod": "q_idx >= kv_idx && q_idx - kv_idx < window"},
    "document": {"buffers": {"q_doc": {"dtype": "i32", "shape": ["B", "Q_LEN"]},
                             "kv_doc": {"dtype": "i32", "shape": ["B", "KV_LEN"]}},
                 "mask_mod": "q_doc[b, q_idx] == kv_doc[b, kv_idx] && q_idx >= kv_idx"},
}


def spec_for(variant, dim):
    spec = {"name": f"{variant}_d{dim}", "heads": {"q": 2048 // dim}, "head_dim": dim,
            "dtype": "bf16"}
    spec.update(VARIANTS[variant])
    return spec


def run_attnc(attnc, path, batch, length, reps):
    cmd = [attnc, "bench", path, "--target", "cuda", "--shape", f"{batch},{length},{length}",
           "--reps", str(reps)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr.strip()}")
    # The kernel's time from CUDA events (as PyTorch's below), else the call's.
    match = (re.search(r"CUDA events, median\)\s+([0-9.]+) ms\s+([0-9.]+) TFLOP/s", proc.stdout)
             or re.search(r"([0-9.]+) ms\s+([0-9.]+) TFLOP/s", proc.stdout))
    if not match:
        sys.exit(f"unexpected output of {' '.join(cmd)}:\n{proc.stdout}")
    return float(match.group(1)), float(match.group(2)), proc.stdout.strip()


def torch_timings(variant, dim, batch, length, reps):
    """(sdpa TFLOP/s or None, flex TFLOP/s) for one shape, or None without torch."""
    try:
        import torch
        from torch.nn.attention import SDPBackend, sdpa_kernel
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    except ImportError:
        return None
    heads = 2048 // dim
    dev = "cuda"
    q, k, v = (torch.randn(batch, heads, length, dim, device=dev, dtype=torch.bfloat16)
               for _ in range(3))
    def timed(fn):
        for _ in range(3):
            fn()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        times = []
        for _ in range(reps):
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        times.sort()
        return flops / (times[len(times) // 2] * 1e9)

    slopes = torch.exp2(-8.0 * torch.arange(1, heads + 1, device=dev) / heads)
    # Eight equal documents (attnc's random inputs: sorted ids 0..7 per row).
    docs = (torch.arange(length, device=dev) * 8 // length).int().expand(batch, length)
    score_mod, mask_mod = None, None
    if variant == "softcap":
        score_mod = lambda s, b, h, qi, ki: 50.0 * torch.tanh(s / 50.0)
    if variant == "alibi":
        score_mod = lambda s, b, h, qi, ki: s + slopes[h] * (ki - qi)
    if variant in ("causal", "softcap", "alibi"):
        mask_mod = lambda b, h, qi, ki: qi >= ki
    if variant == "sliding_window":
        mask_mod = lambda b, h, qi, ki: (qi >= ki) & (qi - ki < 1024)
    if variant == "document":
        mask_mod = lambda b, h, qi, ki: (docs[b, qi] == docs[b, ki]) & (qi >= ki)
    # FLOPs as attnc counts them: the mask's density sampled on a 64 x 64 grid.
    density = 1.0
    if mask_mod:
        at = torch.arange(64, device=dev) * length // 64
        density = mask_mod(0, 0, at[:, None], at[None, :]).float().mean().item()
    flops = 4.0 * batch * heads * length * length * dim * density
    block_mask = (create_block_mask(mask_mod, batch, None, length, length, device=dev)
                  if mask_mod else None)
    sdpa = None
    if variant in ("plain", "causal"):
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            sdpa = timed(lambda: torch.nn.functional.scaled_dot_product_attention(
                q, k, v, is_causal=variant == "causal"))
    flex = torch.compile(flex_attention)
    flex_tflops = timed(lambda: flex(q, k, v, score_mod=score_mod, block_mask=block_mask))
    return sdpa, flex_tflops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--attnc", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                    "bin", "attnc"))
    ap.add_argument("--lengths", default="1024,2048,4096,8192,16384")
    ap.add_argument("--dims", default="64,128")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--torch", action="store_true",
                    help="also time PyTorch SDPA (flash) and flex_attention")
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    dims = [int(x) for x in args.dims.split(",")]
    variants = args.variants.split(",")
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f"unknown variant '{v}' (expected one of {', '.join(VARIANTS)})")
    header = "| variant | head_dim | length | attnc ms | attnc TFLOP/s |"
    if args.torch:
        header += " SDPA flash TFLOP/s | flex_attention TFLOP/s |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    with tempfile.TemporaryDirectory() as tmp:
        for variant in variants:
            for dim in dims:
                path = os.path.join(tmp, f"{variant}_d{dim}.json")
                with open(path, "w") as f:
                    json.dump(spec_for(variant, dim), f)
                for length in lengths:
                    batch = max(1, 16384 // length)
                    ms, tflops, _ = run_attnc(args.attnc, path, batch, length, args.reps)
                    row = f"| {variant} | {dim} | {length} | {ms:.3f} | {tflops:.1f} |"
                    if args.torch:
                        t = torch_timings(variant, dim, batch, length, args.reps)
                        if t is None:
                            sys.exit("--torch: PyTorch is not installed")
                        sdpa, flex = t
                        row += f" {sdpa:.1f} |" if sdpa is not None else " - |"
                        row += f" {flex:.1f} |"
                    print(row, flush=True)


if __name__ == "__main__":
    main()
