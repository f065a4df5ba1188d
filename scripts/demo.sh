#!/usr/bin/env bash
# The main job: compile every example spec for the CPU, run it on random inputs
# (shapes that are not tile multiples), check it against the float64 reference,
# and print one line per variant; the same for the GPU kernel under the cuda-emu
# emulator (smaller shape: it is slow); then run the C++ registry example.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ATTNC="$BUILD/bin/attnc"
SHAPE=${SHAPE:-2,300,257}

# One line per example spec: "<name> <target> B=.. Q_LEN=.. KV_LEN=.. <dtype> out rel X
# (max Y) lse rel Z (max W) T ms ok" becomes "name dtype X Y Z T".
table() {
  local target=$1 shape=$2
  printf '%-24s %-5s %-11s %-11s %-11s %s\n' variant dtype "out rel" "out max" "lse rel" "ms"
  for spec in examples/specs/*.json; do
    local args=()
    grep -q '"offset"' "$spec" && args=(--scalar offset=16)
    local line
    line=$("$ATTNC" run "$spec" --random "$shape" --seed 1 --target "$target" "${args[@]}" 2>&1)
    if [ $? -ne 0 ]; then
      echo "$line"
      status=1
      continue
    fi
    # (A variant with buffers or scalars first says what its random inputs hold.)
    grep -v ': inputs: ' <<<"$line" |
      awk '{ printf "%-24s %-5s %-11s %-11s %-11s %s\n", $1, $6, $9, substr($11, 1, length($11) - 1), $14, $17 }'
  done
}

status=0
echo "== every example spec on random inputs, B,Q_LEN,KV_LEN = $SHAPE (cpu, $(nproc) threads) =="
table cpu "$SHAPE"
EMU_SHAPE=${EMU_SHAPE:-1,67,131}
echo
echo "== the GPU kernel of every example under the cuda-emu emulator (checks on), B,Q_LEN,KV_LEN = $EMU_SHAPE =="
table cuda-emu "$EMU_SHAPE"
echo
echo "== examples/cpp/attention_layer.cpp: register variants, switch implementations =="
"$BUILD/bin/attention-layer-example" examples/specs || status=1
exit $status
