"""examples/python runs as docs/python.md shows (each example checks itself or
prints what a test can check)."""
import os
import re
import subprocess
import sys

from test_kernels import ROOT, attnc_binary

EXAMPLES = os.path.join(ROOT, "examples", "python")


def run(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          check=True).stdout


def test_variant_on_numpy():
    out = run(os.path.join(EXAMPLES, "variant_on_numpy.py"))
    assert "max relative error vs numpy float64" in out


def test_load_library(tmp_path):
    lib = tmp_path / "libattn.so"
    subprocess.run([attnc_binary(), "compile", os.path.join(ROOT, "examples", "specs", "causal.json"),
                    os.path.join(ROOT, "examples", "specs", "sliding_window.json"), "--emit",
                    "library", "--target", "cpu", "-o", str(lib)], check=True)
    out = run(os.path.join(EXAMPLES, "load_library.py"), str(lib)).splitlines()
    assert out[0].startswith("loaded: causal") and "sliding_window" in out[0]
    rows = {line.split()[0]: line.split("=", 1)[1] for line in out[1:]}
    # Row 300 sees every key without a mask, 301 with causal, 256 with the window.
    assert set(rows) == {"eager", "causal", "sliding_window"}
    assert len(set(rows.values())) == 3


def test_flex_on_torch():
    out = run(os.path.join(EXAMPLES, "flex_on_torch.py"))
    errors = re.search(r"out ([0-9.e+-]+), lse ([0-9.e+-]+)", out)
    assert errors, out
    assert float(errors.group(1)) < 1e-2 and float(errors.group(2)) < 1e-5
    assert float(re.search(r"max difference from eager ([0-9.e+-]+)", out).group(1)) < 1e-4


def test_transformers_model():
    out = run(os.path.join(EXAMPLES, "transformers_model.py"))
    assert float(re.search(r"max relative difference ([0-9.e+-]+)", out).group(1)) < 1e-5
    assert "same tokens as sdpa: True" in out
    assert "attnc_window" in out
