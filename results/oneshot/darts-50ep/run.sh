#!/bin/sh
# Supplementary: DARTS (first order) on the reduced supernet for the published 50 epochs, one seed,
# one process, one thread, normal priority. Usage: sh results/oneshot/darts-50ep/run.sh [DATA] [BENCH]
set -e
DATA=${1:-/work/shared/data/cifar10}
BENCH=${2:-nb201}
OUT=results/oneshot/darts-50ep
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
echo "start $(date -u +%FT%TZ); $(uptime)"
nasbench oneshot --method darts --bench "$BENCH" --dataset cifar10-valid --seeds 0 \
  --data "$DATA" --protocol "$OUT/protocol.json" --threads 1 -o "$OUT/darts.json"
echo "end $(date -u +%FT%TZ); $(uptime)"
