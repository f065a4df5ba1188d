#!/usr/bin/env bash
# Installs every dependency of attnc from Debian's archive. Idempotent: packages already
# present are left alone, so a second run costs only `apt-get update`.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache python3 git
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
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
