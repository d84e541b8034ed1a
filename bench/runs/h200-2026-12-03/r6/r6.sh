#!/bin/bash
# R6: issue 19: split plans with width blocks across rows (flat z), workgroup size and x/z shape swept.
set -u
T0=$(date +%s); left() { echo $(( 570 - ($(date +%s) - T0) )); }
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=$PWD/.dev; R=$OUT/r6; mkdir -p $R
B="--warmup-ms 60 --batches 5 --layers-only --no-check"
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv; } > $R/env.txt 2>&1
for s in shapes split; do echo "[$s $(Q8CONV_TUNE_KSPLIT=1000000,64,1,256,2 Q8CONV_VALIDATION=1 LD_LIBRARY_PATH=$D/t0 timeout 60 $D/t0/q8conv-test-gpu $s 2>&1 | grep -E 'FAIL|passed|failed|rror' | head -3)]"; done > $R/valid.txt 2>&1
echo "valid done, left $(left)"; cat $R/valid.txt
cd $D/t0
sweep() { local tag=$1; local v=$2; shift 2; echo "=== $tag"; env LD_LIBRARY_PATH=$D/t0 "$@" timeout 60 ./q8conv-bench --shapes $D/mnv2.csv --variants $v $B --json $R/sw_$tag.json 2>/dev/null | grep -E "^(b[0-9]+_[a-z]+|head|layer) " | head -20; }
{ sweep def dot
  sweep cm coopmat
  sweep a64_1 dot Q8CONV_TUNE_KSPLIT=32768,64,4,64,1
  sweep a256_1 dot Q8CONV_TUNE_KSPLIT=32768,64,4,256,1
  sweep a256_2 dot Q8CONV_TUNE_KSPLIT=32768,64,4,256,2
  sweep a128_2 dot Q8CONV_TUNE_KSPLIT=32768,64,4,128,2
  sweep a64_2 dot Q8CONV_TUNE_KSPLIT=32768,64,4,64,2
  sweep b128_2 dot Q8CONV_TUNE_KSPLIT=65536,64,4,128,2
  sweep b256_2 dot Q8CONV_TUNE_KSPLIT=65536,64,4,256,2
  sweep b64_1 dot Q8CONV_TUNE_KSPLIT=65536,64,4,64,1
  sweep c128_2 dot Q8CONV_TUNE_KSPLIT=32768,64,8,128,2
} > $R/sweep.txt 2>&1
echo "sweep done, left $(left)"
cd $OUT; tar czf r6.tgz r6; rm -rf r6
