#!/usr/bin/env bash
# The deployable-kernels checks of `make check`:
#  1. the runtime-only configuration (-DATTNC_RUNTIME_ONLY=ON) builds with g++ while
#     LLVM, MLIR and nlohmann-json are made unfindable, no object includes one of
#     their headers (ninja's dependency records) and attnc-rt links none of them;
#  2. cmake --install of the runtime-only and of the full build, and an outside
#     project (test/install-consumer) built against each with find_package(attnc):
#     attnc::runtime loading a library from C++ and C, attnc::compiler compiling specs;
#  3. the runtime-only attnc-rt runs every example's CPU kernels (both x86-64 levels)
#     from a library the full build compiled, checked against the float64 reference,
#     and the runtime-only Python package runs that library from Python
#     (test/python/runtime_only: compiling there says it needs the full build);
#  4. the GPU check's local half (scripts/gpu-check.sh prepare, with the full build's
#     attnc) and its device half (the runtime-only attnc-rt) against the stand-in CUDA
#     driver: the library loads, every variant is launched and reported, and the
#     stand-in's unwritten (poisoned) outputs fail the reference check.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RT=$BUILD/runtime-only

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$RT" -G Ninja -DATTNC_RUNTIME_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc \
  -DCMAKE_IGNORE_PREFIX_PATH=/usr/lib/llvm-22 -DCMAKE_DISABLE_FIND_PACKAGE_LLVM=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_MLIR=ON -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON \
  -DPython_EXECUTABLE="$(cd "$BUILD" && pwd)/venv/bin/python" \
  "${launcher[@]}" >"$RT.log" 2>&1 || { cat "$RT.log"; exit 1; }
ninja -C "$RT" -j"${JOBS:-2}" >>"$RT.log" 2>&1 || { tail -40 "$RT.log"; exit 1; }
if ninja -C "$RT" -t deps | grep -E '/usr/lib/llvm|/usr/include/(llvm|mlir|nlohmann)'; then
  echo "check-deploy: the runtime-only build includes LLVM, MLIR or nlohmann headers" >&2
  exit 1
fi
for f in "$RT/bin/attnc-rt" "$RT/lib/libattnc_runtime.so"; do
  if [ ! -e "$f" ] || ldd "$f" | grep -iE 'llvm|mlir'; then
    echo "check-deploy: $f is missing or links LLVM or MLIR" >&2
    exit 1
  fi
done
echo "check-deploy: runtime-only build ok ($(ldd "$RT/bin/attnc-rt" | wc -l) shared libraries, none of LLVM/MLIR)"

# The runtime-only attnc-rt runs the CPU kernels of a library the full build wrote:
# every example, checked against the float64 reference, at each x86-64 level.
cpulib=$BUILD/libexamples-cpu.so
"$BUILD/bin/attnc" compile examples/specs/*.json --emit library --target cpu -o "$cpulib"
if ldd "$cpulib" | grep -iE 'llvm|mlir|stdc\+\+'; then
  echo "check-deploy: $cpulib links more than the C library" >&2
  exit 1
fi
# AVX-512 kernels run only where the processor has x86-64-v4 (QEMU's user mode
# emulates AVX2 but not AVX-512): elsewhere the AVX2 level alone, said so.
levels=(avx2)
if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo &&
    grep -qw avx512vl /proc/cpuinfo && grep -qw avx512dq /proc/cpuinfo; then
  levels=(avx512 avx2)
else
  echo "check-deploy: this processor has no AVX-512: the library's avx512 kernels are not run here"
fi
ran=0
for isa in "${levels[@]}"; do
  for spec in examples/specs/*.json; do
    name=$(basename "$spec" .json)
    if ! ATTNC_CPU_ISA=$isa "$RT/bin/attnc-rt" run "$cpulib" "$name" --random 2,37,75 \
        --seed "$ran" >"$RT.cpu.log" 2>&1; then
      cat "$RT.cpu.log" >&2
      echo "check-deploy: the runtime-only attnc-rt failed on $name ($isa)" >&2
      exit 1
    fi
    ran=$((ran + 1))
  done
done
echo "check-deploy: the runtime-only attnc-rt ran all $ran CPU kernels (examples x ${levels[*]}) of a library of $(du -k "$cpulib" | cut -f1) KiB, each matching the float64 reference"

# The runtime-only Python package: the library's kernels from Python; compiling
# says it needs the full build.
if ! ls "$RT"/python/attnc/_attnc*.so >/dev/null 2>&1; then
  echo "check-deploy: the runtime-only build made no Python package (nanobind missing?)" >&2
  exit 1
fi
if ! ATTNC_TEST_LIBRARY=$cpulib PYTHONPATH=$RT/python "$BUILD/venv/bin/python" -m pytest -q \
    test/python/runtime_only/check_runtime_only.py >"$RT.python.log" 2>&1; then
  cat "$RT.python.log" >&2
  echo "check-deploy: the runtime-only Python package failed its tests" >&2
  exit 1
fi
echo "check-deploy: the runtime-only Python package runs the library's kernels ($(tail -1 "$RT.python.log"))"

# The same package as `pip install .` builds it (pyproject.toml, scikit-build-core),
# forced to the runtime-only configuration, installed into a folder and tested there.
pip_target=$PWD/$BUILD/pip-runtime-only
pip_launcher=()
command -v ccache >/dev/null && pip_launcher=(-C cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache)
rm -rf "$pip_target"
if ! "$BUILD/venv/bin/pip" install --no-build-isolation --no-deps --target "$pip_target" \
    -C cmake.define.ATTNC_RUNTIME_ONLY=ON -C build-dir="$PWD/$BUILD/pip-build" \
    -C cmake.args=-GNinja "${pip_launcher[@]}" . >"$RT.pip.log" 2>&1; then
  tail -40 "$RT.pip.log" >&2
  echo "check-deploy: pip install . (runtime-only) failed" >&2
  exit 1
fi
if ! ATTNC_TEST_LIBRARY=$cpulib PYTHONPATH=$pip_target "$BUILD/venv/bin/python" -m pytest -q \
    -p no:cacheprovider test/python/runtime_only/check_runtime_only.py >"$RT.pip-test.log" 2>&1; then
  cat "$RT.pip-test.log" >&2
  echo "check-deploy: the pip-installed runtime-only package failed its tests" >&2
  exit 1
fi
echo "check-deploy: pip install . (runtime-only) builds a package that runs the library's kernels ($(tail -1 "$RT.pip-test.log"))"

# Installed, and used by an outside CMake project through find_package(attnc).
prefix=$PWD/$BUILD/install-prefix
rm -rf "$prefix" "$BUILD/install-consumer"
cmake --install "$RT" --prefix "$prefix" >"$RT.install.log" 2>&1 || { cat "$RT.install.log"; exit 1; }
cmake -S test/install-consumer -B "$BUILD/install-consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc >"$BUILD/install-consumer.log" 2>&1 &&
  ninja -C "$BUILD/install-consumer" >>"$BUILD/install-consumer.log" 2>&1 ||
  { cat "$BUILD/install-consumer.log"; echo "check-deploy: the outside project does not build" >&2; exit 1; }
echo "check-deploy: installed to $prefix; an outside project builds with find_package(attnc)"

# The full build installed: the same outside project also gets attnc::compiler and
# compiles specs itself, each kernel checked against the float64 reference.
full_prefix=$PWD/$BUILD/install-prefix-full
rm -rf "$full_prefix" "$BUILD/install-consumer-full"
cmake --install "$BUILD" --prefix "$full_prefix" >"$BUILD/install-full.log" 2>&1 ||
  { cat "$BUILD/install-full.log"; exit 1; }
cmake -S test/install-consumer -B "$BUILD/install-consumer-full" -G Ninja \
  -DCMAKE_PREFIX_PATH="$full_prefix" -DCMAKE_CXX_COMPILER=clang++-22 -DCMAKE_C_COMPILER=clang-22 \
  >"$BUILD/install-consumer-full.log" 2>&1 &&
  ninja -C "$BUILD/install-consumer-full" >>"$BUILD/install-consumer-full.log" 2>&1 ||
  { cat "$BUILD/install-consumer-full.log"; echo "check-deploy: the outside project does not build with attnc::compiler" >&2; exit 1; }
for spec in causal sliding_window; do
  ATTNC_CACHE_DIR= "$BUILD/install-consumer-full/compile_spec" "examples/specs/$spec.json" ||
    { echo "check-deploy: the outside project's compiled $spec is wrong" >&2; exit 1; }
done
echo "check-deploy: installed the full build; the outside project compiles and runs specs with attnc::compiler"

out=$BUILD/gpu-check-out
rm -rf "$out"
BUILD=$BUILD scripts/gpu-check.sh prepare "$BUILD/gpu-check" | tail -1
set +e
ATTNC_CUDA_DRIVER=$PWD/$BUILD/lib/libattnc-fake-cuda.so RT_BUILD=$RT \
  scripts/gpu-check.sh device "$BUILD/gpu-check" "$out" --quick --no-torch >"$out.log" 2>&1
rc=$?
set -e
variants=$(ls "$BUILD/gpu-check/specs" | grep -vc '^bench_' || true)
variants=$((variants + $(ls examples/specs/*.json | wc -l)))
alt=$(ls "$BUILD/gpu-check/alt" | wc -l) # the 32-row-warp library's variants
variants=$((variants + alt))
# The backward library: every example and learned_bias, at two shapes (quick: one).
variants=$((variants + $(ls examples/specs/*.json | wc -l) + 1))
rows=$(grep -c '| FAILED |' "$out/report.md" || true)
timed=$(grep -cE '^\| (plain|causal) \| (64|128) \| [0-9]+ \| [0-9.]+ \|' "$out/report.md" || true)
alt_timed=$(grep -cE '^\| (plain|causal) \(--rows-per-warp 32 [^|]*\) \| 128 \| [0-9]+ \| [0-9.]+ \|' "$out/report.md" || true)
if [ $rc -ne 1 ] || [ "$rows" -ne "$variants" ] || [ "$timed" -ne 8 ] || [ "$alt_timed" -ne $((2 * alt)) ]; then
  echo "check-deploy: the GPU check against the stand-in driver: exit $rc (expected 1)," \
    "$rows of $variants variants reported as failing, $timed of 8 timings," \
    "$alt_timed of $((2 * alt)) with 32-row warps" >&2
  tail -30 "$out.log" >&2
  exit 1
fi
echo "check-deploy: gpu-check ran all $variants variants, 8 timings and $alt_timed with 32-row warps through the stand-in driver"

# The outside project's programs on that library: C++ and C (the C API registers
# the GPU kernels, so it needs a driver: the stand-in's).
lib=$BUILD/gpu-check/libgpucheck.so
cxx=$("$BUILD/install-consumer/list_library" "$lib" | grep -c '^c++: ')
c=$(ATTNC_CUDA_DRIVER=$PWD/$BUILD/lib/libattnc-fake-cuda.so "$BUILD/install-consumer/list_library_c" "$lib" | grep -c '^c: ')
if [ "$cxx" -ne 36 ] || [ "$c" -ne 36 ]; then
  echo "check-deploy: the installed runtime listed $cxx (C++) and $c (C) of 36 variants" >&2
  exit 1
fi
echo "check-deploy: the installed runtime lists all 36 variants from C++ and from C"
