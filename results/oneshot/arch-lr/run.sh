#!/bin/sh
# Supplementary: DARTS and GDAS on the reduced protocol with the architecture learning rate raised to 0.01,
# 3 seeds, one process at a time, one thread, normal priority.
# Usage: sh results/oneshot/arch-lr/run.sh [DATA] [BENCH]
set -e
DATA=${1:-/work/shared/data/cifar10}
BENCH=${2:-nb201}
OUT=results/oneshot/arch-lr
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
echo "start $(date -u +%FT%TZ); $(uptime)"
for method in gdas darts; do
  nasbench oneshot --method "$method" --bench "$BENCH" --dataset cifar10-valid --seeds 0-2 \
    --data "$DATA" --protocol "$OUT/protocol.json" --threads 1 -o "$OUT/$method.json"
  echo "done $method $(date -u +%FT%TZ); $(uptime)"
done
nasbench oneshot-report "$OUT/darts.json" "$OUT/gdas.json" -o "$OUT"
echo "end $(date -u +%FT%TZ)"
