#!/usr/bin/env python3
"""A FlexAttention-style variant on PyTorch tensors: ALiBi biases (a per-head slope
buffer) inside documents packed into one sequence (a document-id buffer), causal,
with grouped-query heads, in bfloat16. Checked against PyTorch in float64, then
called from a function compiled with torch.compile(fullgraph=True).

    PYTHONPATH=build/python build/venv/bin/python examples/python/flex_on_torch.py

FlexAttention writes the same variant as
    score_mod = lambda score, b, h, q, kv: score - slopes[h] * (q - kv)
    mask_mod  = lambda b, h, q, kv: (q >= kv) & (doc[b, q] == doc[b, kv])
"""
import math

import torch

import attnc

H, H_KV, D = 8, 2, 64
kern = attnc.compile({
    "name": "alibi_documents", "heads": {"q": H, "kv": H_KV}, "head_dim": D, "dtype": "bf16",
    "buffers": {"slopes": {"dtype": "f32", "shape": ["H"]},
                "doc": {"dtype": "i32", "shape": ["B", "Q_LEN"]}},
    "score_mod": "score - slopes[h] * float(q_idx - kv_idx)",
    "mask_mod": "q_idx >= kv_idx && doc[b, q_idx] == doc[b, kv_idx]",
})

torch.manual_seed(0)
B, L = 2, 300
q = torch.randn(B, L, H, D, dtype=torch.bfloat16).transpose(1, 2)  # [B, L, H, D] memory
k = torch.randn(B, H_KV, L, D, dtype=torch.bfloat16)
v = torch.randn(B, H_KV, L, D, dtype=torch.bfloat16)
slopes = torch.tensor([2.0 ** (-8 * (i + 1) / H) for i in range(H)])
doc = torch.cat([torch.full((110,), 0), torch.full((70,), 1), torch.full((120,), 2)])
doc = torch.stack([doc, doc.roll(40)]).to(torch.int32)

out, lse = kern(q, k, v, buffers={"slopes": slopes, "doc": doc})


def reference(q, k, v):
    q, k, v = (x.double() for x in (q, k, v))
    k, v = (x.repeat_interleave(H // H_KV, dim=1) for x in (k, v))
    i, j = torch.arange(L)[:, None], torch.arange(L)[None, :]
    s = (q @ k.transpose(-1, -2)) / math.sqrt(D) - slopes.double()[:, None, None] * (i - j)
    keep = (i >= j) & (doc[:, :, None] == doc[:, None, :])[:, None]
    s = s.masked_fill(~keep, -math.inf)
    return torch.softmax(s, -1) @ v, torch.logsumexp(s, -1)


want, want_lse = reference(q, k, v)
print(f"out {tuple(out.shape)} {out.dtype}, lse {tuple(lse.shape)} {lse.dtype}")
print(f"max relative error vs torch float64: out "
      f"{((out.double() - want).abs().max() / want.abs().max()).item():.2e}, lse "
      f"{((lse.double() - want_lse).abs().max() / want_lse.abs().max()).item():.2e}")


@torch.compile(fullgraph=True)
def attention_block(q, k, v):
    out, _ = kern(q, k, v, buffers={"slopes": slopes, "doc": doc})
    return out.float().sum(dim=-1)


compiled, eager = attention_block(q, k, v), out.float().sum(dim=-1)
print(f"torch.compile(fullgraph=True): one graph, max difference from eager "
      f"{(compiled - eager).abs().max().item():.1e} (summation order)")
