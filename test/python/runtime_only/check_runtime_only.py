"""The runtime-only attnc package (scripts/check-deploy.sh builds it with the
runtime alone, no LLVM or MLIR, and runs this file with pytest): kernel libraries
load and run, against a float64 numpy reference; compiling raises an error that
says why. ATTNC_TEST_LIBRARY names a CPU kernel library of the examples that the
full build wrote."""
import os
import sys

import numpy as np
import pytest

import attnc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from test_kernels import rand, reference, rel_err  # noqa: E402


def test_compile_says_why():
    with pytest.raises(RuntimeError, match=r"runtime only.*attnc\.load"):
        attnc.compile({"name": "x", "heads": {"q": 1}, "head_dim": 8})


def test_library_kernels_run():
    kernels = attnc.load(os.environ["ATTNC_TEST_LIBRARY"])
    causal = kernels["causal"]
    assert causal.target == "cpu"
    hq, hkv = causal.heads
    rng = np.random.default_rng()
    q, k, v = rand(rng, 2, hq, 37, 64), rand(rng, 2, hkv, 53, 64), rand(rng, 2, hkv, 53, 64)
    out, lse = causal(q, k, v)
    want, want_lse = reference(q, k, v, causal.scale, mask=lambda qi, ki: qi >= ki)
    assert rel_err(out, want) < 1e-5 and rel_err(lse, want_lse) < 1e-5
    assert "causal" in attnc.ALL_ATTENTION_FUNCTIONS


def test_library_kernels_on_torch_tensors():
    torch = pytest.importorskip("torch")
    causal = attnc.load(os.environ["ATTNC_TEST_LIBRARY"])["causal"]
    hq, hkv = causal.heads
    q = torch.randn(1, 41, hq, 64).transpose(1, 2)
    k, v = torch.randn(1, hkv, 60, 64), torch.randn(1, hkv, 60, 64)
    out, lse = causal(q, k, v)
    assert isinstance(out, torch.Tensor) and out.shape == (1, hq, 41, 64)
    want, want_lse = reference(q.numpy(), k.numpy(), v.numpy(), causal.scale,
                               mask=lambda qi, ki: qi >= ki)
    assert rel_err(out.numpy(), want) < 1e-5 and rel_err(lse.numpy(), want_lse) < 1e-5
