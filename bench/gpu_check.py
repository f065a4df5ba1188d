#!/usr/bin/env python3
"""The GPU check: attnc's kernels run on a real GPU, checked and timed.

Two halves (scripts/gpu-check.sh drives both; docs/gpu-check.md explains them):

  gpu_check.py specs DIR
      (here, with the compiler) writes the check's specs into DIR: every example
      variant, a matrix of f16/bf16/f32 x head dims 64/128/256 x plain/causal, and the
      benchmark variants (bf16 plain/causal, head dims 64/128, 2048 / head_dim heads).
      gpu-check.sh then compiles them into one kernel library.

  gpu_check.py alt-specs DIR
      writes the head dim 128 benchmark variants again, named NAME_w32, for a second
      library compiled with ALT_FLAGS (32-row warps: FlashAttention-2's arrangement,
      Q fragments reloaded from shared memory): the configuration the SASS profile
      cannot decide against the default's 16-row warps (docs/cuda-target.md).

  gpu_check.py device --lib LIB [--alt-lib LIB2] [--backward-lib LIB3] --attnc-rt BIN --out OUT
                     [--quick] [--no-torch]
      (on the GPU machine, runtime-only build) runs every variant of LIB on random
      inputs of shapes that are not tile multiples, each checked against the float64
      reference (`attnc-rt run --random`); benchmarks the bench_* variants at 1k-16k
      tokens (`attnc-rt bench`: kernel time from CUDA events); times PyTorch's SDPA
      (flash backend) and compiled flex_attention on the same shapes
      (bench/torch_baselines.py); and writes OUT/report.md with every table, plus the
      raw logs; with --backward-lib, the GPU backward kernels of its variants against
      the float64 reference backward, and two backward timings. Each step has a time
      limit and a failure in one does not stop the others.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHECK_SHAPES = ["1,1,1", "2,67,131", "1,300,257"]
BACKWARD_SHAPES = ["1,1,1", "2,67,131"]
QUICK_SHAPES = ["2,67,131"]
BENCH_LENGTHS = [1024, 2048, 4096, 8192, 16384]


def matrix_specs():
    """The dtype x head dim x mask matrix (GQA 2:1 for the 16-bit ones)."""
    specs = []
    for dtype in ("f16", "bf16", "f32"):
        for dim in (64, 128, 256):
            for causal in (False, True):
                spec = {"name": f"m_{dtype}_d{dim}_{'causal' if causal else 'plain'}",
                        "heads": {"q": 4, "kv": 2 if dtype != "f32" else 4},
                        "head_dim": dim, "dtype": dtype}
                if causal:
                    spec["mask_mod"] = "q_idx >= kv_idx"
                specs.append(spec)
    return specs


def bench_specs():
    specs = []
    for dim in (64, 128):
        for causal in (False, True):
            spec = {"name": f"bench_{'causal' if causal else 'plain'}_d{dim}",
                    "heads": {"q": 2048 // dim}, "head_dim": dim, "dtype": "bf16"}
            if causal:
                spec["mask_mod"] = "q_idx >= kv_idx"
            specs.append(spec)
    return specs


ALT_FLAGS = ["--rows-per-warp", "32", "--block-q", "128", "--block-kv", "32"]
ALT_LENGTHS = [4096, 16384]


def alt_specs():
    specs = [s for s in bench_specs() if s["head_dim"] == 128]
    for s in specs:
        s["name"] += "_w32"
    return specs


def write_alt_specs(directory):
    os.makedirs(directory, exist_ok=True)
    for spec in alt_specs():
        path = os.path.join(directory, spec["name"] + ".json")
        with open(path, "w") as f:
            json.dump(spec, f, indent=1)
        print(path)


def write_specs(directory):
    os.makedirs(directory, exist_ok=True)
    paths = []
    examples = os.path.join(ROOT, "examples", "specs")
    for name in sorted(os.listdir(examples)):
        if name.endswith(".json"):
            paths.append(os.path.join(examples, name))
    for spec in matrix_specs() + bench_specs():
        path = os.path.join(directory, spec["name"] + ".json")
        with open(path, "w") as f:
            json.dump(spec, f, indent=1)
        paths.append(path)
    print("\n".join(paths))


def run(cmd, timeout, log):
    """Runs cmd; returns (rc, stdout+stderr). Never raises."""
    start = time.time()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        out, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        out = ((e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""))
        out += f"\n(timed out after {timeout} s)"
        rc = 124
    except OSError as e:
        out, rc = str(e), 127
    log.write(f"$ {' '.join(cmd)}   [{time.time() - start:.1f} s, rc {rc}]\n{out}\n")
    log.flush()
    return rc, out


def list_variants(attnc_rt, lib, log):
    rc, out = run([attnc_rt, "list", lib], 60, log)
    if rc != 0:
        sys.exit(f"attnc-rt list failed:\n{out}")
    return [m.group(1) for m in re.finditer(r"^  (\S+)\s+heads", out, re.M)]


def correctness(args, variants, log, budget):
    rows, start = [], time.time()
    shapes = QUICK_SHAPES if args.quick else CHECK_SHAPES
    for name in variants:
        if name.startswith("bench_") and not name.endswith("_w32"):
            continue  # the matrix checks the benchmarks' configurations
        for shape in shapes:
            if time.time() - start > budget:
                rows.append((name, shape, "skipped", "time budget spent"))
                continue
            rc, out = run([args.attnc_rt, "run", args.lib, name, "--random", shape], 120, log)
            line = next((l for l in out.splitlines() if l.startswith(name + " ")), "")
            err = next((l for l in out.splitlines() if l.startswith("error:")), "")
            m = re.search(r"out rel (\S+) \(max (\S+)\)\s+lse rel (\S+)", line)
            detail = (f"out rel {m.group(1)}, lse rel {m.group(3)}" if m else "") or err or out[-200:]
            rows.append((name, shape, "ok" if rc == 0 else "FAILED", detail))
    return rows


def backward_correctness(args, log, budget):
    """The GPU backward kernel of every variant of --backward-lib against the float64
    reference backward (`attnc-rt run --backward --device cuda --random`)."""
    if not args.backward_lib:
        return []
    rows, start = [], time.time()
    for name in list_variants(args.attnc_rt, args.backward_lib, log):
        for shape in QUICK_SHAPES if args.quick else BACKWARD_SHAPES:
            if time.time() - start > budget:
                rows.append((name, shape, "skipped", "time budget spent"))
                continue
            rc, out = run([args.attnc_rt, "run", args.backward_lib, name, "--backward",
                           "--device", "cuda", "--random", shape], 180, log)
            line = next((l for l in out.splitlines() if l.startswith(name + " ")), "")
            err = next((l for l in out.splitlines() if l.startswith("error:")), "")
            m = re.search(r"(dq rel \S+\s+dk rel \S+\s+dv rel \S+(\s+d\w+ rel \S+)?)", line)
            rows.append((name, shape, "ok" if rc == 0 else "FAILED",
                         (m.group(1) if m else "") or err or out[-200:]))
    return rows


def backward_bench(args, log):
    """Backward and forward times of two f32 examples on the GPU (one line each)."""
    if not args.backward_lib:
        return []
    lines = []
    for name in ("causal", "plain"):
        rc, out = run([args.attnc_rt, "bench", args.backward_lib, name, "--backward", "--device",
                       "cuda", "--shape", "1,2048,2048", "--reps", "3"], 300, log)
        lines.append(next((l for l in out.splitlines() if l.startswith(name + " ")),
                          out.strip().splitlines()[-1] if out.strip() else f"rc {rc}"))
    return lines


def attnc_bench(args, log, budget, lib=None, dims=(64, 128), lengths=None, suffix="",
                label=""):
    results, start = [], time.time()
    lib = lib or args.lib
    if lengths is None:
        lengths = BENCH_LENGTHS[:2] if args.quick else BENCH_LENGTHS
    for causal in (False, True):
        for dim in dims:
            name = f"bench_{'causal' if causal else 'plain'}_d{dim}{suffix}"
            for length in lengths:
                batch = 16384 // length
                entry = {"variant": "causal" if causal else "plain", "dim": dim,
                         "length": length, "batch": batch, "heads": 2048 // dim, "label": label}
                if time.time() - start > budget:
                    entry["error"] = "time budget spent"
                    results.append(entry)
                    continue
                rc, out = run([args.attnc_rt, "bench", lib, name, "--shape",
                               f"{batch},{length},{length}", "--reps", str(args.reps)], 180, log)
                m = re.search(r"CUDA events, median\)\s+([0-9.]+) ms\s+([0-9.]+) TFLOP/s", out)
                if rc == 0 and m:
                    entry["ms"], entry["tflops"] = float(m.group(1)), float(m.group(2))
                else:
                    entry["error"] = out.strip().splitlines()[-1] if out.strip() else f"rc {rc}"
                results.append(entry)
    return results


def torch_baselines(args, log, out_dir):
    if args.no_torch:
        return [], "not run (--no-torch)"
    path = os.path.join(out_dir, "torch.json")
    lengths = BENCH_LENGTHS[:2] if args.quick else BENCH_LENGTHS
    cmd = [sys.executable, os.path.join(HERE, "torch_baselines.py"), "--variants", "plain,causal",
           "--dims", "64,128", "--lengths", ",".join(map(str, lengths)), "--json", path,
           "--budget-seconds", str(args.torch_budget)]
    rc, out = run(cmd, args.torch_budget + 120, log)
    header = "\n".join(l for l in out.splitlines()[:4])
    try:
        with open(path) as f:
            return json.load(f), header
    except (OSError, ValueError):
        return [], f"failed (rc {rc}): {out.strip().splitlines()[-1] if out.strip() else ''}"


def backward_report(rows, bench):
    """The backward section of the report (empty without --backward-lib)."""
    if not rows:
        return []
    bad = [r for r in rows if r[2] != "ok"]
    lines = ["", f"## Backward (SIMT kernel): {len(rows) - len(bad)} of {len(rows)} runs match "
             "the float64 reference backward", "",
             "`attnc-rt run LIB NAME --backward --device cuda --random B,Q_LEN,KV_LEN` "
             "(tolerance 1e-4 f32, 3e-2 f16/bf16; gradients poisoned before the run)", "",
             "| variant | B,Q_LEN,KV_LEN | result | errors |", "|---|---|---|---|"]
    lines += [f"| {n} | {s} | {r} | {d} |" for n, s, r, d in rows]
    lines += ["", "`attnc-rt bench LIB NAME --backward --device cuda --shape 1,2048,2048` "
              "(host tensors staged each call):", "", "```"] + bench + ["```"]
    return lines


def report(args, env, rows, bench, torch_rows, torch_header, elapsed):
    lines = [f"# attnc GPU check, {datetime.date.today().isoformat()}", "", "```", env.strip(),
             "```", ""]
    bad = [r for r in rows if r[2] != "ok"]
    lines += [f"## Correctness: {len(rows) - len(bad)} of {len(rows)} runs match the float64 "
              "reference", "", "`attnc-rt run LIB NAME --random B,Q_LEN,KV_LEN` (tolerance 1e-5 "
              "f32, 1e-2 f16/bf16; outputs poisoned before the run)", "",
              "| variant | B,Q_LEN,KV_LEN | result | errors |", "|---|---|---|---|"]
    lines += [f"| {n} | {s} | {r} | {d} |" for n, s, r, d in rows]
    torch_by = {}
    for t in torch_rows:
        if t.get("tflops"):
            torch_by[(t["variant"], t["dim"], t["length"], t["impl"])] = t
    lines += ["", "## Speed: bf16, B = 16384 / L, H = 2048 / head_dim (kernel time, CUDA events)",
              "", "TFLOP/s count 4·B·H·L²·D times the fraction of pairs the mask keeps.", "",
              "| variant | head dim | L | attnc ms | attnc TFLOP/s | SDPA flash TFLOP/s | "
              "flex TFLOP/s | attnc / SDPA | attnc / flex |", "|---|---|---|---|---|---|---|---|---|"]
    for b in bench:
        key = (b["variant"], b["dim"], b["length"])
        sdpa = torch_by.get(key + ("sdpa_flash",))
        flex = torch_by.get(key + ("flex_compiled",))
        t = b.get("tflops")
        cells = [b["variant"] + b.get("label", ""), b["dim"], b["length"], b.get("ms", "-"),
                 f"{t:.1f}" if t else b.get("error", "-"),
                 f"{sdpa['tflops']:.1f}" if sdpa else "-",
                 f"{flex['tflops']:.1f}" if flex else "-",
                 f"{t / sdpa['tflops']:.2f}" if t and sdpa else "-",
                 f"{t / flex['tflops']:.2f}" if t and flex else "-"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += backward_report(args.backward_rows, args.backward_bench)
    lines += ["", f"PyTorch: {torch_header}", "", f"Total time {elapsed:.0f} s."]
    return "\n".join(lines) + "\n"


def device(args):
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    with open(os.path.join(args.out, "log.txt"), "w") as log:
        _, env = run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                      "--format=csv"], 30, log)
        variants = list_variants(args.attnc_rt, args.lib, log)
        rows = correctness(args, variants, log, args.check_budget)
        if args.alt_lib:
            alt = list_variants(args.attnc_rt, args.alt_lib, log)
            rows += correctness(argparse.Namespace(**{**vars(args), "lib": args.alt_lib}), alt,
                                log, 60)
        print(f"correctness: {sum(r[2] == 'ok' for r in rows)} of {len(rows)} ok", flush=True)
        bench = attnc_bench(args, log, args.bench_budget)
        if args.alt_lib:
            bench += attnc_bench(args, log, 60, lib=args.alt_lib, dims=(128,),
                                 lengths=ALT_LENGTHS, suffix="_w32",
                                 label=" (" + " ".join(ALT_FLAGS) + ")")
        print(f"attnc bench: {sum('tflops' in b for b in bench)} of {len(bench)} timed", flush=True)
        args.backward_rows = backward_correctness(args, log, args.check_budget)
        args.backward_bench = backward_bench(args, log)
        print(f"backward: {sum(r[2] == 'ok' for r in args.backward_rows)} of "
              f"{len(args.backward_rows)} ok", flush=True)
        torch_rows, torch_header = torch_baselines(args, log, args.out)
        text = report(args, env, rows, bench, torch_rows, torch_header, time.time() - start)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "attnc.json"), "w") as f:
        json.dump({"correctness": rows, "bench": bench, "backward": args.backward_rows,
                   "backward_bench": args.backward_bench}, f, indent=1)
    print(text)
    return 0 if all(r[2] == "ok" for r in rows + args.backward_rows) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("specs")
    s.add_argument("dir")
    s = sub.add_parser("alt-specs")
    s.add_argument("dir")
    d = sub.add_parser("device")
    d.add_argument("--lib", required=True)
    d.add_argument("--alt-lib", help="the ALT_FLAGS library of alt-specs")
    d.add_argument("--attnc-rt", required=True)
    d.add_argument("--backward-lib", help="a library written with --backward: its GPU "
                   "backward kernels checked and timed")
    d.add_argument("--out", required=True)
    d.add_argument("--quick", action="store_true", help="one shape, two lengths")
    d.add_argument("--no-torch", action="store_true")
    d.add_argument("--reps", type=int, default=10)
    d.add_argument("--check-budget", type=int, default=150)
    d.add_argument("--bench-budget", type=int, default=120)
    d.add_argument("--torch-budget", type=int, default=150)
    args = ap.parse_args()
    if args.cmd == "specs":
        write_specs(args.dir)
        return 0
    if args.cmd == "alt-specs":
        print(" ".join(ALT_FLAGS))
        write_alt_specs(args.dir)
        return 0
    return device(args)


if __name__ == "__main__":
    sys.exit(main())
