"""Kernel calls on PyTorch tensors: the custom op `attnc::attention`.

A call `kernel(q, k, v, ...)` with torch tensors runs `torch.ops.attnc.attention`,
a `torch.library` custom op with a fake (meta) implementation, so that
`torch.compile(fullgraph=True)` traces it as one node of the graph. The op takes
the kernel by key (a string naming a live attnc.Kernel), the scalars as name
lists plus int and float values, and the buffers as a name list plus tensors:
the types a custom op's schema can carry. Outputs are new tensors on q's device
(out in q's dtype, lse in float32), poisoned with NaN before the kernel writes
them; CUDA calls run on the current stream.
"""
import itertools
import math
import weakref

import torch

from ._attnc import CallError

# Live kernels by key. The op holds a key, not the kernel: a custom op's schema
# has no type for an arbitrary object.
_KERNELS = weakref.WeakValueDictionary()
_next_key = itertools.count()


def kernel_key(kernel):
    """A key naming `kernel` in calls of the op (stable for the kernel's life)."""
    key = f"{kernel.name}#{next(_next_key)}"
    _KERNELS[key] = kernel
    return key


def _names(text):
    return text.split(",") if text else []


def _output_shapes(q, v):
    """out [B, H, Q_LEN, DV] and lse [B, H, Q_LEN], or CallError for inputs of the
    wrong rank (the runtime checks everything else)."""
    for what, t in (("q", q), ("v", v)):
        if t.dim() != 4:
            raise CallError(f"{what}: expected 4 dimensions [B, H, LEN, D], got {list(t.shape)}")
    return (q.shape[0], q.shape[1], q.shape[2], v.shape[3]), (q.shape[0], q.shape[1], q.shape[2])


@torch.library.custom_op("attnc::attention", mutates_args=())
def attention(kernel: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              buffers: list[torch.Tensor], buffer_names: str,
              int_scalars: list[int], int_names: str,
              float_scalars: list[float], float_names: str) -> tuple[torch.Tensor, torch.Tensor]:
    """out, lse of the attnc kernel `kernel` (a key of _KERNELS) on q, k, v."""
    kern = _KERNELS.get(kernel)
    if kern is None:
        raise CallError(f"attnc::attention: no live kernel {kernel!r} (the attnc.Kernel it "
                        "named was garbage-collected)")
    out_shape, lse_shape = _output_shapes(q, v)
    out = torch.full(out_shape, math.nan, dtype=q.dtype, device=q.device)
    lse = torch.full(lse_shape, math.nan, dtype=torch.float32, device=q.device)
    scalars = dict(zip(_names(int_names), int_scalars))
    scalars.update(zip(_names(float_names), float_scalars))
    stream = torch.cuda.current_stream(q.device).cuda_stream if q.is_cuda else 0
    kern._native._call_into(q.detach(), k.detach(), v.detach(), out, lse, scalars,
                            dict(zip(_names(buffer_names), (b.detach() for b in buffers))),
                            stream)
    return out, lse


@attention.register_fake
def _attention_fake(kernel, q, k, v, buffers, buffer_names, int_scalars, int_names,
                    float_scalars, float_names):
    out_shape, lse_shape = _output_shapes(q, v)
    return q.new_empty(out_shape), q.new_empty(lse_shape, dtype=torch.float32)


def call(kernel, q, k, v, scalars, buffers):
    """kernel(q, k, v, scalars, buffers) through the custom op; CallError for an
    argument the op's schema cannot carry (a tensor that is not PyTorch's, a scalar
    that is not an int or a float)."""
    for what, t in (("k", k), ("v", v), *((f"buffer '{n}'", b) for n, b in buffers.items())):
        if not isinstance(t, torch.Tensor):
            raise CallError(f"{what}: expected a torch.Tensor like q, got {type(t).__name__}")
    int_names, int_values, float_names, float_values = [], [], [], []
    for name, value in scalars.items():
        if isinstance(value, float):
            float_names.append(name)
            float_values.append(value)
        elif isinstance(value, int):
            if not -2**63 <= value < 2**63:
                raise CallError(f"scalar '{name}': {value} does not fit in 64 bits")
            int_names.append(name)
            int_values.append(int(value))
        else:
            raise CallError(f"scalar '{name}': expected an int or a float")
    return torch.ops.attnc.attention(kernel._op_key, q, k, v, list(buffers.values()),
                                     ",".join(buffers.keys()), int_values, ",".join(int_names),
                                     float_values, ",".join(float_names))
