#!/usr/bin/env python3
"""Runs every example under cuda-emu with --profile and prints, per kernel, its
shared wavefronts against the conflict-free ideal and (tensor-core kernels, the
16-bit examples) ldmatrix per mma; exits 1 when a kernel is more than 10% above the
ideal or above 0.6 ldmatrix per mma (0.5 in the key loop, plus the Q tile's loads).

usage: bank_profile.py ATTNC EXAMPLES_DIR"""
import json
import os
import subprocess
import sys

attnc, examples = sys.argv[1], sys.argv[2]
failed = False
for name in sorted(f[:-5] for f in os.listdir(examples) if f.endswith(".json")):
    out = subprocess.run([attnc, "run", f"{examples}/{name}.json", "--target", "cuda-emu",
                          "--random", "1,70,133", "--profile"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        p = json.loads(line)
        ratio = p["shared_wavefronts"] / p["shared_ideal_wavefronts"]
        per_mma = p["ldmatrix"] / p["mma"] if p["mma"] else None
        ok = ratio <= 1.10 and (per_mma is None or per_mma <= 0.6)
        failed |= not ok
        ldsm = f", ldmatrix/mma {per_mma:.2f}" if per_mma is not None else " (SIMT)"
        print(f"{p['kernel']}: wavefronts/ideal {ratio:.2f}{ldsm}{'' if ok else '  TOO HIGH'}")
sys.exit(1 if failed else 0)
