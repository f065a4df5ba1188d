#!/usr/bin/env bash
# The GPU check (docs/gpu-check.md): attnc's kernels on a real GPU, checked against
# the float64 reference and timed against PyTorch.
#
#   scripts/gpu-check.sh prepare [DIR]      here (full build): specs and one kernel
#                                           library into DIR (default gpu-check/, ignored
#                                           by git; under 64 MiB)
#   scripts/gpu-check.sh device DIR OUT [--quick] [--no-torch] [--extras]
#                                           on the GPU machine (CMake, a C++ compiler,
#                                           the CUDA driver, Python with PyTorch): builds
#                                           the runtime alone, runs bench/gpu_check.py,
#                                           writes OUT/report.md
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

prepare() {
  local dir=${1:-gpu-check}
  mkdir -p "$dir/specs"
  rm -f "$dir"/specs/*.json
  mapfile -t specs < <(python3 bench/gpu_check.py specs "$dir/specs")
  "$BUILD/bin/attnc" compile "${specs[@]}" --emit library --target cuda \
    --chip "${CHIPS:-sm_90a,sm_80}" -o "$dir/libgpucheck.so"
  echo "gpu-check: ${#specs[@]} variants in $dir/libgpucheck.so ($(du -h "$dir/libgpucheck.so" | cut -f1))"
  # The head dim 128 benchmarks again in the configuration the static profile cannot
  # rank against the default (bench/gpu_check.py alt-specs prints its flags first).
  mkdir -p "$dir/alt"
  rm -f "$dir"/alt/*.json
  mapfile -t alt < <(python3 bench/gpu_check.py alt-specs "$dir/alt")
  read -r -a flags <<<"${alt[0]}"
  "$BUILD/bin/attnc" compile "${alt[@]:1}" --emit library --target cuda \
    --chip "${CHIPS:-sm_90a,sm_80}" "${flags[@]}" -o "$dir/libgpucheck-w32.so"
  echo "gpu-check: $((${#alt[@]} - 1)) variants (${alt[0]}) in $dir/libgpucheck-w32.so"
  # The backward pass: every example and the learnable bias with its GPU backward
  # kernel.
  "$BUILD/bin/attnc" compile examples/specs/*.json examples/training/learned_bias.json \
    --emit library --target cuda --backward --chip "${CHIPS:-sm_90a,sm_80}" \
    -o "$dir/libgpucheck-backward.so"
  echo "gpu-check: $(ls examples/specs/*.json | wc -l) examples + learned_bias with backward kernels in $dir/libgpucheck-backward.so"
  # Two kernels' cubins on their own, for cuobjdump -sass there (--extras).
  mkdir -p "$dir/sass"
  for v in bench_causal_d128 bench_plain_d64; do
    "$BUILD/bin/attnc" compile "$dir/specs/$v.json" --target cuda --emit cubin --chip sm_90a \
      -o "$dir/sass/$v.sm_90a.cubin"
  done
}

# --extras: the SASS of two kernels, Nsight Compute's shared-memory and tensor-pipe
# counters for one launch, and compute-sanitizer's memcheck and racecheck on three
# variants; each bounded in time, each written to OUT.
extras() {
  local dir=$1 out=$2 rt=$3
  for c in "$dir"/sass/*.cubin; do
    timeout 60 cuobjdump -sass "$c" >"$out/$(basename "$c" .cubin).sass" 2>&1 || true
  done
  local metrics=l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum,smsp__inst_executed.sum,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,sm__warps_active.avg.pct_of_peak_sustained_active,gpu__time_duration.sum,launch__registers_per_thread
  for v in bench_causal_d128:4,4096,4096 bench_plain_d64:4,4096,4096; do
    timeout 120 ncu --metrics "$metrics" --launch-count 1 \
      "$rt/bin/attnc-rt" bench "$dir/libgpucheck.so" "${v%%:*}" --shape "${v#*:}" --reps 1 \
      >>"$out/ncu.txt" 2>&1 || echo "ncu ${v%%:*}: failed or timed out" >>"$out/ncu.txt"
  done
  for tool in memcheck racecheck; do
    for v in causal gqa document; do
      timeout 90 compute-sanitizer --tool "$tool" --error-exitcode 3 \
        "$rt/bin/attnc-rt" run "$dir/libgpucheck.so" "$v" --random 1,67,131 \
        >>"$out/sanitizer.txt" 2>&1
      echo "== $tool $v: exit $?" >>"$out/sanitizer.txt"
    done
  done
}

device() {
  local dir=$1 out=$2
  shift 2
  local rt=${RT_BUILD:-/tmp/attnc-build-rt}
  local jobs
  jobs=$(nproc 2>/dev/null || echo 2)
  local gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S . -B "$rt" "${gen[@]}" -DATTNC_RUNTIME_ONLY=ON -DCMAKE_BUILD_TYPE=Release >"$rt.log" 2>&1 ||
    { cat "$rt.log"; exit 1; }
  cmake --build "$rt" -j"$jobs" >>"$rt.log" 2>&1 || { tail -50 "$rt.log"; exit 1; }
  echo "gpu-check: runtime-only build in $rt"
  local args=() extra=0
  for a in "$@"; do
    if [ "$a" = --extras ]; then extra=1; else args+=("$a"); fi
  done
  mkdir -p "$out"
  local rc=0
  local alt=()
  [ -f "$dir/libgpucheck-w32.so" ] && alt=(--alt-lib "$dir/libgpucheck-w32.so")
  [ -f "$dir/libgpucheck-backward.so" ] && alt+=(--backward-lib "$dir/libgpucheck-backward.so")
  python3 bench/gpu_check.py device --lib "$dir/libgpucheck.so" "${alt[@]}" \
    --attnc-rt "$rt/bin/attnc-rt" --out "$out" "${args[@]}" || rc=$?
  if [ $extra = 1 ]; then extras "$dir" "$out" "$rt"; fi
  return $rc
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  device) shift; [ $# -ge 2 ] || { echo "usage: $0 device DIR OUT [--quick] [--no-torch] [--extras]" >&2; exit 2; }; device "$@" ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
