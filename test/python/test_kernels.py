"""The attnc package on numpy tensors: results against a float64 reference on fresh
random inputs (shapes that are not tile multiples, strided views), and the errors
of bad specs and bad calls."""
import os

import numpy as np
import pytest

import attnc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples", "specs")


def reference(q, k, v, scale, mask=None, mod=None):
    """softmax(mod(scale * q k^T) masked) v and the log-sum-exp, in float64, GQA."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    groups = q.shape[1] // k.shape[1]
    k = np.repeat(k, groups, axis=1)
    v = np.repeat(v, groups, axis=1)
    s = scale * np.einsum("bhqd,bhkd->bhqk", q, k)
    qi = np.arange(q.shape[2])[:, None]
    ki = np.arange(k.shape[2])[None, :]
    if mod is not None:
        s = mod(s, qi, ki)
    if mask is not None:
        s = np.where(mask(qi, ki), s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    p = np.exp(s - m)
    l = p.sum(axis=-1, keepdims=True)
    return np.einsum("bhqk,bhkd->bhqd", p / l, v), (m + np.log(l))[..., 0]


def rand(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def rel_err(got, want):
    return np.abs(got.astype(np.float64) - want).max() / max(np.abs(want).max(), 1e-30)


def test_causal_gqa_matches_reference():
    rng = np.random.default_rng()
    kern = attnc.compile({"name": "py_causal_gqa", "heads": {"q": 4, "kv": 2}, "head_dim": 40,
                          "mask_mod": "q_idx >= kv_idx"})
    q, k, v = rand(rng, 2, 4, 67, 40), rand(rng, 2, 2, 67, 40), rand(rng, 2, 2, 67, 40)
    out, lse = kern(q, k, v)
    want, want_lse = reference(q, k, v, 40 ** -0.5, mask=lambda qi, ki: qi >= ki)
    assert out.shape == (2, 4, 67, 40) and out.dtype == np.float32
    assert lse.shape == (2, 4, 67) and lse.dtype == np.float32
    assert rel_err(out, want) < 1e-5
    assert rel_err(lse, want_lse) < 1e-5


def test_strided_views_as_transformers_passes_them():
    # [B, L, H, D] storage viewed as [B, H, L, D]: no copy needed.
    rng = np.random.default_rng()
    kern = attnc.compile({"name": "py_plain", "heads": {"q": 3}, "head_dim": 16})
    q = rand(rng, 1, 29, 3, 16).transpose(0, 2, 1, 3)
    k = rand(rng, 1, 45, 3, 16).transpose(0, 2, 1, 3)
    v = rand(rng, 1, 45, 3, 16).transpose(0, 2, 1, 3)
    assert not q.flags.c_contiguous
    out, lse = kern(q, k, v)
    want, want_lse = reference(q, k, v, 0.25)
    assert rel_err(out, want) < 1e-5 and rel_err(lse, want_lse) < 1e-5


def test_scalars_and_buffers():
    rng = np.random.default_rng()
    spec = {"name": "py_bias", "heads": {"q": 2}, "head_dim": 8,
            "scalars": {"offset": "i64", "gain": "f32"},
            "buffers": {"bias": {"dtype": "f32", "shape": ["H", "KV_LEN"]}},
            "score_mod": "score * gain + bias[h, kv_idx]",
            "mask_mod": "q_idx + offset >= kv_idx"}
    kern = attnc.compile(spec)
    assert kern.scalars == {"gain": "f32", "offset": "i64"} and kern.buffers == ["bias"]
    q, k, v = rand(rng, 1, 2, 13, 8), rand(rng, 1, 2, 21, 8), rand(rng, 1, 2, 21, 8)
    bias = rand(rng, 2, 21)
    out, _ = kern(q, k, v, scalars={"offset": 8, "gain": 0.5}, buffers={"bias": bias})
    want, _ = reference(q, k, v, 8 ** -0.5, mask=lambda qi, ki: qi + 8 >= ki,
                        mod=lambda s, qi, ki: s * 0.5 + bias[None, :, None, :])
    assert rel_err(out, want) < 1e-5


def test_buffer_runs_with_any_stride():
    # bias[h, kv_idx] is read as one vector of 16 keys where the key dimension has
    # stride 1 and the run is in bounds, else gathered: a view with stride 2, one
    # with stride 1, and a run cut by the buffer's end (71 keys) give the same
    # results as the reference.
    rng = np.random.default_rng()
    kern = attnc.compile({"name": "py_bias_runs", "heads": {"q": 2}, "head_dim": 8,
                          "buffers": {"bias": {"dtype": "f32", "shape": ["H", "KV_LEN"]}},
                          "score_mod": "score + bias[h, kv_idx]",
                          "mask_mod": "kv_idx <= q_idx + 40"})
    q, k, v = rand(rng, 2, 2, 37, 8), rand(rng, 2, 2, 71, 8), rand(rng, 2, 2, 71, 8)
    wide = rand(rng, 2, 142)
    for bias in (wide[:, ::2], np.ascontiguousarray(wide[:, ::2])):
        out, lse = kern(q, k, v, buffers={"bias": bias})
        want, want_lse = reference(q, k, v, 8 ** -0.5, mask=lambda qi, ki: ki <= qi + 40,
                                   mod=lambda s, qi, ki: s + bias[None, :, None, :])
        assert rel_err(out, want) < 1e-5 and rel_err(lse, want_lse) < 1e-5


def test_float16():
    rng = np.random.default_rng()
    kern = attnc.compile({"name": "py_f16", "heads": {"q": 2}, "head_dim": 32, "dtype": "f16"})
    q, k, v = (rand(rng, 1, 2, n, 32, dtype=np.float16) for n in (19, 33, 33))
    out, _ = kern(q, k, v)
    assert out.dtype == np.float16
    want, _ = reference(q, k, v, 32 ** -0.5)
    assert rel_err(out, want) < 1e-2


def test_spec_file_on_the_emulated_gpu():
    rng = np.random.default_rng()
    kern = attnc.compile(os.path.join(EXAMPLES, "causal.json"), target="cuda-emu")
    assert kern.name == "causal" and kern.target == "cuda-emu"
    hq, hkv = kern.heads
    q, k, v = rand(rng, 1, hq, 20, 64), rand(rng, 1, hkv, 20, 64), rand(rng, 1, hkv, 20, 64)
    out, lse = kern(q, k, v)
    want, want_lse = reference(q, k, v, kern.scale, mask=lambda qi, ki: qi >= ki)
    assert rel_err(out, want) < 1e-5 and rel_err(lse, want_lse) < 1e-5


def test_registry_holds_compiled_kernels():
    attnc.compile({"name": "py_registered", "heads": {"q": 1}, "head_dim": 8})
    assert "py_registered" in attnc.ALL_ATTENTION_FUNCTIONS
    assert "py_registered" in attnc.ALL_ATTENTION_FUNCTIONS.keys()
    assert "eager" in attnc.ALL_ATTENTION_FUNCTIONS


def test_spec_error_has_a_location(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "name": "bad",\n  "heads": {"q": 2},\n  "head_dim": 8,\n'
                    '  "mask_mod": "q_idx >= nope"\n}\n')
    with pytest.raises(attnc.SpecError) as e:
        attnc.compile(str(path))
    assert e.value.file == str(path) and e.value.line == 5
    assert "nope" in str(e.value)
    assert isinstance(e.value, ValueError)
    with pytest.raises(attnc.SpecError) as e:
        attnc.compile({"name": "bad", "heads": {"q": 2}, "head_dim": 0})
    assert e.value.line is not None and "head_dim" in str(e.value)


def test_call_errors():
    rng = np.random.default_rng()
    kern = attnc.compile({"name": "py_errors", "heads": {"q": 2}, "head_dim": 8,
                          "scalars": {"offset": "i64"}, "mask_mod": "q_idx + offset >= kv_idx"})
    q, k, v = rand(rng, 1, 2, 5, 8), rand(rng, 1, 2, 7, 8), rand(rng, 1, 2, 7, 8)
    with pytest.raises(attnc.CallError, match="offset"):
        kern(q, k, v)  # missing scalar
    with pytest.raises(attnc.CallError, match="'k'"):
        kern(q, k[:, :1], v, scalars={"offset": 1})
    with pytest.raises(attnc.CallError, match="dtype|f32|float"):
        kern(q.astype(np.float64), k, v, scalars={"offset": 1})
    with pytest.raises(attnc.CallError, match="4 dimensions"):
        kern(q[0], k, v, scalars={"offset": 1})
    with pytest.raises(attnc.CallError, match="integer"):
        kern(q, k, v, scalars={"offset": 1.5})
    with pytest.raises(attnc.CallError, match="does not fit in 64 bits"):
        kern(q, k, v, scalars={"offset": 2 ** 70})
    with pytest.raises(attnc.CallError, match="expected an int or a float"):
        kern(q, k, v, scalars={"offset": "1"})
    with pytest.raises(attnc.CallError, match="negative stride"):
        kern(q[:, :, ::-1], k, v, scalars={"offset": 1})
    with pytest.raises(attnc.CallError, match="unsupported dtype"):
        kern(q.astype(bool), k, v, scalars={"offset": 1})
    with pytest.raises(TypeError):
        kern([1.0], k, v, scalars={"offset": 1})
    with pytest.raises(ValueError, match="unknown target"):
        attnc.compile({"name": "x", "heads": {"q": 1}, "head_dim": 8}, target="tpu")
    bf16 = attnc.compile({"name": "py_bf16", "heads": {"q": 1}, "head_dim": 8, "dtype": "bf16"})
    with pytest.raises(attnc.CallError, match="bfloat16"):
        bf16(q[:, :1], k[:, :1], v[:, :1])


def attnc_binary():
    path = os.environ.get("ATTNC_BIN") or os.path.join(
        os.path.dirname(attnc.__file__), "..", "..", "bin", "attnc")
    assert os.path.exists(path), f"attnc not found at {path} (set ATTNC_BIN)"
    return path


def test_kernel_library(tmp_path):
    import subprocess
    lib = tmp_path / "libpy.so"
    subprocess.run([attnc_binary(), "compile", os.path.join(EXAMPLES, "sliding_window.json"),
                    os.path.join(EXAMPLES, "relative_bias.json"), "--emit", "library",
                    "--target", "cpu", "-o", str(lib)], check=True)
    kernels = attnc.load(lib)
    assert sorted(kernels) == ["relative_bias", "sliding_window"]
    window = kernels["sliding_window"]
    assert window.target == "cpu" and "sliding_window" in attnc.ALL_ATTENTION_FUNCTIONS
    rng = np.random.default_rng()
    hq, hkv = window.heads
    d = window.head_dim[0]
    q, k, v = rand(rng, 1, hq, 75, d), rand(rng, 1, hkv, 75, d), rand(rng, 1, hkv, 75, d)
    out, _ = window(q, k, v)
    # The same kernel by name through the registry gives the same result.
    again, _ = attnc.ALL_ATTENTION_FUNCTIONS["sliding_window"](q, k, v)
    assert np.array_equal(out, again)
    with open(os.path.join(EXAMPLES, "sliding_window.json")) as f:
        import json
        spec = json.load(f)
    jit = attnc.compile(spec)
    want, _ = jit(q, k, v)
    assert rel_err(out, want.astype(np.float64)) < 1e-5
    with pytest.raises(attnc.CallError, match="not-a-library"):
        attnc.load(tmp_path / "not-a-library.so")


def test_registry_lookup_and_register():
    rng = np.random.default_rng()
    q, k, v = rand(rng, 1, 2, 9, 16), rand(rng, 1, 2, 11, 16), rand(rng, 1, 2, 11, 16)
    eager = attnc.ALL_ATTENTION_FUNCTIONS["eager"]
    assert eager.heads is None
    out, lse = eager(q, k, v)
    want, want_lse = reference(q, k, v, 0.25)
    assert rel_err(out, want) < 1e-5 and rel_err(lse, want_lse) < 1e-5
    kern = attnc.compile({"name": "py_to_alias", "heads": {"q": 2}, "head_dim": 16,
                          "mask_mod": "q_idx >= kv_idx"})
    attnc.ALL_ATTENTION_FUNCTIONS.register("py_alias", kern)
    alias = attnc.ALL_ATTENTION_FUNCTIONS["py_alias"]
    assert alias.heads == (2, 2)
    got, _ = alias(q, k, v)
    want, _ = reference(q, k, v, 0.25, mask=lambda qi, ki: qi >= ki)
    assert rel_err(got, want) < 1e-5
    with pytest.raises(KeyError, match="py_alias"):
        attnc.ALL_ATTENTION_FUNCTIONS["nope"]
    with pytest.raises(TypeError):
        attnc.ALL_ATTENTION_FUNCTIONS.register("py_fn", 42)


def test_concurrent_calls_from_threads():
    # The GIL is released while a kernel runs: calls from several Python threads
    # overlap, and each gets its own result.
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng()
    kern = attnc.compile({"name": "py_threads", "heads": {"q": 2}, "head_dim": 32,
                          "mask_mod": "q_idx >= kv_idx"})
    inputs = [(rand(rng, 1, 2, 70, 32), rand(rng, 1, 2, 70, 32), rand(rng, 1, 2, 70, 32))
              for _ in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda qkv: kern(*qkv), inputs))
    for (q, k, v), (out, lse) in zip(inputs, results):
        want, want_lse = reference(q, k, v, 32 ** -0.5, mask=lambda qi, ki: qi >= ki)
        assert rel_err(out, want) < 1e-5 and rel_err(lse, want_lse) < 1e-5


def test_python_callable_in_the_registry():
    seen = {}

    def doubled_scores(q, k, v, scalars, buffers):
        seen.update(scalars=scalars, buffers=sorted(buffers), q_shape=q.shape)
        return reference(q, k, v, 2.0 * q.shape[-1] ** -0.5)

    attnc.ALL_ATTENTION_FUNCTIONS.register("py_doubled", doubled_scores)
    assert "py_doubled" in attnc.ALL_ATTENTION_FUNCTIONS
    rng = np.random.default_rng()
    q, k, v = rand(rng, 2, 3, 11, 8), rand(rng, 2, 3, 14, 8), rand(rng, 2, 3, 14, 8)
    out, lse = attnc.ALL_ATTENTION_FUNCTIONS["py_doubled"](q, k, v, scalars={"t": 3})
    want, want_lse = reference(q, k, v, 2.0 * 8 ** -0.5)
    assert rel_err(out, want) < 1e-6 and rel_err(lse, want_lse) < 1e-6
    assert seen == {"scalars": {"t": 3}, "buffers": [], "q_shape": (2, 3, 11, 8)}


@pytest.mark.parametrize("fn, message", [
    (lambda q, k, v, s, b: 1 / 0, "Python attention function 'py_bad' raised"),
    (lambda q, k, v, s, b: None, "it must return (out, lse)"),
    (lambda q, k, v, s, b: (q[:, :, :1], q[..., 0]), "out must be a host array of shape"),
])
def test_python_callable_errors_become_call_errors(fn, message):
    attnc.ALL_ATTENTION_FUNCTIONS.register("py_bad", fn)
    q = rand(np.random.default_rng(), 1, 1, 4, 8)
    with pytest.raises(attnc.CallError) as e:
        attnc.ALL_ATTENTION_FUNCTIONS["py_bad"](q, q, q)
    assert message in str(e.value)
