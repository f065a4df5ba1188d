#!/usr/bin/env python3
"""attnc's CPU backward pass against PyTorch's, same machine, same run.

    PYTHONPATH=build/python build/venv/bin/python bench/backward_vs_torch.py \
        [--variants plain,causal] [--dims 128] [--lengths 2048,4096] \
        [--impls attnc,sdpa,flex,eager] [--reps 3]

For each variant (the ones of bench/cpu_vs_torch.py), head dim and length (B = 1,
H = 8, f32, q_len = kv_len) it runs the forward once with autograd and then times
the backward alone, `torch.autograd.grad(out, (q, k, v), dout, retain_graph=True)`:
  * attnc: the variant compiled with attnc.compile(..., backward=True) (its backward
    is the attnc::attention_backward custom op);
  * sdpa: scaled_dot_product_attention's backward (masks as in cpu_vs_torch.py);
  * flex: flex_attention compiled with torch.compile (torch 2.15 refuses its backward
    on the CPU, "FlexAttention does not support backward on CPU": the row says so);
  * eager: the variant written with torch ops (cpu_vs_torch.py's), autograd's backward.
It also times attnc's forward, for the backward/forward ratio. The median of REPS
runs after a warm-up; attnc's speed-up is the other's time / attnc's. attnc's dq is
compared with sdpa's (or flex's) at each shape (max abs difference).
"""
import argparse
import platform

import torch

import attnc
from cpu_vs_torch import Problem, median_ms, spec_of


def grads_fn(run, q, k, v):
    """A function timing the backward of `run` (which returns out) on fresh leaves."""
    leaves = [t.detach().clone().requires_grad_() for t in (q, k, v)]
    out = run(*leaves)
    dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    return (lambda: torch.autograd.grad(out, leaves, dout, retain_graph=True)), dout


def implementations(p, length, dim):
    """name -> fn(q, k, v) -> out, with autograd."""
    impls = {}
    kern = attnc.compile(spec_of(p.variant, "f32", dim, length), backward=True)
    buffers = {"slopes": p.slopes} if p.variant == "alibi" else \
        {"doc": p.doc} if p.variant == "document" else {}
    impls["attnc"] = lambda q, k, v: kern(q, k, v, buffers=buffers)[0]

    def on(method):
        """p.<method>("f32")() on the given q, k, v (Problem's methods read p.q, p.k, p.v)."""
        def run(q, k, v):
            saved = p.q, p.k, p.v
            p.q, p.k, p.v = q, k, v
            try:
                return getattr(p, method)("f32")()
            finally:
                p.q, p.k, p.v = saved
        return run

    if p.sdpa("f32") is not None:
        impls["sdpa"] = on("sdpa")
    impls["flex"] = on("flex")
    if length <= 4096:
        impls["eager"] = on("eager")
    return impls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", default="plain,causal")
    ap.add_argument("--dims", default="128")
    ap.add_argument("--lengths", default="2048,4096")
    ap.add_argument("--impls", default="attnc,sdpa,flex,eager")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    wanted = args.impls.split(",")
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, B=1 H=8 f32")
    print("| variant | D | L | attnc fwd ms | attnc bwd ms | bwd/fwd | "
          + " | ".join(f"{n} bwd ms | speed-up" for n in wanted if n != "attnc") + " |")
    for variant in args.variants.split(","):
        for dim in map(int, args.dims.split(",")):
            for length in map(int, args.lengths.split(",")):
                p = Problem(variant, "f32", dim, length)
                impls = implementations(p, length, dim)
                times, grads = {}, {}
                for name in wanted:
                    if name not in impls:
                        continue
                    try:
                        fn, _ = grads_fn(impls[name], p.q, p.k, p.v)
                    except NotImplementedError as e:
                        print(f"<!-- {name}: {str(e).splitlines()[0]} -->", flush=True)
                        continue
                    times[name] = median_ms(fn, args.reps)
                    grads[name] = fn()[0]
                fwd = median_ms(lambda: impls["attnc"](p.q, p.k, p.v), args.reps)
                a = times["attnc"]
                cells = []
                for name in wanted:
                    if name == "attnc":
                        continue
                    t = times.get(name)
                    cells.append(f"{t:.1f} | {t / a:.2f}x" if t else "- | -")
                print(f"| {variant} | {dim} | {length} | {fwd:.1f} | {a:.1f} | {a / fwd:.2f} | "
                      + " | ".join(cells) + " |", flush=True)
                diffs = ", ".join(f"{n} {(grads[n] - grads['attnc']).abs().max().item():.1e}"
                                  for n in grads if n != "attnc")
                print(f"<!-- dq max abs difference to attnc: {diffs} -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
