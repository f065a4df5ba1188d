#!/usr/bin/env python3
"""attnc's CPU kernels against PyTorch's CPU attention, same machine, same run.

    PYTHONPATH=build/python build/venv/bin/python bench/cpu_vs_torch.py \
        [--variants plain,causal,...] [--dtypes f32,bf16] [--dims 64,128] \
        [--lengths 1024,4096] [--impls attnc,sdpa,flex,eager] [--reps 5]

For each variant (plain, causal, sliding_window, alibi, softcap, document), dtype,
head dim and length (B = 1, H = 8, q_len = kv_len) it times, with torch's thread
count (the same for everyone):
  * attnc: the variant compiled from its spec with attnc.compile, called on the torch
    tensors (buffers for ALiBi's slopes and the document ids);
  * sdpa: torch.nn.functional.scaled_dot_product_attention, with is_causal for causal,
    a boolean mask for sliding_window and document, an additive float mask for ALiBi;
    soft-capping has no SDPA form (row left empty);
  * flex: flex_attention compiled once per variant and shape with torch.compile, with
    a BlockMask from create_block_mask and a score_mod, as FlexAttention's users write it;
  * eager: softmax(mods(scale q kᵀ)) v written out in PyTorch (up to 4096 tokens).
Each is called once to warm up (compiling), then REPS times; the median is reported
with GFLOP/s = 4 B H L² D × the mask's density, and attnc's speed-up over each other
implementation (their time / attnc's). At the first length of each (variant, dtype,
dim) attnc's output is compared with eager's (max abs difference). Prints a markdown
table; --json writes the rows.
"""
import argparse
import json
import math
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import attnc

VARIANTS = ("plain", "causal", "sliding_window", "alibi", "softcap", "document")
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}
H, SOFTCAP, DOCS = 8, 30.0, 4


def window_of(length):
    return max(length // 8, 64)


def spec_of(variant, dtype, dim, length):
    spec = {"name": f"cpu_vs_torch_{variant}_{dtype}_d{dim}", "heads": {"q": H},
            "head_dim": dim, "dtype": dtype}
    if variant in ("causal", "alibi", "softcap", "document"):
        spec["mask_mod"] = "q_idx >= kv_idx"
    if variant == "sliding_window":
        spec["constants"] = {"w": window_of(length)}
        spec["mask_mod"] = "q_idx >= kv_idx && q_idx - kv_idx < w"
        spec["name"] += f"_w{window_of(length)}"
    if variant == "alibi":
        spec["buffers"] = {"slopes": {"dtype": "f32", "shape": ["H"]}}
        spec["score_mod"] = "score + slopes[h] * float(kv_idx - q_idx)"
    if variant == "softcap":
        spec["constants"] = {"cap": SOFTCAP}
        spec["score_mod"] = "cap * tanh(score / cap)"
    if variant == "document":
        spec["buffers"] = {"doc": {"dtype": "i32", "shape": ["B", "KV_LEN"]}}
        spec["mask_mod"] = "q_idx >= kv_idx && doc[b, q_idx] == doc[b, kv_idx]"
    return spec


class Problem:
    """Inputs and the variant's pieces for every implementation."""

    def __init__(self, variant, dtype, dim, length):
        self.variant, self.dim, self.length = variant, dim, length
        gen = torch.Generator().manual_seed(0)
        shape = (1, H, length, dim)
        self.q, self.k, self.v = (torch.randn(shape, generator=gen).to(DTYPES[dtype])
                                  for _ in range(3))
        self.slopes = torch.exp2(-8.0 * torch.arange(1, H + 1) / H)
        self.doc = (torch.arange(length) * DOCS // length).to(torch.int32)[None].contiguous()
        i, j = torch.arange(length)[:, None], torch.arange(length)[None, :]
        keep = torch.ones(length, length, dtype=torch.bool)
        if variant in ("causal", "alibi", "softcap", "document", "sliding_window"):
            keep &= i >= j
        if variant == "sliding_window":
            keep &= (i - j) < window_of(length)
        if variant == "document":
            keep &= self.doc[0][:, None] == self.doc[0][None, :]
        self.keep = keep
        self.density = keep.float().mean().item()
        self.bias = (self.slopes[:, None, None] * (j - i)).float() if variant == "alibi" else None

    def flops(self):
        return 4 * H * self.length ** 2 * self.dim * self.density

    # -- the implementations -------------------------------------------------
    def attnc(self, dtype):
        kern = attnc.compile(spec_of(self.variant, dtype, self.dim, self.length))
        buffers = {"slopes": self.slopes} if self.variant == "alibi" else \
            {"doc": self.doc} if self.variant == "document" else {}
        return lambda: kern(self.q, self.k, self.v, buffers=buffers)[0]

    def sdpa(self, dtype):
        q, k, v = self.q, self.k, self.v
        if self.variant == "softcap":
            return None
        if self.variant == "plain":
            return lambda: F.scaled_dot_product_attention(q, k, v)
        if self.variant == "causal":
            return lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)
        if self.variant == "alibi":
            mask = self.bias.masked_fill(~self.keep, -math.inf).to(q.dtype)[None]
        else:
            mask = self.keep
        return lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    def flex(self, dtype):
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        variant, doc, slopes = self.variant, self.doc, self.slopes
        w = window_of(self.length)
        mask_mod = score_mod = None
        if variant in ("causal", "alibi", "softcap"):
            mask_mod = lambda b, h, qi, ki: qi >= ki
        if variant == "sliding_window":
            mask_mod = lambda b, h, qi, ki: (qi >= ki) & (qi - ki < w)
        if variant == "document":
            mask_mod = lambda b, h, qi, ki: (qi >= ki) & (doc[b, qi] == doc[b, ki])
        if variant == "alibi":
            score_mod = lambda s, b, h, qi, ki: s + slopes[h] * (ki - qi)
        if variant == "softcap":
            score_mod = lambda s, b, h, qi, ki: SOFTCAP * torch.tanh(s / SOFTCAP)
        block = create_block_mask(mask_mod, 1, None, self.length, self.length, device="cpu") \
            if mask_mod else None
        compiled = torch.compile(flex_attention)
        q, k, v = self.q, self.k, self.v
        return lambda: compiled(q, k, v, score_mod=score_mod, block_mask=block)

    def eager(self, dtype):
        if self.length > 4096:
            return None
        q, k, v = self.q, self.k, self.v

        def run():
            s = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(self.dim)
            if self.variant == "alibi":
                s = s + self.bias
            if self.variant == "softcap":
                s = SOFTCAP * torch.tanh(s / SOFTCAP)
            s = s.masked_fill(~self.keep, -math.inf)
            return (torch.softmax(s, -1) @ v.float()).to(q.dtype)
        return run


def median_ms(fn, reps):
    fn()  # warm-up: compiles
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--dtypes", default="f32,bf16")
    ap.add_argument("--dims", default="64,128")
    ap.add_argument("--lengths", default="1024,4096")
    ap.add_argument("--impls", default="attnc,sdpa,flex,eager")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    impls = args.impls.split(",")
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        cpu = next(l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name"))
        flags = next(l for l in info.splitlines() if l.startswith("flags")).split()
        cpu += " (" + ", ".join(x for x in ("avx2", "avx512f", "avx512_bf16", "avx512_fp16",
                                            "amx_bf16") if x in flags) + ")"
    except (OSError, StopIteration):
        pass
    print(f"{cpu}; {torch.get_num_threads()} threads; torch {torch.__version__}; B=1, H={H}")
    print()
    header = ["variant", "dtype", "D", "L", "density"] + [f"{i} ms" for i in impls] + \
        ["attnc GFLOP/s"] + [f"vs {i}" for i in impls if i != "attnc"] + ["max |attnc - eager|"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    rows = []
    for variant in args.variants.split(","):
        for dtype in args.dtypes.split(","):
            for dim in map(int, args.dims.split(",")):
                for n, length in enumerate(map(int, args.lengths.split(","))):
                    p = Problem(variant, dtype, dim, length)
                    row = {"variant": variant, "dtype": dtype, "dim": dim, "length": length,
                           "density": p.density}
                    fns = {}
                    for impl in impls:
                        try:
                            fns[impl] = getattr(p, impl)(dtype)
                            row[impl] = median_ms(fns[impl], args.reps) if fns[impl] else None
                        except Exception as e:  # a baseline that fails is recorded, not fatal
                            row[impl] = None
                            row[f"{impl}_error"] = f"{type(e).__name__}: {e}"[:200]
                    if n == 0 and fns.get("attnc") and fns.get("eager"):
                        row["max_abs_diff"] = (fns["attnc"]().float() -
                                               fns["eager"]().float()).abs().max().item()
                    rows.append(row)
                    ms = row.get("attnc")
                    cells = [variant, dtype, str(dim), str(length), f"{p.density:.3f}"]
                    cells += [f"{row[i]:.1f}" if row.get(i) else "–" for i in impls]
                    cells.append(f"{p.flops() / ms / 1e6:.0f}" if ms else "–")
                    cells += [f"{row[i] / ms:.2f}x" if ms and row.get(i) else "–"
                              for i in impls if i != "attnc"]
                    cells.append(f"{row['max_abs_diff']:.1e}" if "max_abs_diff" in row else "")
                    print("| " + " | ".join(cells) + " |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu, "threads": torch.get_num_threads(),
                       "torch": torch.__version__, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
