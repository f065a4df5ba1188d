#!/usr/bin/env bash
# Runs every test: lit (dialect, frontend), GoogleTest unit tests (ctest), the
# Python package's tests (pytest), the runtime-only build and the GPU check's halves (check-deploy.sh), the unit and lit
# tests again under ASan+UBSan and the concurrency tests under TSan
# (check-sanitizers.sh), and a bounded run of each fuzz target. Prints each suite's
# summary; fails if any fails. SANITIZERS=0 skips the sanitizer builds.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
failed=()

echo "== lit =="
/usr/lib/llvm-22/bin/lit -sv "$BUILD/test" || failed+=(lit)

echo "== unit tests (ctest) =="
(cd "$BUILD" && ctest --output-on-failure >ctest.log 2>&1)
rc=$?
grep -E "tests passed|tests failed|Failed|\*\*\*" "$BUILD/ctest.log" | tail -n 40
[ $rc -eq 0 ] || failed+=(ctest)

echo "== Python package (pytest) =="
if [ -f "$BUILD/python/attnc/__init__.py" ] && ls "$BUILD"/python/attnc/_attnc*.so >/dev/null 2>&1; then
  PYTHONPATH="$BUILD/python" "$BUILD/venv/bin/python" -m pytest -q test/python || failed+=(python)
else
  echo "check: the Python package was not built (no nanobind: run scripts/setup.sh with PyPI)"
  failed+=(python)
fi

echo "== deployable kernels (runtime-only build, GPU check) =="
./scripts/check-deploy.sh || failed+=(deploy)

if [ "${SANITIZERS:-1}" != 0 ]; then
  echo "== sanitizers (ASan+UBSan: all tests; TSan: concurrency tests) =="
  BUILD=$BUILD ./scripts/check-sanitizers.sh all || failed+=(sanitizers)
fi

echo "== fuzz (${FUZZ_SECONDS}s) =="
./scripts/fuzz.sh "$FUZZ_SECONDS" || failed+=(fuzz)

if [ ${#failed[@]} -ne 0 ]; then
  echo "check: FAILED: ${failed[*]}"
  exit 1
fi
echo "check: all suites passed"
