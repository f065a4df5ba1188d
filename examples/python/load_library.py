#!/usr/bin/env python3
"""Kernels compiled ahead of time into a library, loaded and switched by name, as a
model would switch attention implementations (works with the runtime-only package).

    build/bin/attnc compile examples/specs/causal.json examples/specs/sliding_window.json \
        --emit library --target cpu -o /tmp/libattn.so
    PYTHONPATH=build/python build/venv/bin/python examples/python/load_library.py /tmp/libattn.so
"""
import sys

import numpy as np

import attnc

kernels = attnc.load(sys.argv[1])
print("loaded:", ", ".join(f"{name} (heads {k.heads}, head_dim {k.head_dim}, {k.dtype})"
                           for name, k in sorted(kernels.items())))

rng = np.random.default_rng(0)
q = rng.standard_normal((1, 8, 400, 64), dtype=np.float32)
k = rng.standard_normal((1, 8, 400, 64), dtype=np.float32)
v = rng.standard_normal((1, 8, 400, 64), dtype=np.float32)

# A layer looks its implementation up by name; changing the name switches it.
for implementation in ["eager"] + sorted(kernels):
    attention = attnc.ALL_ATTENTION_FUNCTIONS[implementation]
    out, lse = attention(q, k, v)
    print(f"{implementation:16} out[0, 0, 300, :3] = {np.array2string(out[0, 0, 300, :3], precision=4)}")
