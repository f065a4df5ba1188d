"""examples/python runs as docs/python.md shows (each example checks itself or
prints what a test can check)."""
import os
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
