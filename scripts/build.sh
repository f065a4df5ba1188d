#!/usr/bin/env bash
# Configures (once) and builds attnc with clang-22, Ninja and ccache (when present).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
# ccache is told to ignore the checkout's path (as scripts/check-sanitizers.sh does),
# so a clean clone elsewhere (CI) reuses what an earlier build compiled.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
if [ ! -f "$BUILD/build.ninja" ]; then
  launcher=() python=()
  # The Python package builds with the venv's Python (scripts/setup.sh gives it nanobind).
  [ -x "$BUILD/venv/bin/python" ] && python=(-DPython_EXECUTABLE="$(cd "$BUILD" && pwd)/venv/bin/python")
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  cmake -G Ninja -S . -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    "${python[@]}" "${launcher[@]}"
fi
ninja -C "$BUILD" -j"$JOBS"
