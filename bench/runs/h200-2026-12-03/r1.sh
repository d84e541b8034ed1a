#!/bin/bash
# R1: baseline + validation + compiler stats + ablations + tile sweep. Run from the repo root.
set -u
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=$PWD/.dev
run() { local b=$1; shift; LD_LIBRARY_PATH=$D/$b "$@"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv
run rel $D/rel/q8conv-info
echo "=== validation: every GPU suite (each iterates DOT, FALLBACK, LEGACY, COOPMAT and AUTO)"
for s in small_oc shapes modes split uint8; do Q8CONV_VALIDATION=1 run rel timeout 120 $D/rel/q8conv-test-gpu $s 2>&1 | tail -n 4; done
for s in chain hazards random reuse replay; do Q8CONV_VALIDATION=1 run rel timeout 60 $D/rel/q8conv-test-sequence $s 2>&1 | tail -n 2; done
} > $OUT/r1_valid.txt 2>&1
tail -c 3000 $OUT/r1_valid.txt
( cd $D && timeout 200 python3 anchor_torch.py --csv full.csv > $OUT/r1_anchor.csv 2> $OUT/r1_anchor.err ) &
APID=$!
wait $APID
echo "=== anchor done"; cat $OUT/r1_anchor.csv | cut -d, -f1,8-11
{
echo "=== t0 stats + default tiles, big shapes"
Q8CONV_TUNE_STATS=1 run t0 timeout 120 $D/t0/q8conv-bench --shapes $D/big.csv --variants coopmat --warmup-ms 150 --batches 5 --no-check
for a in 1 2 3 4 5; do echo "=== ablate $a"; run t$a timeout 100 $D/t$a/q8conv-bench --shapes $D/big.csv --variants coopmat --warmup-ms 150 --batches 5 --no-check; done
for t in 256,128,64,64,64,1 128,128,64,32,64,2 128,128,64,64,64,2 128,128,64,64,64,1 128,256,64,64,64,1 256,128,128,32,64,1 128,128,64,32,128,1 128,128,32,64,64,2 64,128,32,64,64,2 128,64,64,32,64,2; do
  echo "=== tile $t"; Q8CONV_TUNE_STATS=1 Q8CONV_TUNE_CM_TILE=$t run t0 timeout 60 $D/t0/q8conv-bench --shapes $D/big2.csv --variants coopmat --warmup-ms 150 --batches 5 --no-check 2>&1 | grep -E "big_|pipeline|rror"
done
} > $OUT/r1_ablate.txt 2>&1
echo "=== full suite baseline (auto,coopmat,dot), roofline"
run rel timeout 240 $D/rel/q8conv-bench --suite full --roofline --variants auto,coopmat,dot --warmup-ms 200 --batches 5 --json $OUT/r1_full.json > $OUT/r1_full.txt 2>&1
tail -n 60 $OUT/r1_full.txt
