#!/usr/bin/env bash
# Runs the GPU tests and the benchmark on a lent GPU machine (bench/RESULTS.md says how it was
# used). Expects, relative to the repository root: .gl/ (Debian packages of the Vulkan loader and
# XNNPACK, unpacked here because that machine has no package registry) and a folder $1 holding
# binaries built on Debian 12: libq8conv.so.0.2, tests/q8conv-test-gpu, bench/q8conv-bench and
# optionally tools/q8conv-info. Everything printed goes to $2/log.txt as well.
# Usage: tools/device-run.sh BIN_DIR OUT_DIR [q8conv-bench args...]
set -uo pipefail
bin=$1 out=$2
shift 2
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
export LD_LIBRARY_PATH=$PWD/$bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$out"
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1
  if [ -x "$bin/tools/q8conv-info" ]; then "$bin/tools/q8conv-info"; fi
  for suite in small_oc shapes modes; do
    "$bin/tests/q8conv-test-gpu" "$suite" 2>&1 | tail -n 3
  done
  echo "+ q8conv-bench $*"
  "$bin/bench/q8conv-bench" "$@" 2>&1
  echo "q8conv-bench exit status: $?"
} 2>&1 | tee "$out/log.txt"
