"""The attnc package on PyTorch tensors: outputs of the inputs' kind (torch, bf16
included) against a float64 reference, the custom op (opcheck, torch.compile with
fullgraph=True) and the errors of bad calls."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import attnc  # noqa: E402


def reference(q, k, v, scale, mask=None, mod=None):
    """softmax(mod(scale * q k^T) masked) v and the log-sum-exp, in float64, GQA."""
    q, k, v = (x.detach().to(torch.float64) for x in (q, k, v))
    groups = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(groups, dim=1)
    v = v.repeat_interleave(groups, dim=1)
    s = scale * q @ k.transpose(-1, -2)
    qi = torch.arange(q.shape[2])[:, None]
    ki = torch.arange(k.shape[2])[None, :]
    if mod is not None:
        s = mod(s, qi, ki)
    if mask is not None:
        s = s.masked_fill(~mask(qi, ki), -math.inf)
    lse = torch.logsumexp(s, dim=-1)
    return torch.softmax(s, dim=-1) @ v, lse


def rel_err(got, want):
    return ((got.to(torch.float64) - want).abs().max() / want.abs().max().clamp(min=1e-30)).item()


CAUSAL_SOFTCAP = {"name": "pt_causal_softcap", "heads": {"q": 4, "kv": 2}, "head_dim": 24,
                  "constants": {"cap": 20.0}, "score_mod": "cap * tanh(score / cap)",
                  "mask_mod": "kv_idx <= q_idx + offset", "scalars": {"offset": "i64"}}


def causal_softcap_reference(q, k, v, offset):
    return reference(q, k, v, 24 ** -0.5, mask=lambda qi, ki: ki <= qi + offset,
                     mod=lambda s, qi, ki: 20.0 * torch.tanh(s / 20.0))


@pytest.fixture(scope="module")
def causal_softcap():
    return attnc.compile(CAUSAL_SOFTCAP)


def test_torch_in_torch_out_on_transformers_views(causal_softcap):
    # [B, L, H, D] storage viewed as [B, H, L, D], as transformers passes q.
    q = torch.randn(2, 37, 4, 24).transpose(1, 2)
    k = torch.randn(2, 2, 70, 24)
    v = torch.randn(2, 70, 2, 24).transpose(1, 2)
    out, lse = causal_softcap(q, k, v, scalars={"offset": 33})
    assert isinstance(out, torch.Tensor) and isinstance(lse, torch.Tensor)
    assert out.shape == (2, 4, 37, 24) and out.dtype == torch.float32
    assert lse.shape == (2, 4, 37) and lse.dtype == torch.float32
    want, want_lse = causal_softcap_reference(q, k, v, 33)
    assert rel_err(out, want) < 1e-5
    assert rel_err(lse, want_lse) < 1e-5


def test_bfloat16_outputs():
    kern = attnc.compile({"name": "pt_bf16", "heads": {"q": 2}, "head_dim": 32, "dtype": "bf16",
                          "mask_mod": "q_idx >= kv_idx"})
    q, k, v = (torch.randn(1, 2, 53, 32, dtype=torch.bfloat16) for _ in range(3))
    out, lse = kern(q, k, v)
    assert out.dtype == torch.bfloat16 and lse.dtype == torch.float32
    want, want_lse = reference(q, k, v, 32 ** -0.5, mask=lambda qi, ki: qi >= ki)
    assert rel_err(out, want) < 1e-2
    assert rel_err(lse, want_lse) < 1e-3


def test_out_and_lse_written_in_place(causal_softcap):
    q, k, v = torch.randn(1, 4, 9, 24), torch.randn(1, 2, 20, 24), torch.randn(1, 2, 20, 24)
    out = torch.full((1, 9, 4, 24), math.nan).transpose(1, 2)  # a strided output
    lse = torch.full((1, 4, 9), math.nan)
    got, got_lse = causal_softcap(q, k, v, scalars={"offset": 11}, out=out, lse=lse)
    assert got is out and got_lse is lse
    want, want_lse = causal_softcap_reference(q, k, v, 11)
    assert rel_err(out, want) < 1e-5 and rel_err(lse, want_lse) < 1e-5


def test_opcheck(causal_softcap):
    q, k, v = torch.randn(1, 4, 19, 24), torch.randn(1, 2, 23, 24), torch.randn(1, 2, 23, 24)
    torch.library.opcheck(torch.ops.attnc.attention,
                          (causal_softcap._op_key, q, k, v, [], "", [4], "offset", [], ""))


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_torch_compile_fullgraph(causal_softcap, backend):
    torch._dynamo.reset()

    def layer(q, k, v, offset):
        out, lse = causal_softcap(q, k, v, scalars={"offset": offset})
        return out * 2.0, lse.exp()

    compiled = torch.compile(layer, fullgraph=True, backend=backend)
    q, k, v = torch.randn(2, 4, 31, 24), torch.randn(2, 2, 40, 24), torch.randn(2, 2, 40, 24)
    out, lse_exp = compiled(q, k, v, 9)
    want, want_lse = causal_softcap_reference(q, k, v, 9)
    assert rel_err(out, 2 * want) < 1e-5
    assert rel_err(lse_exp, want_lse.exp()) < 1e-5


def test_numpy_and_torch_give_the_same(causal_softcap):
    q, k, v = torch.randn(1, 4, 16, 24), torch.randn(1, 2, 16, 24), torch.randn(1, 2, 16, 24)
    out_t, _ = causal_softcap(q, k, v, scalars={"offset": 0})
    out_n, _ = causal_softcap(q.numpy(), k.numpy(), v.numpy(), scalars={"offset": 0})
    assert isinstance(out_n, np.ndarray)
    assert torch.equal(out_t, torch.from_numpy(out_n))


@pytest.mark.parametrize("call, message", [
    (lambda kern, q, k, v: kern(q, k[:, :, :, :8], v, scalars={"offset": 0}),
     "tensor 'k' must have shape [1, 2, 10, 24], got [1, 2, 10, 8]"),
    (lambda kern, q, k, v: kern(q[0], k, v, scalars={"offset": 0}),
     "q: expected 4 dimensions [B, H, LEN, D], got [4, 10, 24]"),
    (lambda kern, q, k, v: kern(q.double(), k, v, scalars={"offset": 0}),
     "unsupported dtype"),
    (lambda kern, q, k, v: kern(q, k, v), "missing scalar 'offset' (i64)"),
    (lambda kern, q, k, v: kern(q, k, v, scalars={"offset": 1.5}),
     "scalar 'offset' is an integer; got a float"),
    (lambda kern, q, k, v: kern(q, k, v, scalars={"offset": 2 ** 64}),
     "scalar 'offset': 18446744073709551616 does not fit in 64 bits"),
    (lambda kern, q, k, v: kern(q, k.numpy(), v, scalars={"offset": 0}),
     "k: expected a torch.Tensor like q, got ndarray"),
    (lambda kern, q, k, v: kern(q, k, v, scalars={"offset": 0}, out=torch.empty(1)),
     "out= and lse= go together"),
])
def test_bad_calls_raise_call_error(causal_softcap, call, message):
    q, k, v = torch.randn(1, 4, 10, 24), torch.randn(1, 2, 10, 24), torch.randn(1, 2, 10, 24)
    with pytest.raises(attnc.CallError) as e:
        call(causal_softcap, q, k, v)
    assert message in str(e.value)


@pytest.mark.parametrize("compiled", [False, True])
def test_out_layout_blhd_is_the_transposed_output_without_a_copy(causal_softcap, compiled):
    torch._dynamo.reset()

    def layer(q, k, v):
        return causal_softcap(q, k, v, scalars={"offset": 5}, out_layout="BLHD")

    fn = torch.compile(layer, fullgraph=True, backend="aot_eager") if compiled else layer
    q, k, v = torch.randn(2, 4, 21, 24), torch.randn(2, 2, 26, 24), torch.randn(2, 2, 26, 24)
    out, lse = fn(q, k, v)
    assert out.shape == (2, 21, 4, 24) and out.is_contiguous()
    want, want_lse = causal_softcap_reference(q, k, v, 5)
    assert rel_err(out, want.transpose(1, 2)) < 1e-5
    assert rel_err(lse, want_lse) < 1e-5


def test_out_layout_blhd_on_numpy(causal_softcap):
    q, k, v = (np.random.default_rng().standard_normal(s, dtype=np.float32)
               for s in ((1, 4, 7, 24), (1, 2, 9, 24), (1, 2, 9, 24)))
    out, _ = causal_softcap(q, k, v, scalars={"offset": 2}, out_layout="BLHD")
    want, _ = causal_softcap_reference(*(torch.from_numpy(x) for x in (q, k, v)), 2)
    assert out.shape == (1, 7, 4, 24) and out.flags.c_contiguous
    assert rel_err(torch.from_numpy(out), want.transpose(1, 2)) < 1e-5
