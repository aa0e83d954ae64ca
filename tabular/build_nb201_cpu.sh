#!/usr/bin/env bash
# How tabular/nb201-cpu.h5 is built (resumable: rerun after a kill; the journal skips finished runs).
#
#   bash tabular/build_nb201_cpu.sh NB201_TABLE.h5 CIFAR10_FOLDER [WORKERS]
#
# NB201_TABLE.h5: the table imported from the published NB201 data (`nasbench import nb201`), used
# only to pick the architectures; CIFAR10_FOLDER: the CIFAR-10 JPEG zips or the python archive.
# Run it on an otherwise idle machine: one training process per core, one thread each.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
reference="$1"
data="$2"
workers="${3:-2}"
table="$here/nb201-cpu.h5"
# The 50 architectures that get a second seed come first, so the table has its own seed ceiling
# early; the order is shuffled, so any prefix of the job is spread over the accuracy range.
select=(python "$here/select_nb201_archs.py" "$reference" --n 200 --top-percent 1 --shuffle-seed 777)
"${select[@]}" --every 4 > "$here/nb201-cpu.seed888.txt"
"${select[@]}" --first "$here/nb201-cpu.seed888.txt" > "$here/nb201-cpu.archs.txt"
common=(--space nb201 --dataset cifar10-valid --data "$data" --protocol nb201-cpu --device cpu
        --workers "$workers" --threads 1 -o "$table")
nasbench train "${common[@]}" --archs "$here/nb201-cpu.seed888.txt" --seeds 777
nasbench train "${common[@]}" --archs "$here/nb201-cpu.seed888.txt" --seeds 888
nasbench train "${common[@]}" --archs "$here/nb201-cpu.archs.txt" --seeds 777
nasbench verify "$table"
