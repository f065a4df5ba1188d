"""Every target lowers the flash form's tile ops: removing or changing one changes
the kernel (or makes the lowering fail with an error).

Usage: tile_op_ablation.py ATTN_OPT INPUTS_DIR

For each target (the CPU, the GPU's SIMT kernel, the GPU's tensor-core kernel) the
checked-in flash form is lowered as it is and then once per edit: each tile op
removed, tile_scores' scale changed, the partial tiles' tile_mods without its mask,
the mask class made constant. Each edit prints one line: `changes` (the kernel
differs), `fails` (the lowering reports an error; a crash is not that) or
`UNCHANGED` (the target ignored the op: what the test exists to catch).
"""
import re
import subprocess
import sys

attn_opt, inputs = sys.argv[1], sys.argv[2]

TARGETS = [
    ("cpu", "alibi-flash-f32.mlir", ["--attn-lower-flash-to-cpu"]),
    ("simt", "alibi-flash-f32.mlir", ["--attn-lower-flash-to-gpu"]),
    ("tensor-cores", "gqa-flash-f16.mlir", ["--attn-lower-flash-to-gpu"]),
]


def remove_ops(name):
    """Deletes every line holding the tile op `name`."""
    return lambda text: "\n".join(l for l in text.splitlines() if f"attn.{name} " not in l)


def first_only(pattern, repl):
    return lambda text: re.sub(pattern, repl, text, count=1)


EDITS = [
    ("remove tile_init", remove_ops("tile_init")),
    ("remove tile_scores", remove_ops("tile_scores")),
    ("remove tile_mods", remove_ops("tile_mods")),
    ("remove tile_softmax", remove_ops("tile_softmax")),
    ("remove tile_pv", remove_ops("tile_pv")),
    ("remove tile_store", remove_ops("tile_store")),
    ("change tile_scores scale", first_only(r"(attn\.tile_scores .*)scale\([^)]*\)",
                                            r"\1scale(5.000000e-01)")),
    ("tile_mods without apply_mask", first_only(r" \{apply_mask\}", "")),
    ("tile_mask_class constant", first_only(r"attn\.tile_mask_class [^:]*: index",
                                            "arith.constant 2 : index")),
]


def lower(text, flags):
    run = subprocess.run([attn_opt, "-", *flags], input=text, capture_output=True, text=True)
    if run.returncode < 0 or "PLEASE submit a bug report" in run.stderr:
        return "CRASH", run.stderr
    if run.returncode != 0:
        return "error", run.stderr
    return "ok", run.stdout


unchanged = 0
count = 0
for target, name, flags in TARGETS:
    text = open(f"{inputs}/{name}").read()
    status, baseline = lower(text, flags)
    if status != "ok":
        print(f"{target}: the unedited flash form does not lower: {baseline}")
        sys.exit(1)
    for label, edit in EDITS:
        edited = edit(text)
        if edited == text:
            print(f"{target} {label}: the edit did not apply")
            sys.exit(1)
        status, result = lower(edited, flags)
        if status == "CRASH":
            verdict = "CRASH"
        elif status == "error":
            verdict = "fails: " + result.strip().splitlines()[0].split("error: ", 1)[-1]
        elif result != baseline:
            verdict = "changes"
        else:
            verdict = "UNCHANGED"
            unchanged += 1
        count += 1
        print(f"{target} {label}: {verdict}")
print(f"{count} edits, {unchanged} unchanged")
