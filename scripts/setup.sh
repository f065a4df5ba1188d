#!/usr/bin/env bash
# Installs every dependency of attnc from Debian's archive, then, from PyPI into a
# virtual environment under the build folder ($BUILD/venv): NVIDIA's SASS
# disassembler (for `attnc compile --report`'s SASS profile) and what the Python
# package and its tests need (nanobind, numpy, pytest, torch, transformers;
# scripts/build.sh configures with this Python). Idempotent: packages already present are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
NVDISASM_VERSION=13.5.37
# torch (PyPI's wheel, with its CUDA libraries: ~3 GB, cached by pip) and
# transformers are for the PyTorch custom op and attn_implementation="attnc" tests.
PYTHON_PKGS=(nanobind==2.4.0 scikit-build-core==1.1.2 numpy==2.4.6 pytest==9.2.0
             torch==2.15.0 transformers==5.25.0)

PKGS=(
  build-essential cmake ninja-build ccache python3 python3-venv python3-dev git
  clang-14 lld-14
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  clang-22 libclang-rt-22-dev
  nlohmann-json3-dev libgtest-dev libopenblas-dev
  qemu-user  # runs attnc-rt on an emulated processor without AVX-512 (a lit test)
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PKGS[@]} packages already installed"
else
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# nvdisasm (a static binary in PyPI's nvidia-cuda-nvdisasm wheel), linked as
# $BUILD/venv/bin/nvdisasm where attnc looks for it. Optional: without PyPI,
# --report leaves the SASS profile out and says so, and its tests are skipped.
nvdisasm="$BUILD/venv/bin/nvdisasm"
if [ -x "$nvdisasm" ] && "$BUILD/venv/bin/pip" show nvidia-cuda-nvdisasm 2>/dev/null |
     grep -qx "Version: $NVDISASM_VERSION"; then
  echo "setup: nvdisasm $NVDISASM_VERSION already in $BUILD/venv"
elif mkdir -p "$BUILD" && { [ -x "$BUILD/venv/bin/pip" ] || python3 -m venv "$BUILD/venv"; } &&
     "$BUILD/venv/bin/pip" install -q "nvidia-cuda-nvdisasm==$NVDISASM_VERSION"; then
  found=$(find "$BUILD/venv/lib" -path "*/nvidia/*/bin/nvdisasm" -type f | head -1)
  if [ -n "$found" ]; then
    ln -sf "$(realpath "$found")" "$nvdisasm"
    echo "setup: nvdisasm $NVDISASM_VERSION in $BUILD/venv"
  else
    echo "setup: warning: the nvidia-cuda-nvdisasm wheel holds no nvdisasm" >&2
  fi
else
  echo "setup: warning: could not install nvdisasm from PyPI; --report will have no SASS profile" >&2
fi

# The Python package's build and tests (python/, test/python). Without PyPI the
# package is not built and scripts/check.sh reports its tests as failed.
if mkdir -p "$BUILD" && { [ -x "$BUILD/venv/bin/pip" ] || python3 -m venv "$BUILD/venv"; } &&
   "$BUILD/venv/bin/pip" install -q "${PYTHON_PKGS[@]}"; then
  echo "setup: ${PYTHON_PKGS[*]} in $BUILD/venv"
else
  echo "setup: warning: could not install ${PYTHON_PKGS[*]} from PyPI; the Python package will not be built" >&2
fi
