#!/bin/sh
# The reduced CPU protocol, as committed under results/oneshot/: one process at a time, one thread,
# normal priority (a measurement). Usage: sh results/oneshot/run-cpu.sh [DATA] [BENCH]
set -e
DATA=${1:-/work/shared/data/cifar10}
BENCH=${2:-nb201}
OUT=results/oneshot
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
echo "start $(date -u +%FT%TZ); $(uptime)"
for method in darts gdas rsps enas; do
  nasbench oneshot --method "$method" --bench "$BENCH" --dataset cifar10-valid --seeds 0-2 \
    --data "$DATA" --protocol nb201-oneshot-cpu --threads 1 -o "$OUT/$method.json"
  echo "done $method $(date -u +%FT%TZ); $(uptime)"
done
nasbench oneshot-report "$OUT/darts.json" "$OUT/gdas.json" "$OUT/rsps.json" "$OUT/enas.json" -o "$OUT"
echo "end $(date -u +%FT%TZ)"
