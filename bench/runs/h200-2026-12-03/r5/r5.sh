#!/bin/bash
# R5: issue 19: split-K sweep with narrower workgroups and up to 64 slices, the skeleton ablation,
# the network cold / warm (runtime order) / network of floors, start (base) against new.
set -u
T0=$(date +%s); left() { echo $(( 570 - ($(date +%s) - T0) )); }
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=$PWD/.dev; R=$OUT/r5; mkdir -p $R
B="--warmup-ms 60 --batches 5 --layers-only --no-check"
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv; } > $R/env.txt 2>&1
for s in shapes modes; do echo "[$s $(Q8CONV_TUNE_KSPLIT=1000000,64,1,64 Q8CONV_VALIDATION=1 LD_LIBRARY_PATH=$D/t0 timeout 60 $D/t0/q8conv-test-gpu $s 2>&1 | grep -E 'FAIL|passed|failed|rror' | head -3)]"; done > $R/valid.txt 2>&1
echo "valid done, left $(left)"; cat $R/valid.txt
cd $D/t0
sweep() { local tag=$1; shift; echo "=== $tag"; env LD_LIBRARY_PATH=$D/t0 "$@" timeout 60 ./q8conv-bench --shapes $D/mnv2.csv --variants dot $B --json $R/sw_$tag.json 2>/dev/null | grep -E "^(b[0-9]+_[a-z]+|head|layer) " | head -20; }
{ sweep def
  sweep k32_64_4_64 Q8CONV_TUNE_KSPLIT=32768,64,4,64
  sweep k65_64_4_64 Q8CONV_TUNE_KSPLIT=65536,64,4,64
  sweep k32_64_4_128 Q8CONV_TUNE_KSPLIT=32768,64,4,128
  sweep k32_64_2_64 Q8CONV_TUNE_KSPLIT=32768,64,2,64
  sweep k131_64_4_64 Q8CONV_TUNE_KSPLIT=131072,64,4,64
  sweep k32_32_4_64 Q8CONV_TUNE_KSPLIT=32768,32,4,64
} > $R/sweep.txt 2>&1
echo "sweep done, left $(left)"
{ echo "=== ablations k32_64_4_64"; env LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_KSPLIT=32768,64,4,64 timeout 90 ./q8conv-bench --shapes $D/mnv2.csv --variants dot --ablate 1,2,6 $B --json $R/abl.json 2>/dev/null | grep -E "^(b[0-9]+_[a-z]+|head|layer) "; } > $R/abl.txt 2>&1
echo "abl done, left $(left)"
for b in base t0; do
  [ $(left) -lt 100 ] && break
  ( cd $D/$b; env LD_LIBRARY_PATH=$D/$b Q8CONV_TUNE_KSPLIT=32768,64,4,64 timeout $(( $(left) - 20 )) ./q8conv-bench --shapes $D/mnv2.csv --variants auto,dot --warmup-ms 60 --batches 5 --json $R/net_$b.json > $R/net_$b.txt 2>&1 )
  echo "net $b rc $? left $(left)"
done
cd $OUT; tar czf r5.tgz r5; rm -rf r5
