#!/usr/bin/env bash
# A bounded libFuzzer run of the frontend: scripts/fuzz.sh [SECONDS] (default 60).
# Seeds: the example specs and test/fuzz/seeds. Any crash, hang (>5 s per input),
# leak or sanitizer report fails the run; the reproducer is left in $BUILD/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_TO_RUN=${1:-60}
FUZZER="$BUILD/bin/attnc-fuzz-frontend"
if [ ! -x "$FUZZER" ]; then
  echo "fuzz: $FUZZER not built (needs clang and libclang-rt-22-dev)" >&2
  exit 1
fi
WORK="$BUILD/fuzz"
mkdir -p "$WORK/corpus"
cp examples/specs/*.json test/fuzz/seeds/* "$WORK/corpus/"
cd "$WORK"
log=fuzz.log
set +e
ASAN_OPTIONS=detect_leaks=1 ./../bin/attnc-fuzz-frontend corpus \
  -max_total_time="$SECONDS_TO_RUN" -timeout=5 -rss_limit_mb=4096 -max_len=4096 \
  -print_final_stats=1 >"$log" 2>&1
rc=$?
set -e
grep -E "^#[0-9]+.*(INITED|DONE)|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb" "$log" || true
if [ $rc -ne 0 ]; then
  tail -40 "$log"
  echo "fuzz: FAILED (exit $rc); see $WORK/$log" >&2
  exit 1
fi
echo "fuzz: ok (${SECONDS_TO_RUN}s, no crash, hang or leak)"
