#!/bin/sh
# Installs, as root, the Debian 12 packages libq8conv needs to build, test and benchmark, skipping
# what is already there. Used by the README's Quick start and by .ci/run.
#   sh tools/install-deps.sh          build, test, benchmark
#   sh tools/install-deps.sh cross    and cross-compile for arm64, testing under qemu
set -eu
packages="cmake make gcc libc6-dev pkg-config
  libvulkan-dev libvulkan-volk-dev glslang-tools spirv-tools
  mesa-vulkan-drivers vulkan-validationlayers libxnnpack-dev libpthreadpool-dev
  clang libclang-rt-14-dev llvm"
# mesa-vulkan-drivers: lavapipe (every GPU test) and RADV, whose null devices the `compilers` tests
# compile on (tests/compilers).
# clang + libclang-rt-14-dev: the libFuzzer target, ThreadSanitizer and their runtimes (fuzz/,
# Q8CONV_TSAN); llvm: llvm-symbolizer, so that sanitizer reports name their frames.
if [ "${1:-}" = cross ]; then
  # cmake/toolchains/aarch64-linux-gnu.cmake; qemu-user runs the arm64 tests (tools/arm64-root.sh
  # makes the root they find Vulkan in).
  packages="$packages gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
fi
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
  fi
  echo "install-deps: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
