#!/usr/bin/env python3
"""spill_matrix.py ATTNC DIR: compiles a matrix of 16-bit specs for the GPU (head dims
32 to 256; plain, causal, soft-capping, a buffer read, compound masks with // and %)
and checks with `attnc compile --report` that every kernel, in the configuration
attnc chooses, assembles for sm_80 and sm_90a without spilling. Prints one line per
kernel and chip, then a summary; exits 1 if any spills."""
import json
import os
import re
import subprocess
import sys

attnc, out_dir = sys.argv[1], sys.argv[2]
os.makedirs(out_dir, exist_ok=True)
MODS = {
    "plain": {},
    "causal": {"mask_mod": "q_idx >= kv_idx"},
    "softcap": {"constants": {"cap": 30.0}, "score_mod": "cap * tanh(score / cap)",
                "mask_mod": "q_idx >= kv_idx"},
    "alibi": {"buffers": {"slopes": {"dtype": "f32", "shape": ["H"]}},
              "score_mod": "score + slopes[h] * (kv_idx - q_idx)", "mask_mod": "q_idx >= kv_idx"},
    "compound_div": {"mask_mod": "q_idx >= kv_idx && (q_idx - kv_idx) // 64 < 4"},
    "compound_mod": {"mask_mod": "(q_idx + 7) // 16 >= kv_idx // 16 && kv_idx % 3 != 1"},
}
spilled = 0
kernels = 0
for dim in (32, 64, 80, 96, 128, 256):
    for name, mods in MODS.items():
        spec = {"name": f"{name}_d{dim}", "heads": {"q": 8, "kv": 4}, "head_dim": dim,
                "dtype": "bf16"}
        spec.update(mods)
        path = os.path.join(out_dir, spec["name"] + ".json")
        with open(path, "w") as f:
            json.dump(spec, f)
        for chip in ("sm_80", "sm_90a"):
            proc = subprocess.run([attnc, "compile", path, "--report", "--chip", chip],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"{spec['name']} {chip}: attnc failed:\n{proc.stderr}")
            config = proc.stdout.splitlines()[0].split(": ", 1)[1]
            m = re.search(r"(\d+) B spill stores, (\d+) B spill loads", proc.stdout)
            spills = int(m.group(1)) + int(m.group(2))
            kernels += 1
            spilled += spills > 0
            print(f"{spec['name']:18} {chip:6} {config}: {spills} B spills")
print(f"{kernels} kernels, {spilled} with spills")
sys.exit(1 if spilled else 0)
