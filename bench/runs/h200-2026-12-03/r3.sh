#!/bin/bash
# R3 (final): validation of every suite and kernel, statistics, the PyTorch peers, the bench.
set -u
T0=$(date +%s); left() { echo $(( 540 - ($(date +%s) - T0) )); }
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=$PWD/.dev; R=$D/rel; export LD_LIBRARY_PATH=$R
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv
  git log --oneline -1 2>/dev/null
  $R/q8conv-info; $R/q8conv-info --kernels --json $OUT/r3_kernels.json | head -80
  for s in small_oc modes uint8 wzp_stride split shapes; do Q8CONV_VALIDATION=1 timeout 70 $R/q8conv-test-gpu $s 2>&1 | grep -E "FAIL|passed|failed|AUTO|accelerated" | head -6; echo "[$s exit ${PIPESTATUS[0]}]"; done
  Q8CONV_VALIDATION=1 timeout 30 $R/q8conv-test-statistics 2>&1 | tail -3
  for s in chain hazards replay; do Q8CONV_VALIDATION=1 timeout 30 $R/q8conv-test-sequence $s 2>&1 | tail -1; done
  timeout 40 $R/q8conv-sweep --cases 300 2>&1 | tail -2
  date -u
} > $OUT/r3_valid.txt 2>&1
grep -E "FAIL|exit|passed|sweep" $OUT/r3_valid.txt | head -30
( cd $D && timeout 150 python3 anchor_torch.py --csv all.csv > $OUT/r3_anchor.csv 2> $OUT/r3_anchor.err )
echo "anchor done, left $(left)"
timeout $(( $(left) > 240 ? 200 : $(left) - 40 )) $R/q8conv-bench --suite mobilenet --roofline --variants auto,dot,dot_mixed,coopmat --warmup-ms 150 --batches 5 --json $OUT/r3_mnv2.json > $OUT/r3_mnv2.txt 2>&1
echo "mnv2 rc $? left $(left)"
timeout $(( $(left) - 10 )) $R/q8conv-bench --shapes $D/extra.csv --layers-only --variants auto,coopmat,dot --warmup-ms 150 --batches 5 --json $OUT/r3_extra.json > $OUT/r3_extra.txt 2>&1
echo "extra rc $? left $(left)"
grep -E "network|x_lfloor|sequence" $OUT/r3_mnv2.txt | head -12
