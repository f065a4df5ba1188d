#!/usr/bin/env python3
"""A FlexAttention-style variant from Python: soft-capped scores with a sliding
window, compiled by attnc and run on numpy tensors, checked against numpy.

    PYTHONPATH=build/python build/venv/bin/python examples/python/variant_on_numpy.py
"""
import numpy as np

import attnc

# score_mod and mask_mod are expressions (docs/spec.md), the rest is the head layout.
kern = attnc.compile({
    "name": "softcap_window",
    "heads": {"q": 8, "kv": 2},          # grouped-query attention, 4 query heads per K/V head
    "head_dim": 64,
    "constants": {"cap": 30.0, "window": 48},
    "score_mod": "cap * tanh(score / cap)",
    "mask_mod": "q_idx >= kv_idx && q_idx - kv_idx < window",
})
print(kern)

rng = np.random.default_rng(0)
q = rng.standard_normal((2, 8, 300, 64), dtype=np.float32)
k = rng.standard_normal((2, 2, 300, 64), dtype=np.float32)
v = rng.standard_normal((2, 2, 300, 64), dtype=np.float32)
out, lse = kern(q, k, v)

# The same in numpy, in float64.
kk, vv = np.repeat(k, 4, axis=1).astype(np.float64), np.repeat(v, 4, axis=1).astype(np.float64)
s = 30.0 * np.tanh(np.einsum("bhqd,bhkd->bhqk", q, kk) * kern.scale / 30.0)
i, j = np.arange(300)[:, None], np.arange(300)[None, :]
s = np.where((i >= j) & (i - j < 48), s, -np.inf)
p = np.exp(s - s.max(-1, keepdims=True))
want = np.einsum("bhqk,bhkd->bhqd", p / p.sum(-1, keepdims=True), vv)
err = np.abs(out - want).max() / np.abs(want).max()
print(f"out {out.shape} {out.dtype}, lse {lse.shape}; max relative error vs numpy float64: {err:.1e}")
assert err < 1e-5
