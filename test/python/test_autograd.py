"""Autograd through attnc kernels: `out.sum().backward()`-style losses give q.grad,
k.grad, v.grad and a requires_grad buffer's grad equal to PyTorch eager autograd on
the same variant written with torch ops (in float64), in eager mode and inside
torch.compile, for kernels compiled here and loaded from a kernel library written with
--backward; and the errors of a kernel without its backward pass."""
import json
import math
import subprocess

import pytest

torch = pytest.importorskip("torch")
import attnc  # noqa: E402
from test_kernels import attnc_binary  # noqa: E402

LEARNED = {"name": "py_learned_bias", "heads": {"q": 4, "kv": 2}, "head_dim": 24,
           "constants": {"cap": 20.0, "span": 8},
           "buffers": {"bias": {"dtype": "f32", "shape": ["H", 17], "requires_grad": True}},
           "scalars": {"offset": "i64"},
           "score_mod": "cap * tanh((score + bias[h, clamp(kv_idx - q_idx, -span, span) + span]) / cap)",
           "mask_mod": "kv_idx <= q_idx + offset"}


def torch_attention(q, k, v, bias, offset):
    """The same variant with torch ops (differentiable; float64)."""
    groups = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(groups, dim=1)
    v = v.repeat_interleave(groups, dim=1)
    s = (24 ** -0.5) * q @ k.transpose(-1, -2)
    qi = torch.arange(q.shape[2])[:, None]
    ki = torch.arange(k.shape[2])[None, :]
    rel = (ki - qi).clamp(-8, 8) + 8
    s = 20.0 * torch.tanh((s + bias[:, rel]) / 20.0)
    s = s.masked_fill(~(ki <= qi + offset), -math.inf)
    return torch.softmax(s, dim=-1) @ v


@pytest.fixture(scope="module")
def learned():
    return attnc.compile(LEARNED, backward=True)


def leaves(seed, b=2, q_len=37, kv_len=53, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, 4, q_len, 24, generator=g)
    k = torch.randn(b, 2, kv_len, 24, generator=g)
    v = torch.randn(b, 2, kv_len, 24, generator=g)
    bias = torch.rand(4, 17, generator=g) * 2 - 1
    dout = torch.randn(b, 4, q_len, 24, generator=g)
    return [t.to(dtype).requires_grad_() for t in (q, k, v)] + [bias.requires_grad_(), dout]


def expected_grads(q, k, v, bias, dout, offset):
    ref = [t.detach().to(torch.float64).requires_grad_() for t in (q, k, v, bias)]
    out = torch_attention(*ref, offset)
    (out * dout.to(torch.float64)).sum().backward()
    return [t.grad for t in ref]


def rel(got, want):
    return ((got.to(torch.float64) - want).norm() / want.norm()).item()


@pytest.mark.parametrize("offset", [0, 5])
def test_gradients_match_torch_autograd(learned, offset):
    q, k, v, bias, dout = leaves(offset + 1)
    out, lse = learned(q, k, v, {"offset": offset}, {"bias": bias})
    assert not lse.requires_grad
    (out * dout).sum().backward()
    want = expected_grads(q, k, v, bias, dout, offset)
    for name, got, w in zip(("q", "k", "v", "bias"), (q.grad, k.grad, v.grad, bias.grad), want):
        assert got is not None and got.dtype == (torch.float32), name
        assert rel(got, w) < 1e-4, (name, rel(got, w))


def test_gradients_of_strided_inputs(learned):
    """[B, L, H, D] views (what transformers passes) and a non-contiguous dout."""
    q, k, v, bias, dout = leaves(7)
    qt = q.detach().transpose(1, 2).contiguous().requires_grad_()
    out, _ = learned(qt.transpose(1, 2), k, v, {"offset": 0}, {"bias": bias})
    (out * dout).sum().backward()
    want = expected_grads(q, k, v, bias, dout, 0)
    assert rel(qt.grad.transpose(1, 2), want[0]) < 1e-4
    assert rel(k.grad, want[1]) < 1e-4 and rel(bias.grad, want[3]) < 1e-4


def test_gradients_inside_torch_compile(learned):
    q, k, v, bias, dout = leaves(3)

    @torch.compile(fullgraph=True, backend="aot_eager")
    def loss(q, k, v, bias):
        out, _ = learned(q, k, v, {"offset": 2}, {"bias": bias})
        return (out * dout).sum()

    loss(q, k, v, bias).backward()
    want = expected_grads(q, k, v, bias, dout, 2)
    for got, w in zip((q.grad, k.grad, v.grad, bias.grad), want):
        assert rel(got, w) < 1e-4


def test_bf16_gradients(learned):
    spec = dict(LEARNED, name="py_learned_bias_bf16", dtype="bf16")
    kernel = attnc.compile(spec, backward=True)
    q, k, v, bias, dout = leaves(11, dtype=torch.bfloat16)
    out, _ = kernel(q, k, v, {"offset": 0}, {"bias": bias})
    (out * dout.to(torch.bfloat16)).sum().backward()
    want = expected_grads(q, k, v, bias, dout, 0)
    assert q.grad.dtype == torch.bfloat16 and bias.grad.dtype == torch.float32
    for got, w in zip((q.grad, k.grad, v.grad, bias.grad), want):
        assert rel(got, w) < 3e-2


@pytest.mark.parametrize("scalars", ["none", "float"])
def test_kernels_without_int_scalars(scalars):
    """The op's other list inputs (no scalars at all, a float scalar) in backward."""
    spec = {"name": f"py_plain_{scalars}", "heads": {"q": 2}, "head_dim": 16,
            "mask_mod": "q_idx >= kv_idx"}
    args = {}
    if scalars == "float":
        spec["scalars"] = {"temp": "f32"}
        spec["score_mod"] = "score * temp"
        args = {"temp": 1.0}
    kernel = attnc.compile(spec, backward=True)
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(1, 2, 19, 16, generator=g).requires_grad_() for _ in range(3))
    out, _ = kernel(q, k, v, args)
    out.sum().backward()
    ref = [t.detach().double().requires_grad_() for t in (q, k, v)]
    s = (ref[0] @ ref[1].transpose(-1, -2)) / 4.0
    s = s.masked_fill(torch.ones(19, 19, dtype=torch.bool).triu(1), -math.inf)
    (torch.softmax(s, -1) @ ref[2]).sum().backward()
    for got, want in zip((q.grad, k.grad, v.grad), ref):
        assert rel(got, want.grad) < 1e-4


def test_no_backward_kernel_is_an_error():
    kernel = attnc.compile(dict(LEARNED, name="py_no_backward"))
    assert not kernel.has_backward
    q, k, v, bias, dout = leaves(5)
    out, _ = kernel(q, k, v, {"offset": 0}, {"bias": bias})
    with pytest.raises(attnc.CallError, match="compile it with attnc.compile"):
        out.sum().backward()


def test_gradients_on_the_emulated_gpu():
    """The GPU backward kernel under cuda-emu: a thread per key row, the bias
    gradient by atomic adds, dQ from per-split partials."""
    kernel = attnc.compile(dict(LEARNED, name="py_emu_learned"), target="cuda-emu", backward=True)
    assert kernel.has_backward
    q, k, v, bias, dout = leaves(13, b=1, q_len=21, kv_len=45)
    out, _ = kernel(q, k, v, {"offset": 3}, {"bias": bias})
    (out * dout).sum().backward()
    want = expected_grads(q, k, v, bias, dout, 3)
    for name, got, w in zip(("q", "k", "v", "bias"), (q.grad, k.grad, v.grad, bias.grad), want):
        assert rel(got, w) < 1e-4, (name, rel(got, w))


def library_with(tmp_path, name, *flags):
    """A kernel library of LEARNED named `name`, written by `attnc compile` with flags."""
    spec, lib = tmp_path / (name + ".json"), tmp_path / ("lib" + name + ".so")
    spec.write_text(json.dumps(dict(LEARNED, name=name)))
    subprocess.run([attnc_binary(), "compile", str(spec), "--emit", "library", "--target", "cpu",
                    *flags, "-o", str(lib)], check=True)
    return attnc.load(lib)[name]


def test_library_kernels_have_their_backward_pass(tmp_path):
    kernel = library_with(tmp_path, "py_lib_learned", "--backward")
    assert kernel.has_backward and kernel.requires_grad == ["bias"]
    q, k, v, bias, dout = leaves(11)
    out, _ = kernel(q, k, v, {"offset": 2}, {"bias": bias})
    (out * dout).sum().backward()
    want = expected_grads(q, k, v, bias, dout, 2)
    for name, got, w in zip(("q", "k", "v", "bias"), (q.grad, k.grad, v.grad, bias.grad), want):
        assert rel(got, w) < 1e-4, (name, rel(got, w))
    # The same kernel through the registry keeps its backward pass.
    assert attnc.ALL_ATTENTION_FUNCTIONS["py_lib_learned"].has_backward


def test_library_without_backward_says_how_to_get_it(tmp_path):
    kernel = library_with(tmp_path, "py_lib_forward_only")
    assert not kernel.has_backward
    q, k, v, bias, _ = leaves(12)
    out, _ = kernel(q, k, v, {"offset": 0}, {"bias": bias})
    with pytest.raises(attnc.CallError, match="--emit library --backward"):
        out.sum().backward()
