#!/bin/bash
# R9: the final split-plan rule (z fills a workgroup only to 64 invocations): MobileNetV2 now
# against the start (base = main 831d00b) in the same call.
set -u
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=$PWD/.dev; R=$OUT/r9; mkdir -p $R
date -u > $R/env.txt
( cd $D/rel && LD_LIBRARY_PATH=$D/rel timeout 50 ./q8conv-bench --shapes $D/mnv2.csv --variants auto,dot --warmup-ms 60 --batches 5 --json $R/mnv2_new.json > $R/mnv2_new.txt 2>&1 ); echo "new rc $?"
( cd $D/base && LD_LIBRARY_PATH=$D/base timeout 30 ./q8conv-bench --shapes $D/mnv2.csv --variants auto,dot --layers-only --warmup-ms 60 --batches 5 --json $R/mnv2_base.json > $R/mnv2_base.txt 2>&1 ); echo "base rc $?"
grep -E "^  (auto|tile)|floors|polling host" $R/mnv2_new.txt | head
cd $OUT; tar czf r9.tgz r9; rm -rf r9
