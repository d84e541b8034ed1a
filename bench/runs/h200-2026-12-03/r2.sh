#!/bin/bash
# R2: new requant + epilogue: exactness (all suites, all kernels), ablations, tiles, MobileNetV2 floors.
set -u
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=$PWD/.dev
run() { local b=$1; shift; LD_LIBRARY_PATH=$D/$b "$@"; }
B="--warmup-ms 100 --batches 5 --layers-only --no-check"
date -u
for s in small_oc shapes modes split uint8; do run rel timeout 100 $D/rel/q8conv-test-gpu $s 2>&1 | grep -E "FAIL|passed|failed" | head -5; done
date -u
{ echo "=== t0 big ablations"; Q8CONV_TUNE_STATS=1 run t0 timeout 100 $D/t0/q8conv-bench --shapes $D/big.csv --variants coopmat --ablate 1,2,3,4,5 $B
  echo "=== tm big"; run tm timeout 60 $D/tm/q8conv-bench --shapes $D/big.csv --variants coopmat $B
  echo "=== t0 tiles"; Q8CONV_TUNE_STATS=1 run t0 timeout 100 $D/t0/q8conv-bench --shapes $D/big.csv --variants coopmat --tiles 256x128x64x64x64x1,256x128x64x64x32x2,128x256x64x64x64x1,128x128x64x64x64x1,128x128x64x32x64x2,128x128x64x32x128x1,64x64x32x32x128x1,64x64x32x32x64x2,128x64x64x32x64x1,64x32x32x16x64x2,32x32x16x16x64x2 $B
} > $OUT/r2_big.txt 2>&1
date -u
{ echo "=== t0 mnv2 auto,dot ablate"; run t0 timeout 150 $D/t0/q8conv-bench --shapes $D/mnv2.csv --variants auto,dot,coopmat --ablate 1,2,3 --json $OUT/r2_mnv2.json $B
  echo "=== tm mnv2"; run tm timeout 60 $D/tm/q8conv-bench --shapes $D/mnv2.csv --variants auto,dot $B
} > $OUT/r2_mnv2.txt 2>&1
date -u
grep -E "^(big|et_|b32)[^ ]* .*(coopmat|auto)" $OUT/r2_big.txt | head -60
