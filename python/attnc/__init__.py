"""attnc from Python: compile an attention spec, call the kernel on tensors.

    import attnc
    kern = attnc.compile({"name": "causal", "heads": {"q": 8}, "head_dim": 64,
                          "mask_mod": "q_idx >= kv_idx"}, target="cpu")
    out, lse = kern(q, k, v)          # numpy arrays (or any DLPack CPU tensors)

A spec is a dict, JSON text or a path (docs/spec.md). Tensors: q [B, H, Q_LEN, D],
k and v [B, H_KV, KV_LEN, D(V)], any strides, the spec's dtype; out [B, H, Q_LEN, DV]
and lse [B, H, Q_LEN] (float32) come back as tensors of q's kind: PyTorch tensors on
q's device (the call is the custom op torch.ops.attnc.attention, on the current CUDA
stream), numpy arrays otherwise; `out=` and `lse=` write into given tensors instead.
Bad specs raise SpecError (with file, line, col), refused calls CallError (a
ValueError), with the messages of the command line. See docs/python.md.
"""
import json
import os
import tempfile

from . import _attnc
from ._attnc import CallError, SpecError

try:  # PyTorch is optional: without it, kernels take numpy and DLPack tensors
    import torch as _torch_module
except ImportError:
    _torch_module = None
if _torch_module is not None:
    from . import _torch
else:
    _torch = None

__all__ = ["compile", "load", "Kernel", "SpecError", "CallError", "ALL_ATTENTION_FUNCTIONS"]

TARGETS = ("cpu", "cuda", "cuda-emu")


class Kernel:
    """An attention kernel: a compiled variant, a kernel library's, or a built-in
    (such as "eager") looked up in ALL_ATTENTION_FUNCTIONS. The description (heads,
    head_dim, dtype, scale) is None for a built-in, which takes any shape."""

    def __init__(self, native):
        self._native = native
        if _torch is not None:
            self._op_key = _torch.kernel_key(self)

    name = property(lambda self: self._native.name)
    target = property(lambda self: self._native.target)
    heads = property(lambda self: self._native.heads, doc="(query heads, key/value heads)")
    head_dim = property(lambda self: self._native.head_dim, doc="(head_dim, head_dim_v)")
    dtype = property(lambda self: self._native.dtype)
    scale = property(lambda self: self._native.scale)
    scalars = property(lambda self: self._native.scalars, doc="name -> type of each scalar")
    buffers = property(lambda self: self._native.buffers, doc="names of the buffers")
    has_backward = property(lambda self: self._native.has_backward,
                            doc="whether the kernel has a backward pass (compile(..., backward=True))")
    requires_grad = property(lambda self: self._native.requires_grad,
                             doc="names of the buffers declared requires_grad")

    def __call__(self, q, k, v, scalars=None, buffers=None, *, out=None, lse=None,
                 out_layout="BHLD"):
        """out, lse = kernel(q, k, v, scalars={...}, buffers={...}): new tensors of q's
        kind, or the given `out` and `lse` written in place. out_layout="BLHD" returns
        out as [B, Q_LEN, H, DV] (contiguous: the layout transformers' layers want)
        with no copy."""
        scalars = {} if scalars is None else scalars if type(scalars) is dict else dict(scalars)
        buffers = {} if buffers is None else buffers if type(buffers) is dict else dict(buffers)
        if out_layout not in ("BHLD", "BLHD"):
            raise ValueError(f"out_layout is 'BHLD' or 'BLHD', not {out_layout!r}")
        if out is not None or lse is not None:
            if out is None or lse is None:
                raise CallError("out= and lse= go together: pass both or neither")
            if out_layout != "BHLD":
                raise ValueError("out_layout applies to new outputs, not to out=")
            self._native._call_into(q, k, v, out, lse, scalars, buffers, _stream_of(q))
            return out, lse
        if _torch is not None and isinstance(q, _torch_module.Tensor):
            out, lse = _torch.call(self, q, k, v, scalars, buffers, out_layout == "BLHD")
            return (out.transpose(1, 2) if out_layout == "BLHD" else out), lse
        if out_layout == "BLHD":
            out, lse = self._native._call(q, k, v, scalars, buffers)
            return out.transpose(0, 2, 1, 3).copy(), lse
        return self._native._call(q, k, v, scalars, buffers)

    def __repr__(self):
        return (f"attnc.Kernel({self.name!r}, target={self.target!r}, heads={self.heads}, "
                f"head_dim={self.head_dim}, dtype={self.dtype!r})")


def _stream_of(tensor):
    """The current CUDA stream of a PyTorch CUDA tensor's device, else 0."""
    if _torch is not None and isinstance(tensor, _torch_module.Tensor) and tensor.is_cuda:
        return _torch_module.cuda.current_stream(tensor.device).cuda_stream
    return 0


def compile(spec, target="cpu", backward=False):
    """Compiles `spec` (a dict, JSON text or a path) for `target`: "cpu", "cuda" or
    "cuda-emu". With backward=True (cpu and cuda-emu) the backward kernel is compiled too,
    and calls on PyTorch tensors support autograd. Raises SpecError for a spec that
    does not compile."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (expected one of {', '.join(TARGETS)})")
    if isinstance(spec, dict):
        spec = json.dumps(spec, indent=1)
    elif isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):
        raise TypeError(f"a spec is a dict, JSON text or a path, not {type(spec).__name__}")
    is_text = spec.lstrip().startswith("{")
    if is_text and target != "cpu":
        # The GPU targets compile files: the text goes to one (diagnostics name it).
        with tempfile.TemporaryDirectory(prefix="attnc-") as d:
            path = os.path.join(d, "spec.json")
            with open(path, "w") as f:
                f.write(spec)
            return Kernel(_attnc._compile(path, False, target, backward))
    return Kernel(_attnc._compile(spec, is_text, target, backward))


def load(path):
    """Loads a kernel library (`attnc compile SPEC... --emit library -o LIB.so`):
    registers its variants under their names and returns {name: Kernel}. Raises
    CallError for a file that is not a loadable library."""
    return {k.name: Kernel(k) for k in _attnc._load(os.fspath(path))}


class _Registry:
    """The process's registry of attention functions, shared with C++
    (runtime/AttentionInterface.h): compiled and loaded kernels are in it under
    their names, beside the built-in "eager"."""

    def keys(self):
        return list(_attnc._registered())

    def __contains__(self, name):
        return _attnc._contains(name)

    def __getitem__(self, name):
        return Kernel(_attnc._lookup(name))

    def register(self, name, kernel):
        """Registers `kernel` under `name`: an attnc.Kernel, or a Python callable
        `fn(q, k, v, scalars, buffers) -> (out, lse)` that C++ callers of the registry
        (and Python ones) then call with numpy views of host tensors (no bfloat16);
        its outputs are copied into the caller's, and an exception it raises becomes
        the call's error."""
        if isinstance(kernel, Kernel):
            _attnc._register(name, kernel._native)
        elif callable(kernel):
            _attnc._register_callable(name, kernel)
        else:
            raise TypeError("ALL_ATTENTION_FUNCTIONS.register takes an attnc.Kernel or a "
                            f"callable, not {type(kernel).__name__}")

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def __repr__(self):
        return f"ALL_ATTENTION_FUNCTIONS({self.keys()})"


ALL_ATTENTION_FUNCTIONS = _Registry()
