"""Kernel calls on PyTorch tensors: the custom op `attnc::attention`.

A call `kernel(q, k, v, ...)` with torch tensors runs `torch.ops.attnc.attention`,
a `torch.library` custom op with a fake (meta) implementation, so that
`torch.compile(fullgraph=True)` traces it as one node of the graph. The op takes
the kernel by key (a string naming a live attnc.Kernel), the scalars as name
lists plus int and float values, and the buffers as a name list plus tensors:
the types a custom op's schema can carry. Outputs are new tensors on q's device
(out in q's dtype, lse in float32), poisoned with NaN before the kernel writes
them; CUDA calls run on the current stream.

Autograd: the op's backward is `attnc::attention_backward` (also a custom op with
a fake implementation, so torch.compile traces both), which runs the kernel's
compiled backward pass (attnc.compile(..., backward=True)): gradients for q, k, v
and each buffer declared requires_grad. lse is an output without a gradient.
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
    qs, vs = q.shape, v.shape
    for what, shape in (("q", qs), ("v", vs)):
        if len(shape) != 4:
            raise CallError(f"{what}: expected 4 dimensions [B, H, LEN, D], got {list(shape)}")
    return (*qs[:3], vs[3]), qs[:3]


@torch.library.custom_op("attnc::attention", mutates_args=())
def attention(kernel: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              buffers: list[torch.Tensor], buffer_names: str,
              int_scalars: list[int], int_names: str,
              float_scalars: list[float], float_names: str,
              out_blhd: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """out, lse of the attnc kernel `kernel` (a key of _KERNELS) on q, k, v."""
    kern = _KERNELS.get(kernel)
    if kern is None:
        raise CallError(f"attnc::attention: no live kernel {kernel!r} (the attnc.Kernel it "
                        "named was garbage-collected)")
    scalars = dict(zip(_names(int_names), int_scalars))
    scalars.update(zip(_names(float_names), float_scalars))
    return _run(kern, q, k, v, scalars, dict(zip(_names(buffer_names), buffers)), out_blhd)


def _new_outputs(q, v, out_blhd):
    """Uninitialised out [B, H, Q_LEN, DV] (a transposed view of [B, Q_LEN, H, DV]
    memory when out_blhd) and lse [B, H, Q_LEN] float32."""
    out_shape, lse_shape = _output_shapes(q, v)
    if out_blhd:
        b, h, n, dv = out_shape
        out = q.new_empty((b, n, h, dv)).transpose(1, 2)
    else:
        out = q.new_empty(out_shape)
    return out, q.new_empty(lse_shape, dtype=torch.float32)


def _run(kern, q, k, v, scalars, buffers, out_blhd=False):
    """The kernel on tensors: new outputs (NaN until written: the extension fills host
    ones) on q's device, on the current CUDA stream."""
    out, lse = _new_outputs(q, v, out_blhd)
    stream = 0
    if q.is_cuda:
        out.fill_(math.nan)
        lse.fill_(math.nan)
        stream = torch.cuda.current_stream(q.device).cuda_stream
    q_raw = _raw(q, "q")
    device = q_raw[2]
    kern._native._call_raw(
        q_raw, _raw(k, "k"), _raw(v, "v"),
        (out.data_ptr(), q_raw[1], device, out.shape, out.stride()),
        (lse.data_ptr(), "f32", device, lse.shape, lse.stride()), scalars,
        {n: _raw(b, f"buffer '{n}'") for n, b in buffers.items()} if buffers else {}, stream)
    return out, lse


_DTYPE_NAMES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
                torch.int32: "i32", torch.int64: "i64"}


def _raw(t, what):
    """A tensor as the extension's _call_raw takes it: (data pointer, dtype name,
    device index or -1 for host memory, shape, strides). Cheaper than DLPack."""
    dtype = _DTYPE_NAMES.get(t.dtype)
    if dtype is None:
        raise CallError(f"{what}: unsupported dtype {t.dtype}; expected float32, float16, "
                        "bfloat16, int32 or int64")
    if t.is_cpu:
        index = -1
    elif t.is_cuda:
        index = t.get_device()
    else:
        raise CallError(f"{what}: the tensor is on an unsupported device ({t.device}); attnc "
                        "takes CPU and CUDA tensors")
    return t.data_ptr(), dtype, index, t.shape, t.stride()


def _dispatch_stack_depth():
    depth = getattr(torch._C, "_len_torch_dispatch_stack", None)
    return depth() if depth is not None else 1


def _plain_eager_call(tensors):
    """True when calling the kernel directly is the same as calling the op: eager
    mode (not traced by torch.compile), plain tensors, no tensor needing gradients,
    no dispatch mode that would want to see the op. The op's dispatch costs ~35 us
    a call; the direct call does not (bench/python_overhead.py)."""
    if torch.compiler.is_compiling() or _dispatch_stack_depth():
        return False
    grad = torch.is_grad_enabled()
    for t in tensors:
        if type(t) is not torch.Tensor or (grad and t.requires_grad):
            return False
    return True


@attention.register_fake
def _attention_fake(kernel, q, k, v, buffers, buffer_names, int_scalars, int_names,
                    float_scalars, float_names, out_blhd=False):
    return _new_outputs(q, v, out_blhd)


def call(kernel, q, k, v, scalars, buffers, out_blhd=False):
    """kernel(q, k, v, scalars, buffers) through the custom op; CallError for an
    argument the op's schema cannot carry (a tensor that is not PyTorch's, a scalar
    that is not an int or a float)."""
    if _plain_eager_call((q, k, v, *buffers.values())):
        return _run(kernel, q, k, v, scalars, buffers, out_blhd)
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
                                     float_values, ",".join(float_names), out_blhd)


@torch.library.custom_op("attnc::attention_backward", mutates_args=())
def attention_backward(kernel: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       out: torch.Tensor, lse: torch.Tensor, dout: torch.Tensor,
                       buffers: list[torch.Tensor], buffer_names: str,
                       int_scalars: list[int], int_names: str,
                       float_scalars: list[float], float_names: str,
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """dq, dk, dv and the gradients of the requires_grad buffers (in the order of
    `buffer_names`; an empty tensor for the other buffers)."""
    kern = _KERNELS.get(kernel)
    if kern is None:
        raise CallError(f"attnc::attention_backward: no live kernel {kernel!r}")
    names = _names(buffer_names)
    scalars = dict(zip(_names(int_names), int_scalars))
    scalars.update(zip(_names(float_names), float_scalars))
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    learnable = set(kern.requires_grad)
    dbuffers = [torch.empty(b.shape, dtype=torch.float32, device=b.device) if n in learnable
                else b.new_empty(0) for n, b in zip(names, buffers)]
    kern._native._backward_raw(
        _raw(q, "q"), _raw(k, "k"), _raw(v, "v"), _raw(out, "out"), _raw(lse, "lse"),
        _raw(dout, "dout"), _raw(dq, "dq"), _raw(dk, "dk"), _raw(dv, "dv"), scalars,
        {n: _raw(b, f"buffer '{n}'") for n, b in zip(names, buffers)},
        {n: _raw(g, f"the gradient of '{n}'") for n, g in zip(names, dbuffers) if n in learnable},
        torch.cuda.current_stream(q.device).cuda_stream if q.is_cuda else 0)
    return dq, dk, dv, dbuffers


@attention_backward.register_fake
def _attention_backward_fake(kernel, q, k, v, out, lse, dout, buffers, buffer_names,
                             int_scalars, int_names, float_scalars, float_names):
    learnable = set(_KERNELS[kernel].requires_grad) if kernel in _KERNELS else set()
    return (torch.empty_like(q), torch.empty_like(k), torch.empty_like(v),
            [torch.empty(b.shape, dtype=torch.float32, device=b.device) if n in learnable
             else b.new_empty(0) for n, b in zip(_names(buffer_names), buffers)])


def _setup_context(ctx, inputs, output):
    (kernel, q, k, v, buffers, buffer_names, int_scalars, int_names, float_scalars,
     float_names, out_blhd) = inputs
    out, lse = output
    ctx.mark_non_differentiable(lse)
    ctx.save_for_backward(q, k, v, out, lse, *buffers)
    ctx.attnc = (kernel, buffer_names, int_scalars, int_names, float_scalars, float_names)


def _backward(ctx, dout, dlse):
    kernel, buffer_names, int_scalars, int_names, float_scalars, float_names = ctx.attnc
    q, k, v, out, lse, *buffers = ctx.saved_tensors
    kern = _KERNELS.get(kernel)
    if kern is not None and not kern.has_backward:
        raise CallError(f"'{kern.name}' has no backward kernel: compile it with "
                        "attnc.compile(spec, backward=True) (CPU target), or write its "
                        "library with attnc compile --emit library --backward")
    dq, dk, dv, dbuffers = torch.ops.attnc.attention_backward(
        kernel, q, k, v, out, lse, dout, buffers, buffer_names, int_scalars, int_names,
        float_scalars, float_names)
    learnable = set(kern.requires_grad) if kern is not None else set()
    grads = [g if n in learnable else None for n, g in zip(_names(buffer_names), dbuffers)]
    return (None, dq, dk, dv, grads, None, _no_grad(int_scalars), None,
            _no_grad(float_scalars), None, None)


def _no_grad(values):
    """The "no gradient" of a list of numbers, shaped as torch's autograd wants it:
    a non-empty one is a single leaf (None), an empty one an empty list."""
    return None if values else []


attention.register_autograd(_backward, setup_context=_setup_context)
