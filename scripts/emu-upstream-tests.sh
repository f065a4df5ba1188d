#!/usr/bin/env bash
# Runs LLVM's CUDA integration tests (mlir/test/Integration/GPU/CUDA/ in llvm-project,
# whose CHECK lines were recorded on NVIDIA GPUs) under attn-emu-runner instead of
# `-gpu-lower-to-nvvm-pipeline ... | mlir-runner`, keeping their earlier mlir-opt
# stages, and compares the output with their CHECK lines. The test files are not part
# of attnc: put copies in a folder and pass it.
#   scripts/emu-upstream-tests.sh DIR [FILE.mlir ...]
# Prints PASS/FAIL per file, the runner's time, and the first error of a failure.
set -uo pipefail
dir=${1:?usage: $0 DIR [FILE.mlir ...]}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
runner=${RUNNER:-$top/build/bin/attn-emu-runner}
llvm=/usr/lib/llvm-22
files=("$@")
[ ${#files[@]} -eq 0 ] && files=($(cd "$dir" && ls *.mlir))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "${files[@]}"; do
  src="$dir/$f"
  # The stages before the NVVM pipeline: the transform-dialect tests rewrite
  # linalg.matmul into nvgpu.mma.sync first.
  pre=("$llvm/bin/mlir-opt" "$src")
  grep -q "transform-interpreter" "$src" &&
    pre+=(-transform-interpreter -test-transform-dialect-erase-schedule)
  start=$(date +%s.%N)
  "${pre[@]}" 2>"$work/err" >"$work/in.mlir"
  ok=$?
  if [ $ok -eq 0 ]; then
    timeout 120 "$runner" "$work/in.mlir" --shared-libs="$llvm/lib/libmlir_runner_utils.so" \
      --entry-point-result=void >"$work/out" 2>"$work/err"
    ok=$?
  fi
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  if [ $ok -eq 0 ] && "$llvm/bin/FileCheck" "$src" --input-file="$work/out" 2>"$work/fc"; then
    printf 'PASS %-55s %6.2f s\n' "$f" "$secs"
  else
    why=$(head -n 1 "$work/err")
    [ -z "$why" ] && [ $ok -eq 124 ] && why="timed out after 120 s"
    [ -z "$why" ] && why=$(grep -m1 error "$work/fc")
    printf 'FAIL %-55s %6.2f s  %s\n' "$f" "$secs" "$why"
  fi
done
