#!/usr/bin/env python3
"""What a kernel call costs from Python beyond the same call from C++.

    PYTHONPATH=build/python build/venv/bin/python bench/python_overhead.py [--tensors numpy|torch]

Compiles a small variant (1 head, head_dim 16, 16 x 16 tokens: the kernel itself
takes microseconds), times REPS calls from Python (numpy or PyTorch CPU inputs, new
outputs each call, as the package returns them; with torch the call goes through the
custom op torch.ops.attnc.attention) and `attnc bench` on the same shape (C++: the
registry's call on preallocated tensors), both medians, and prints the difference.
The issue's bar: at most 10 us.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import attnc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--attnc", default=os.path.join(here, "..", "build", "bin", "attnc"))
    ap.add_argument("--reps", type=int, default=5000)
    ap.add_argument("--shape", default="1,16,16", help="B,Q_LEN,KV_LEN")
    ap.add_argument("--tensors", choices=("numpy", "torch"), default="numpy")
    args = ap.parse_args()
    b, lq, lk = map(int, args.shape.split(","))
    spec = {"name": "py_overhead", "heads": {"q": 1}, "head_dim": 16}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "py_overhead.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        kern = attnc.compile(path)
        out = subprocess.run([args.attnc, "bench", path, "--shape", args.shape,
                              "--reps", str(args.reps)], capture_output=True, text=True,
                             check=True).stdout
    m = re.search(r"\s([0-9.]+) ms\s", out)
    cpp_us = float(m.group(1)) * 1e3
    rng = np.random.default_rng(0)
    q = rng.standard_normal((b, 1, lq, 16), dtype=np.float32)
    k = rng.standard_normal((b, 1, lk, 16), dtype=np.float32)
    v = rng.standard_normal((b, 1, lk, 16), dtype=np.float32)
    if args.tensors == "torch":
        import torch
        q, k, v = (torch.from_numpy(x) for x in (q, k, v))
    for _ in range(200):
        kern(q, k, v)
    times = []
    for _ in range(args.reps):
        t = time.perf_counter()
        kern(q, k, v)
        times.append(time.perf_counter() - t)
    py_us = statistics.median(times) * 1e6
    print(f"shape B,Q_LEN,KV_LEN = {args.shape}, head_dim 16, f32, {args.reps} calls each (medians)")
    print(f"C++ (attnc bench):  {cpp_us:8.1f} us per call")
    print(f"Python (attnc pkg, {args.tensors}): {py_us:8.1f} us per call")
    print(f"Python overhead:    {py_us - cpp_us:8.1f} us per call (bar: 10 us)")
    return 0 if py_us - cpp_us <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
