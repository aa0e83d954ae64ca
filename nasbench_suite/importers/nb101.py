"""Importer ``nb101``: the NAS-Bench-101 JSONL sample (``shared/data/nb101`` layout).

Each line is ``{"adjacency": 7x7 0/1, "ops": [...], "accuracy": fraction}``: one
108-epoch CIFAR-10 accuracy per cell, already averaged over the benchmark's
seeds by the source, so the table has no per-seed results: dataset ``cifar10``
with no seeds and the per-arch metric ``test_acc_mean`` (percent). Keys are the
official graph hashes of the pruned cells (``NB101Space.key``).

The source does not say which split the accuracy is on. Its best value in the
2,500-cell sample is 94.02%, below the best NB101 test mean (94.32%) and far
below the best validation mean (95.05%), so it is stored as the test mean; the
provenance records that this is an inference.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nasbench_suite import spaces
from nasbench_suite.errors import ImportSourceError, MalformedArchError
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

SAMPLE_FILE = "nb101_sample_2500.jsonl"


def import_table(source: Path) -> TableData:
    """Import the JSONL sample (the file itself, or the folder holding ``nb101_sample_2500.jsonl``).

    Raises:
        ImportSourceError: missing file, a line that is not JSON or lacks a field
            (with its line number), or two lines describing the same cell.
        MalformedArchError: a cell that is not valid in the NB101 space (with its line number).
    """
    source = Path(source)
    path = source / SAMPLE_FILE if source.is_dir() else source
    if not path.is_file():
        raise ImportSourceError(path, "no such file (expected the NB101 JSONL sample)")
    space = spaces.get("nb101")
    keys: list[str] = []
    accuracy: list[float] = []
    line_of: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                cell = {"adjacency": record["adjacency"], "ops": record["ops"]}
                value = float(record["accuracy"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ImportSourceError(path, f"line {number}: not a cell record ({exc})") from None
            try:
                key = space.key(json.dumps(cell))
            except MalformedArchError as exc:
                reason = f"{exc.reason} (line {number} of {path.name})"
                raise MalformedArchError("nb101", cell, reason) from None
            if key in line_of:
                raise ImportSourceError(
                    path, f"line {number} describes the same cell as line {line_of[key]} (hash {key})"
                )
            line_of[key] = number
            keys.append(key)
            accuracy.append(100.0 * value)
    if not keys:
        raise ImportSourceError(path, "no cells in the file")
    n = len(keys)
    dataset = DatasetData(
        seeds=np.zeros(0, dtype=np.int64),
        present=np.zeros((n, 0), dtype=bool),
        per_arch={"test_acc_mean": np.array(accuracy, dtype=np.float64)},
        metrics={
            "test_acc_mean": MetricInfo(
                "%", "108-epoch CIFAR-10 accuracy, mean over the benchmark's seeds (split inferred: test)"
            )
        },
        protocol={"epochs": 108, "optimizer": "RMSProp", "lr_schedule": "cosine", "batch_size": 256},
        provenance={
            "source": "leeyeehoo/GenNAS-Zero (NAS-Bench-101 sample, Ying et al. 2019)",
            "licence": "NAS-Bench-101 data: Apache-2.0",
            "time_hardware": "no times in this source",
            "notes": "fraction in the source, stored in percent; the split is inferred (see importer docs)",
        },
    )
    return TableData(
        space="nb101",
        keys=keys,
        datasets={"cifar10": dataset},
        description=f"NAS-Bench-101 sample of {n} cells ({path.name})",
    )
