#!/usr/bin/env python3
"""sass_matrix.py ATTNC DIR [--limit VARIANT_dDIM=X ...]:
compiles the issue's matrix of tensor-core kernels (bf16 and f16; head dims 64 and
128; plain, causal and soft-capping) for sm_80 and sm_90a with `attnc compile
--report` and reads the SASS profile of each key loop. Prints one line per kernel,
chip and loop (mma, ldmatrix per mma, instructions per mma on the cheapest path),
then checks: every loop issues mma, <= 0.5 ldmatrix per mma, no local-memory
(spill) instructions, and, in the cp.async loop (the main one: the other stages
unaligned rows element by element), instructions per mma on the cheapest path at
most the --limit given for its variant and head dim (softcap_d128=5, for
instance). Exits 1 on any failure."""
import argparse
import json
import os
import re
import subprocess
import sys

parser = argparse.ArgumentParser()
parser.add_argument("attnc")
parser.add_argument("out_dir")
parser.add_argument("--limit", action="append", default=[],
                    help="VARIANT_dDIM=X: at most X instructions per mma (e.g. plain_d64=4.5)")
args = parser.parse_args()
limits = {k: float(v) for k, v in (item.split("=") for item in args.limit)}
os.makedirs(args.out_dir, exist_ok=True)
MODS = {
    "plain": {},
    "causal": {"mask_mod": "q_idx >= kv_idx"},
    "softcap": {"constants": {"cap": 30.0}, "score_mod": "cap * tanh(score / cap)"},
}
LOOP = re.compile(r"^(\S+) \((sm_\w+)\) SASS: key loop (\d+) of \d+ \([^,]+, ([^)]+)\): "
                  r"(\d+) mma, (\d+) ldmatrix \(([\d.]+) per mma\), (\d+)-(\d+) instructions "
                  r"per iteration \(([\d.]+)-([\d.]+) per mma\).*, (\d+) local-memory")
failures = []
for dtype in ("bf16", "f16"):
    for dim in (64, 128):
        for name, mods in MODS.items():
            spec = {"name": f"{name}_{dtype}_d{dim}", "heads": {"q": 8, "kv": 4},
                    "head_dim": dim, "dtype": dtype}
            spec.update(mods)
            path = os.path.join(args.out_dir, spec["name"] + ".json")
            with open(path, "w") as f:
                json.dump(spec, f)
            for chip in ("sm_80", "sm_90a"):
                proc = subprocess.run([args.attnc, "compile", path, "--report", "--chip", chip],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    sys.exit(f"{spec['name']} {chip}: attnc failed:\n{proc.stderr}")
                config = proc.stdout.splitlines()[0].split(": ", 1)[1]
                loops = [m for m in map(LOOP.match, proc.stdout.splitlines()) if m]
                if not loops:
                    failures.append(f"{spec['name']} {chip}: no SASS key loop in\n{proc.stdout}")
                limit = limits.get(f"{name}_d{dim}", 1e9)
                for m in loops:
                    mma, ldsm, per_mma = int(m[5]), float(m[7]), float(m[10])
                    print(f"{spec['name']:18} {chip:6} loop {m[3]} ({m[4]:12}) {config}: "
                          f"{mma} mma, {ldsm:.2f} ldmatrix/mma, {per_mma:.2f}-{float(m[11]):.2f} "
                          f"instructions/mma, {m[12]} local")
                    if mma == 0:
                        failures.append(f"{spec['name']} {chip} loop {m[3]}: no mma")
                    if ldsm > 0.5:
                        failures.append(f"{spec['name']} {chip} loop {m[3]}: {ldsm} ldmatrix per mma")
                    if int(m[12]):
                        failures.append(f"{spec['name']} {chip}: {m[12]} local-memory instructions")
                    if m[4] == "cp.async" and per_mma > limit:
                        failures.append(f"{spec['name']} {chip} loop {m[3]}: {per_mma} "
                                        f"instructions per mma (at most {limit})")
for f in failures:
    print("FAIL:", f)
print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
