#!/bin/bash
# R4: issue 19, measure first: the dot kernel's split-K and early channel constants swept on
# MobileNetV2 against the start (base = main 831d00b) in the same call; the network cold and warm.
set -u
T0=$(date +%s); left() { echo $(( 570 - ($(date +%s) - T0) )); }
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=$PWD/.dev
run() { local b=$1; shift; LD_LIBRARY_PATH=$D/$b "$@"; }
B="--warmup-ms 60 --batches 5 --layers-only --no-check"
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv; } > $OUT/r4_env.txt 2>&1
# exactness of the new split-K (every op split, up to 64 slices, early constants) under validation
for s in shapes wzp_stride; do echo "[$s $(Q8CONV_TUNE_KSPLIT=1000000,64,1 Q8CONV_TUNE_EARLY=3 Q8CONV_VALIDATION=1 run t0 timeout 60 $D/t0/q8conv-test-gpu $s 2>&1 | grep -E 'FAIL|passed|failed|rror' | head -3)]"; done > $OUT/r4_valid.txt 2>&1
echo "valid done, left $(left)"; cat $OUT/r4_valid.txt
sweep() { local tag=$1; shift; echo "=== $tag"; env "$@" timeout 60 ./q8conv-bench --shapes $D/mnv2.csv --variants dot $B --json $OUT/r4_$tag.json 2>/dev/null | grep -E "^(b[0-9]+_[a-z]+|head|layer) " ; }
{
  ( cd $D/base; sweep base LD_LIBRARY_PATH=$D/base )
  cd $D/t0
  sweep def LD_LIBRARY_PATH=$D/t0
  sweep e1 LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_EARLY=1
  sweep e3 LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_EARLY=3
  sweep k131_64_2 LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_KSPLIT=131072,64,2
  sweep k131_64_4 LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_KSPLIT=131072,64,4
  sweep k65_32_4 LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_KSPLIT=65536,32,4
  sweep k262_64_2e3 LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_KSPLIT=262144,64,2 Q8CONV_TUNE_EARLY=3
  sweep k131_16_4 LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_KSPLIT=131072,16,4
  sweep wg128 LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_WG=128
  sweep wg256 LD_LIBRARY_PATH=$D/t0 Q8CONV_TUNE_WG=256
} > $OUT/r4_sweep.txt 2>&1
echo "sweep done, left $(left)"
# the network: cold (rotating sets, as before) and warm (one set), start and new default, AUTO and DOT
{ for b in base t0; do for r in 256 0; do echo "=== net $b rotate $r"; run $b timeout 100 $D/$b/q8conv-bench --shapes $D/mnv2.csv --variants auto,dot --warmup-ms 60 --batches 5 --rotate-mb $r 2>&1 | grep -E -i "network|sequence|sets|floor|host wall" | head -30; echo "left $(left)"; [ $(left) -lt 60 ] && break 2; done; done; } > $OUT/r4_net.txt 2>&1
echo "net done, left $(left)"
