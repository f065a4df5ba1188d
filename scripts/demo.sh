#!/usr/bin/env bash
# The main job: check and compile every example spec, print a summary table and the
# attn IR of one variant.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ATTNC="$BUILD/bin/attnc"
OUT="$BUILD/demo"
mkdir -p "$OUT"

printf '%-24s %-6s %-10s %-6s %-9s %-8s %s\n' variant heads head_dim dtype "mod ops" status "IR"
status=0
for spec in examples/specs/*.json; do
  name=$(basename "$spec" .json)
  ir="$OUT/$name.mlir"
  if "$ATTNC" check "$spec" >/dev/null && "$ATTNC" compile "$spec" --emit attn -o "$ir"; then
    header=$(grep -m1 'attn.variant' "$ir")
    heads=$(sed -E 's/.*heads\(([0-9]+), ([0-9]+)\).*/\1\/\2/' <<<"$header")
    dims=$(sed -E 's/.*head_dim\(([0-9]+), ([0-9]+)\).*/\1\/\2/' <<<"$header")
    dtype=$(sed -E 's/.*dtype\(([a-z0-9]+)\).*/\1/' <<<"$header")
    ops=$(awk '/score_mod \{/{on=1} /^  func.func/{on=0} on && /= [a-z_]+\.[a-z_]+/{n++} END{print n+0}' "$ir")
    printf '%-24s %-6s %-10s %-6s %-9s %-8s %s\n' "$name" "$heads" "$dims" "$dtype" "$ops" ok "$ir"
  else
    printf '%-24s %s\n' "$name" FAILED
    status=1
  fi
done
echo
echo "== attnc compile examples/specs/alibi.json --emit attn =="
"$ATTNC" compile examples/specs/alibi.json --emit attn
exit $status
