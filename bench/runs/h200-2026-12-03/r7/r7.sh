#!/bin/bash
# R7: issue 19: K steps per pass (UNROLL_K 4/8/16 by specialization) with and without split-K.
set -u
T0=$(date +%s); left() { echo $(( 300 - ($(date +%s) - T0) )); }
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=$PWD/.dev; R=$OUT/r7; mkdir -p $R
B="--warmup-ms 60 --batches 5 --layers-only --no-check"
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv; } > $R/env.txt 2>&1
echo "[$(Q8CONV_TUNE_UNROLL=16 Q8CONV_TUNE_KSPLIT=1000000,64,1 Q8CONV_VALIDATION=1 LD_LIBRARY_PATH=$D/t0 timeout 40 $D/t0/q8conv-test-gpu shapes 2>&1 | grep -E 'FAIL|passed|failed|rror' | head -3)]" > $R/valid.txt 2>&1
cat $R/valid.txt
cd $D/t0
sweep() { local tag=$1; local v=$2; shift 2; echo "=== $tag"; env LD_LIBRARY_PATH=$D/t0 "$@" timeout 40 ./q8conv-bench --shapes $D/mnv2.csv --variants $v $B --json $R/sw_$tag.json 2>/dev/null | grep -E "^(b[0-9]+_[a-z]+|head|layer) " | head -20; }
{ sweep u4 dot
  sweep u8 dot Q8CONV_TUNE_UNROLL=8
  sweep u16 dot Q8CONV_TUNE_UNROLL=16
  sweep u8s8 dot Q8CONV_TUNE_UNROLL=8 Q8CONV_TUNE_KSPLIT=32768,64,8
  sweep u16s16 dot Q8CONV_TUNE_UNROLL=16 Q8CONV_TUNE_KSPLIT=32768,64,16
  sweep u16n dot Q8CONV_TUNE_UNROLL=16 Q8CONV_TUNE_KSPLIT=32768,1,4
  sweep u8n dot Q8CONV_TUNE_UNROLL=8 Q8CONV_TUNE_KSPLIT=32768,1,4
  sweep u4b dot
} > $R/sweep.txt 2>&1
echo "sweep done, left $(left)"
cd $OUT; tar czf r7.tgz r7; rm -rf r7
