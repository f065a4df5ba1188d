"""Runs each example variant twice on the same input file, once JIT-compiled
(`attnc run SPEC`) and once from a kernel library (`attnc-rt run LIB NAME`), and
compares the two outputs element by element.

  library_vs_jit.py ATTNC ATTNC_RT LIB WORKDIR [--max-rel X] [--backward] SPEC...

With --backward both runs are `run --backward` on inputs that also hold a random
dout, and every output (out, lse, dq, dk, dv, d<NAME>) is compared.

The inputs are random (fixed seed per spec), on shapes that are not tile multiples;
scalars are 0-d tensors (offsets 3), buffers random integers in [0, 8) or floats in
[-1, 1). Prints one line per spec with the largest difference and exits 1 if any
output differs by more than --max-rel (relative to max(1, |jit|); default 0: the
outputs must be identical), or if either run fails. Standard library only.
"""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_tool as st  # noqa: E402

DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16", "i32": "I32", "i64": "I64"}


def input_tensors(spec, seed, backward):
    """The tensors of one call of `spec`: B=2, Q_LEN=37, KV_LEN=75 (and dout)."""
    rng = random.Random(seed)
    b, q_len, kv_len = 2, 37, 75
    heads = spec["heads"]
    h, h_kv = heads["q"], heads.get("kv", heads["q"])
    d = spec.get("head_dim", 64)
    dv = spec.get("head_dim_v", d)
    dtype = DTYPES[spec.get("dtype", "f32")]
    sizes = {"B": b, "H": h, "H_KV": h_kv, "Q_LEN": q_len, "KV_LEN": kv_len}
    args = ["q:%s:%d,%d,%d,%d" % (dtype, b, h, q_len, d),
            "k:%s:%d,%d,%d,%d" % (dtype, b, h_kv, kv_len, d),
            "v:%s:%d,%d,%d,%d" % (dtype, b, h_kv, kv_len, dv)]
    if backward:
        args.append("dout:%s:%d,%d,%d,%d" % (dtype, b, h, q_len, dv))
    for name, kind in sorted(spec.get("scalars", {}).items()):
        args.append("%s:%s::3" % (name, DTYPES[kind]))
    for name, buf in sorted(spec.get("buffers", {}).items()):
        shape = [sizes[x] if isinstance(x, str) else x for x in buf["shape"]]
        args.append("%s:%s:%s" % (name, DTYPES[buf["dtype"]], ",".join(map(str, shape))))
    return [st.parse_tensor(a, rng) for a in args]


def main():
    argv = sys.argv[1:]
    max_rel = 0.0
    if "--max-rel" in argv:
        i = argv.index("--max-rel")
        max_rel = float(argv[i + 1])
        del argv[i:i + 2]
    backward = "--backward" in argv
    flags = ["--backward"] if backward else []
    if backward:
        argv.remove("--backward")
    attnc, attnc_rt, library, work = argv[:4]
    failed = False
    for n, path in enumerate(argv[4:]):
        with open(path) as f:
            spec = json.load(f)
        name = spec["name"]
        inputs = os.path.join(work, name + ".in.safetensors")
        with open(inputs, "wb") as f:
            f.write(st.serialize(input_tensors(spec, 100 + n, backward)))
        jit_out = os.path.join(work, name + ".jit.safetensors")
        lib_out = os.path.join(work, name + ".lib.safetensors")
        for cmd in ([attnc, "run", path, "--inputs", inputs, "--output", jit_out] + flags,
                    [attnc_rt, "run", library, name, "--inputs", inputs, "--output", lib_out]
                    + flags):
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                print("%s: %s failed (%d): %s" % (name, cmd[0], run.returncode, run.stderr))
                failed = True
                break
        else:
            jit, lib = st.read(jit_out), st.read(lib_out)
            worst, count = 0.0, 0
            if sorted(jit) != sorted(lib):
                print("%s: the outputs hold %s and %s" % (name, sorted(jit), sorted(lib)))
                failed = True
            for tensor in sorted(set(jit) & set(lib)) if backward else ("out", "lse"):
                a, b = jit[tensor][2], lib[tensor][2]
                if jit[tensor][:2] != lib[tensor][:2] or len(a) != len(b):
                    print("%s: %s has another dtype or shape" % (name, tensor))
                    failed = True
                    continue
                for x, y in zip(a, b):
                    same = x == y or (x != x and y != y)
                    diff = 0.0 if same else abs(x - y) / max(1.0, abs(x))
                    worst = max(worst, diff if diff == diff else float("inf"))
                    count += not same
            ok = worst <= max_rel
            failed |= not ok
            print("%-24s %s: %d of %s differ, largest relative difference %.3g"
                  % (name, "same" if ok else "DIFFERENT", count,
                     "+".join(sorted(jit)) if backward else "out+lse", worst))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
