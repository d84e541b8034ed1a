#!/bin/bash
# R8 (final): validation of the final kernels, the PyTorch peers, MobileNetV2 (layers, floors,
# network cold / warm / floors network, the sequence and its submission floor) start against now,
# the extra shapes start against now, and what uint8 weights with a zero point cost.
set -u
T0=$(date +%s); left() { echo $(( 430 - ($(date +%s) - T0) )); }
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
D=$PWD/.dev; R=$OUT/r8; mkdir -p $R; N=$D/rel
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv; git log --oneline -1 2>/dev/null
  LD_LIBRARY_PATH=$N $N/q8conv-info --kernels --json $R/kernels.json | head -40; } > $R/env.txt 2>&1
# every suite under the validation layer, every kernel and AUTO (in parallel: no timing here)
for s in small_oc shapes modes split uint8 wzp_stride; do ( Q8CONV_VALIDATION=1 LD_LIBRARY_PATH=$N timeout 100 $N/q8conv-test-gpu $s > $R/valid_$s.txt 2>&1; echo "[$s exit $?]" >> $R/valid_$s.txt ) & done
for s in chain hazards replay random; do ( Q8CONV_VALIDATION=1 LD_LIBRARY_PATH=$N timeout 60 $N/q8conv-test-sequence $s > $R/seq_$s.txt 2>&1; echo "[$s exit $?]" >> $R/seq_$s.txt ) & done
wait
grep -h -E "FAIL|passed|failed|exit|rror" $R/valid_*.txt $R/seq_*.txt | head -40
echo "valid done, left $(left)"
( cd $D && timeout 150 python3 anchor_torch.py --csv all.csv > $R/anchor.csv 2> $R/anchor.err ); echo "anchor rc $? left $(left)"
( cd $N && LD_LIBRARY_PATH=$N timeout 120 ./q8conv-bench --shapes $D/mnv2.csv --variants auto,dot,coopmat --warmup-ms 100 --batches 5 --json $R/mnv2_new.json > $R/mnv2_new.txt 2>&1 ); echo "mnv2 new rc $? left $(left)"
( cd $D/base && LD_LIBRARY_PATH=$D/base timeout 100 ./q8conv-bench --shapes $D/mnv2.csv --variants auto,dot --warmup-ms 100 --batches 5 --json $R/mnv2_base.json > $R/mnv2_base.txt 2>&1 ); echo "mnv2 base rc $? left $(left)"
for b in rel base; do [ $(left) -lt 60 ] && break; ( cd $D/$b && LD_LIBRARY_PATH=$D/$b timeout $(( $(left) > 110 ? 80 : $(left) - 30 )) ./q8conv-bench --shapes $D/extra.csv --variants auto --layers-only --warmup-ms 60 --batches 5 --json $R/extra_$b.json > $R/extra_$b.txt 2>&1 ); echo "extra $b rc $? left $(left)"; done
for w in s8 u8; do [ $(left) -lt 40 ] && break; ( cd $N && LD_LIBRARY_PATH=$N timeout 40 ./q8conv-bench --shapes $D/mnv2.csv --variants auto --layers-only --dtype u8 --weights $w --warmup-ms 60 --batches 5 --json $R/wzp_$w.json > $R/wzp_$w.txt 2>&1 ); echo "wzp $w rc $? left $(left)"; done
grep -E "^  (auto|tile|coopmat)|floors|sequence|submission|first layer|polling host" $R/mnv2_new.txt | head -20
cd $OUT; tar czf r8.tgz r8; rm -rf r8
