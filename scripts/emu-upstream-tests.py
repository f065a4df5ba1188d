#!/usr/bin/env python3
"""Runs LLVM's CUDA integration tests under attn-emu-runner.

The tests in mlir/test/Integration/GPU/CUDA/ of llvm-project check output that was
recorded on NVIDIA GPUs. For each test this takes the RUN pipeline that ends in
mlir-runner (or the older mlir-cpu-runner), keeps its mlir-opt stages up to the NVVM
lowering (dropping -gpu-lower-to-nvvm-pipeline / -test-lower-to-nvvm, stopping at
convert-gpu-to-nvvm, gpu-to-cubin, gpu-to-llvm, ...), runs attn-emu-runner instead of
the rest, and FileChecks the output against the test's own CHECK lines. The test
files are not part of attnc: put copies in a folder.

  scripts/emu-upstream-tests.py DIR [FILE.mlir ...]
"""
import os
import re
import shlex
import subprocess
import sys
import time

LLVM = "/usr/lib/llvm-22"
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.environ.get("RUNNER", os.path.join(TOP, "build", "bin", "attn-emu-runner"))
NVVM_ARGS = ("-gpu-lower-to-nvvm-pipeline", "--gpu-lower-to-nvvm-pipeline",
             "-test-lower-to-nvvm", "--test-lower-to-nvvm", "-gpu-lower-to-nvvm")
NVVM_STAGES = ("convert-gpu-to-nvvm", "gpu-to-cubin", "gpu-to-llvm", "gpu-module-to-binary",
               "nvvm-attach-target")


def runner_pipeline(text):
    """The RUN command (continuation lines joined) that ends in a runner."""
    commands, current = [], ""
    for line in text.splitlines():
        m = re.match(r"\s*//\s*RUN:(.*)$", line)
        if not m:
            continue
        part = m.group(1).strip()
        if part.endswith("\\"):
            current += part[:-1] + " "
        else:
            commands.append(current + part)
            current = ""
    for command in commands:
        if "mlir-runner" in command or "mlir-cpu-runner" in command:
            return command
    return None


def pre_stages(command, path):
    """The mlir-opt stages before the NVVM lowering, as argument lists."""
    stages = []
    for stage in command.split("|"):
        args = shlex.split(stage.strip())
        if not args or args[0] != "mlir-opt":
            break
        if any(s in stage for s in NVVM_STAGES):
            break
        kept = [a for a in args[1:] if not a.startswith(NVVM_ARGS)]
        stages.append([os.path.join(LLVM, "bin", "mlir-opt")] +
                      [path if a == "%s" else a for a in kept])
    return stages


def run(path):
    text = open(path).read()
    command = runner_pipeline(text)
    if command is None:
        return "SKIP", "no RUN pipeline ends in mlir-runner"
    data = None
    for stage in pre_stages(command, path):
        p = subprocess.run(stage, input=data, capture_output=True)
        if p.returncode != 0:
            return "FAIL", p.stderr.decode().strip().splitlines()[0]
        data = p.stdout
    if data is None:
        data = text.encode()
    try:
        p = subprocess.run(
            [RUNNER, "-", "--entry-point-result=void",
             "--shared-libs=" + os.path.join(LLVM, "lib", "libmlir_runner_utils.so")],
            input=data, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "FAIL", "timed out after 120 s"
    if p.returncode != 0:
        return "FAIL", (p.stderr.decode().strip().splitlines() or ["exit %d" % p.returncode])[0]
    if "FileCheck" not in command:
        return "PASS", "(no FileCheck: the run must succeed)"
    check = subprocess.run([os.path.join(LLVM, "bin", "FileCheck"), path],
                           input=p.stdout, capture_output=True)
    if check.returncode != 0:
        lines = [l for l in check.stderr.decode().splitlines() if "error" in l]
        return "FAIL", lines[0] if lines else "FileCheck failed"
    return "PASS", ""


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    files = sys.argv[2:] or sorted(f for f in os.listdir(folder) if f.endswith(".mlir"))
    failed = 0
    for name in files:
        start = time.time()
        status, why = run(os.path.join(folder, name))
        failed += status == "FAIL"
        print("%-4s %-52s %6.2f s  %s" % (status, name, time.time() - start, why))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
