#!/usr/bin/env bash
# Benchmarks for docs/performance.md: attnc's CPU kernels (f32 and bf16, head_dim 64
# and 128, lengths 1024-8192, causal and not) in GFLOP/s, the eager float64 reference
# at the smallest length, and OpenBLAS sgemm measured in the same run.
# Usage: scripts/bench.sh [LENGTHS...]   (default: 1024 2048 4096 8192)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ATTNC="$BUILD/bin/attnc"
LENGTHS=("$@")
[ ${#LENGTHS[@]} -eq 0 ] && LENGTHS=(1024 2048 4096 8192)
HEADS=${HEADS:-4}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to a generic
# SSE3 kernel; name the core type it should use.
if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SKYLAKEX}
elif grep -q avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-HASWELL}; fi

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) threads"
echo "date: $(date -u +%Y-%m-%d)"
"$BUILD/bin/sgemm-bench" 2048 4096
echo
printf '| dtype | head_dim | mask | length | ms | GFLOP/s |\n|---|---|---|---|---|---|\n'
for dtype in f32 bf16; do
  for d in 64 128; do
    for mask in none causal; do
      spec="$WORK/${dtype}_${d}_${mask}.json"
      mm=""
      [ "$mask" = causal ] && mm=', "mask_mod": "q_idx >= kv_idx"'
      echo "{\"name\": \"bench_${dtype}_${d}_${mask}\", \"heads\": {\"q\": $HEADS}, \"head_dim\": $d, \"dtype\": \"$dtype\"$mm}" > "$spec"
      for len in "${LENGTHS[@]}"; do
        reps=10; [ "$len" -ge 4096 ] && reps=3
        line=$("$ATTNC" bench "$spec" --shape "1,$len,$len" --reps $reps)
        ms=$(awk '{for (i = 1; i <= NF; i++) if ($i == "ms") print $(i-1)}' <<<"$line")
        gf=$(awk '{for (i = 1; i <= NF; i++) if ($i == "GFLOP/s,") print substr($(i-1), 2)}' <<<"$line")
        printf '| %s | %s | %s | %s | %s | %s |\n' "$dtype" "$d" "$mask" "$len" "$ms" "$gf"
      done
    done
  done
done
echo
echo "eager float64 reference (B=1, H=$HEADS, f32):"
for d in 64 128; do
  "$ATTNC" bench "$WORK/f32_${d}_none.json" --shape "1,${LENGTHS[0]},${LENGTHS[0]}" --reps 1 --reference | tail -1
done
