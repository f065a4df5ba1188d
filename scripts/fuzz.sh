#!/usr/bin/env bash
# Bounded libFuzzer runs: scripts/fuzz.sh [SECONDS] (default 60 for the frontend; the
# other targets get half of it each).
#  - attnc-fuzz-frontend: specs and expressions; seeds: the example specs and
#    test/fuzz/seeds. Any crash, hang (>5 s per input), leak or ASan report fails.
#  - attnc-fuzz-mask-class: the mask analysis against brute force on masks chosen by
#    the input (test/unit/MaskClassChecker.h); a disagreement aborts.
#  - attnc-fuzz-safetensors: the safetensors reader (every tensor read in full, then
#    written and read back unchanged), under ASan and UBSan; seeds:
#    test/fuzz/safetensors-seeds.
#  - attnc-fuzz-attn-opt: MLIR text through attn-opt's CPU passes up to the LLVM
#    conversions; seeds: test/fuzz/ir-seeds (the lit tests' attn and flash-form IR).
#    Diagnostics are expected; a crash, hang (>10 s), leak or ASan report fails.
# The reproducer of a failure is left in $BUILD/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_TO_RUN=${1:-60}
WORK="$BUILD/fuzz"
for f in attnc-fuzz-frontend attnc-fuzz-mask-class attnc-fuzz-safetensors attnc-fuzz-attn-opt; do
  if [ ! -x "$BUILD/bin/$f" ]; then
    echo "fuzz: $BUILD/bin/$f not built (needs clang and libclang-rt-22-dev)" >&2
    exit 1
  fi
done
mkdir -p "$WORK/corpus" "$WORK/mask-corpus" "$WORK/safetensors-corpus" "$WORK/ir-corpus"
cp examples/specs/*.json test/fuzz/seeds/* "$WORK/corpus/"
cp test/fuzz/safetensors-seeds/* "$WORK/safetensors-corpus/"
cp test/fuzz/ir-seeds/* "$WORK/ir-corpus/"
cd "$WORK"

# run NAME CORPUS SECONDS [FLAGS...]
run() {
  local name=$1 corpus=$2 seconds=$3
  shift 3
  local log=$name.log rc
  set +e
  ASAN_OPTIONS=detect_leaks=1 "./../bin/$name" "$corpus" -max_total_time="$seconds" \
    -rss_limit_mb=4096 -print_final_stats=1 "$@" >"$log" 2>&1
  rc=$?
  set -e
  echo "$name:"
  grep -E "^#[0-9]+.*(INITED|DONE)|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb" "$log" || true
  if [ $rc -ne 0 ]; then
    tail -40 "$log"
    echo "fuzz: $name FAILED (exit $rc); see $WORK/$log" >&2
    return 1
  fi
}

run attnc-fuzz-frontend corpus "$SECONDS_TO_RUN" -timeout=5 -max_len=4096
run attnc-fuzz-mask-class mask-corpus $((SECONDS_TO_RUN / 2)) -timeout=10 -max_len=256
run attnc-fuzz-safetensors safetensors-corpus $((SECONDS_TO_RUN / 2)) -timeout=5 -max_len=4096
run attnc-fuzz-attn-opt ir-corpus $((SECONDS_TO_RUN / 2)) -timeout=10 -max_len=8192
echo "fuzz: ok (no crash, hang, leak or disagreement)"
