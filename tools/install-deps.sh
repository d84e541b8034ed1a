#!/bin/sh
# Installs, as root, the Debian 12 packages libq8conv needs to build, test and benchmark, skipping
# what is already there. Used by the README's Quick start and by .ci/run.
set -eu
packages="cmake make gcc libc6-dev pkg-config
  libvulkan-dev libvulkan-volk-dev glslang-tools spirv-tools
  mesa-vulkan-drivers vulkan-validationlayers libxnnpack-dev libpthreadpool-dev
  clang libclang-rt-14-dev llvm"
# clang + libclang-rt-14-dev: the libFuzzer target and its sanitizer runtimes (fuzz/); llvm:
# llvm-symbolizer, so that sanitizer reports name their frames.
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
