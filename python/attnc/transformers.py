"""attn_implementation="attnc" for Hugging Face transformers.

    import attnc.transformers
    model = AutoModelForCausalLM.from_pretrained(..., attn_implementation="attnc")

Importing this module registers "attnc" in transformers' AttentionInterface (the
attention function) and AttentionMaskInterface (the mask builder). The mask builder
builds no dense mask for what a kernel computes itself: it hands each layer an
`AttncMask` (the pattern, causal and sliding window, the position of the first query
among the keys, and the 2-d padding mask when a batch is padded). The attention
function compiles the variant that the layer and its mask describe (heads, GQA,
head_dim, dtype, scaling, soft-capping, causal, window, padding), caches it, and
calls it: one custom op per layer (torch.ops.attnc.attention).

`register(NAME, spec)` adds a user's variant under its own attn_implementation:
its `score_mod` and `mask_mod` are applied on top of the model's own pattern.
See docs/python.md.
"""
import hashlib
import json
import re

import torch
from transformers import AttentionInterface
from transformers.masking_utils import (AttentionMaskInterface, bidirectional_mask_function,
                                        causal_mask_function, prepare_padding_mask, sdpa_mask)

from . import CallError, compile as _compile

__all__ = ["AttncMask", "attention_forward", "mask_builder", "register", "compiled_variants"]

_DTYPES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}


class AttncMask:
    """The mask an attnc layer gets instead of a dense one.

    pattern: "causal" (with `window`: keys within `window` positions) or "full" for
        the patterns attnc computes itself; "dense" for any other (then `dense`
        holds the boolean mask the sdpa builder makes, as int32 [B, Q_LEN, KV_LEN]).
    q_start: the key index of the first query (KV-cache offsets), so query i is at
        key position `i + q_start`.
    padding: int32 [B, KV_LEN], nonzero where a key is a real token; None when no
        key is padding.
    """
    __slots__ = ("pattern", "window", "q_start", "padding", "dense")

    def __init__(self, pattern, window=None, q_start=0, padding=None, dense=None):
        self.pattern, self.window, self.q_start = pattern, window, q_start
        self.padding, self.dense = padding, dense

    def __repr__(self):
        return (f"AttncMask({self.pattern!r}, window={self.window}, q_start={self.q_start}, "
                f"padding={None if self.padding is None else list(self.padding.shape)})")


def _closure(fn):
    """A closure's free variables by name ({} for a plain function)."""
    cells = getattr(fn, "__closure__", None) or ()
    return dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in cells)))


def _pattern_of(mask_function):
    """("causal", window or None) or ("full", None) for the mask functions of
    transformers' builders attnc computes itself; None for anything else (overlays
    for packed sequences, image tokens, chunks), which gets a dense mask."""
    if mask_function is causal_mask_function:
        return "causal", None
    if mask_function is bidirectional_mask_function:
        return "full", None
    parts = _closure(mask_function).get("mask_functions")
    if (mask_function.__qualname__ == "and_masks.<locals>.and_mask" and isinstance(parts, tuple)
            and len(parts) == 2 and parts[1] is causal_mask_function
            and getattr(parts[0], "__qualname__", "") == "sliding_window_overlay.<locals>.inner_mask"):
        window = _closure(parts[0]).get("sliding_window")
        if isinstance(window, int) and window > 0:
            return "causal", window
    return None


def mask_builder(batch_size, q_length, kv_length, q_offset=0, kv_offset=0,
                 mask_function=causal_mask_function, attention_mask=None, device="cpu",
                 **kwargs):
    """transformers' mask interface for "attnc": an AttncMask (see above)."""
    q_start = int(q_offset) - int(kv_offset)
    pattern = _pattern_of(mask_function)
    if pattern is None:
        dense = sdpa_mask(batch_size=batch_size, q_length=q_length, kv_length=kv_length,
                          q_offset=q_offset, kv_offset=kv_offset, mask_function=mask_function,
                          attention_mask=attention_mask, allow_is_causal_skip=False,
                          device=device)
        dense = dense.expand(batch_size, -1, q_length, kv_length)[:, 0].to(torch.int32)
        return AttncMask("dense", q_start=q_start, dense=dense)
    padding = None
    if attention_mask is not None:
        keys = prepare_padding_mask(attention_mask, kv_length, kv_offset)
        keys = keys[:, kv_offset:kv_offset + kv_length]
        if not bool(keys.all()):
            padding = keys.to(torch.int32)
    return AttncMask(pattern[0], window=pattern[1], q_start=q_start, padding=padding)


def _mask_of(attention_mask, query, key, is_causal):
    """The AttncMask of what a layer passes: the builder's, or one made from None
    (sdpa's rule: causal, top-left, when more than one query) or a 4-d mask tensor
    (boolean: kept pairs; float: added to the scores), with the float mask."""
    if isinstance(attention_mask, AttncMask):
        return attention_mask, None
    q_len = query.shape[2]
    if attention_mask is None:
        return AttncMask("causal" if is_causal and q_len > 1 else "full"), None
    if not isinstance(attention_mask, torch.Tensor) or attention_mask.dim() != 4:
        raise CallError("attnc: attention_mask must be an attnc mask, None or a 4-d tensor "
                        f"[B, 1 or H, Q_LEN, KV_LEN], got {type(attention_mask).__name__}")
    B, H, kv_len = query.shape[0], query.shape[1], key.shape[2]
    mask = attention_mask.expand(B, -1, q_len, kv_len)
    if mask.shape[1] not in (1, H):
        raise CallError(f"attnc: a 4-d attention_mask has {mask.shape[1]} heads; expected 1 or {H}")
    if mask.shape[1] == 1:  # one mask for every head: [B, Q_LEN, KV_LEN]
        mask = mask[:, 0]
    if attention_mask.dtype == torch.bool:
        return AttncMask("dense", dense=mask.to(torch.int32)), None
    return AttncMask("full"), mask.to(torch.float32)


def _spec(query, key, value, scaling, softcap, mask, bias, user):
    """The spec (without name) of the variant a layer needs."""
    H, D, DV, HKV = query.shape[1], query.shape[3], value.shape[3], key.shape[1]
    if query.dtype not in _DTYPES:
        raise CallError(f"attnc: query dtype {query.dtype} is not float32, float16 or bfloat16")
    spec = {"heads": {"q": H, "kv": HKV}, "head_dim": D, "head_dim_v": DV,
            "dtype": _DTYPES[query.dtype],
            "scale": float(scaling) if scaling is not None else D ** -0.5,
            "scalars": {"q_start": "i64"}}
    constants, buffers, keep = dict(user.get("constants", {})), {}, []
    score = "score"
    if softcap:
        constants["attnc_softcap"] = float(softcap)
        score = "attnc_softcap * tanh(score / attnc_softcap)"
    if mask.pattern == "causal":
        keep.append("kv_idx <= q_idx + q_start")
        if mask.window:
            constants["attnc_window"] = int(mask.window)
            keep.append("q_idx + q_start - kv_idx < attnc_window")
    if mask.padding is not None:
        buffers["attnc_kv_valid"] = {"dtype": "i32", "shape": ["B", "KV_LEN"]}
        keep.append("attnc_kv_valid[b, kv_idx] != 0")
    if mask.dense is not None:
        per_head = mask.dense.dim() == 4
        buffers["attnc_keep"] = {"dtype": "i32", "shape": ["B", "H", "Q_LEN", "KV_LEN"]
                                 if per_head else ["B", "Q_LEN", "KV_LEN"]}
        keep.append("attnc_keep[b, h, q_idx, kv_idx] != 0" if per_head
                    else "attnc_keep[b, q_idx, kv_idx] != 0")
    if bias is not None:
        per_head = bias.dim() == 4
        buffers["attnc_bias"] = {"dtype": "f32", "shape": ["B", "H", "Q_LEN", "KV_LEN"]
                                 if per_head else ["B", "Q_LEN", "KV_LEN"]}
        score = f"({score}) + " + ("attnc_bias[b, h, q_idx, kv_idx]" if per_head
                                    else "attnc_bias[b, q_idx, kv_idx]")
    if "score_mod" in user:
        score = re.sub(r"\bscore\b", f"({score})", user["score_mod"]) if score != "score" \
            else user["score_mod"]
    if "mask_mod" in user:
        keep.append(f"({user['mask_mod']})")
    if score != "score":
        spec["score_mod"] = score
    if keep:
        spec["mask_mod"] = " && ".join(keep)
    if constants:
        spec["constants"] = constants
    if buffers:
        spec["buffers"] = buffers
    return spec


_VARIANTS = {}  # (spec text, target, backward) -> attnc.Kernel


def compiled_variants():
    """The variants compiled so far: {name: spec}."""
    return {kernel.name: json.loads(key[0]) for key, kernel in _VARIANTS.items()}


def _variant(spec, device, backward=False):
    """The compiled kernel of `spec` for `device` (with its backward pass when
    `backward`: training), compiled on first use."""
    text = json.dumps(spec, sort_keys=True)
    target = "cpu" if device.type == "cpu" else "cuda"
    kernel = _VARIANTS.get((text, target, backward))
    if kernel is None:
        name = "hf_" + hashlib.sha1(f"{text}|{target}|{backward}".encode()).hexdigest()[:16]
        kernel = _compile(dict(spec, name=name), target=target, backward=backward)
        _VARIANTS[(text, target, backward)] = kernel
    return kernel


def attention_forward(module, query, key, value, attention_mask, dropout=0.0, scaling=None,
                      is_causal=None, softcap=None, _attnc_user=None, **kwargs):
    """transformers' attention interface for "attnc": query [B, H, Q_LEN, D], key
    and value [B, H_KV, KV_LEN, D] (the cache's), attention_mask from mask_builder.
    Returns (output [B, Q_LEN, H, DV], None)."""
    if dropout:
        raise CallError(f"attnc: attention dropout ({dropout}) is not supported; "
                        "use the model in eval() mode or set attention_dropout to 0")
    for unsupported in ("s_aux", "sinks", "position_bias"):
        if kwargs.get(unsupported) is not None:
            raise CallError(f"attnc: the attention argument '{unsupported}' is not supported")
    if is_causal is None:
        is_causal = getattr(module, "is_causal", True)
    mask, bias = _mask_of(attention_mask, query, key, is_causal)
    spec = _spec(query, key, value, scaling, softcap, mask, bias, _attnc_user or {})
    # Training: a kernel with its backward pass, so that loss.backward() reaches
    # q, k and v (the masks and biases built here need no gradient).
    training = torch.is_grad_enabled() and any(
        t.requires_grad for t in (query, key, value))
    kernel = _variant(spec, query.device, backward=training)
    buffers = {}
    if mask.padding is not None:
        buffers["attnc_kv_valid"] = mask.padding
    if mask.dense is not None:
        buffers["attnc_keep"] = mask.dense
    if bias is not None:
        buffers["attnc_bias"] = bias
    out, _ = kernel(query, key, value, scalars={"q_start": mask.q_start}, buffers=buffers,
                    out_layout="BLHD")
    return out, None


_USER_FIELDS = {"score_mod", "mask_mod", "constants"}


def register(name, spec):
    """Registers the attn_implementation `name`: the model's attention (its pattern,
    padding, scaling, soft-capping, GQA) with `spec`'s score_mod and mask_mod on
    top. `spec` (a dict or JSON text) holds only score_mod, mask_mod and constants;
    its expressions may use `q_start` (query i is at key position i + q_start)."""
    if isinstance(spec, str):
        spec = json.loads(spec)
    if not isinstance(spec, dict):
        raise TypeError(f"attnc.transformers.register: a spec is a dict or JSON text, "
                        f"not {type(spec).__name__}")
    extra = set(spec) - _USER_FIELDS
    if extra:
        raise ValueError(f"attnc.transformers.register: field(s) {', '.join(sorted(extra))} "
                         "come from the model; a variant gives only score_mod, mask_mod "
                         "and constants")
    user = dict(spec)

    def forward(module, query, key, value, attention_mask, **kwargs):
        return attention_forward(module, query, key, value, attention_mask,
                                 _attnc_user=user, **kwargs)

    AttentionInterface.register(name, forward)
    AttentionMaskInterface.register(name, mask_builder)


AttentionInterface.register("attnc", attention_forward)
AttentionMaskInterface.register("attnc", mask_builder)
