"""Importer for NAS-Bench-101 cell samples in JSON-lines form (``shared/data/nb101`` layout).

Each line is ``{"adjacency": 7x7 (or smaller) 0/1 matrix, "ops": [...], "accuracy": fraction}``
as published by GenNAS-Zero (``nasbench1_2500_arch_acc.json``). Keys are the
official graph hashes of the pruned cells (``space.key``). The file has one
accuracy per cell, the mean over NB101's three 108-epoch runs, and no seeds,
so the table's ``cifar10`` dataset has S = 0 seeds and the accuracy is a
per-arch metric in percent (``test_acc_mean`` by default, see
:func:`import_table` for why it is the test split).

Optionally, NASLib's ``nb101_zero_cost_*.json`` beside the file adds ``zc_*``,
``flops_m`` and ``params_m`` for the cells of the table it covers.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import spaces
from nasbench_suite.errors import ImportSourceError, MalformedArchError
from nasbench_suite.importers._common import sentinel_to_nan
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

DATASET = "cifar10"
#: NASLib's op codes in its NB101 tuple keys (``convert_spec_to_tuple``).
NASLIB_OPS = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
_SPLIT_TEXT = {
    "test": "the CIFAR-10 test set (10,000 images)",
    "valid": "NB101's validation split (10,000 images held out of the CIFAR-10 training set)",
}
_PROTOCOL = {
    "optimizer": "RMSProp",
    "momentum": 0.9,
    "epsilon": 1.0,
    "learning_rate": 0.1,
    "lr_schedule": "cosine decay to 0 by step",
    "weight_decay": 1e-4,
    "batch_size": 256,
    "epochs": 108,
    "repeats": 3,
    "augmentation": "random crop 32x32 with 4-pixel padding, random horizontal flip",
    "train_data": "CIFAR-10, 40,000 of the 50,000 training images (10,000 held out for validation)",
    "network": "stem of 128 channels, 3 stacks of 3 cells, downsampling between stacks",
}
_SOURCES = {
    "sample": {"repository": "github.com/leeyeehoo/GenNAS-Zero", "licence": "not stated by the source"},
    "naslib": {"repository": "github.com/automl/NASLib", "licence": "Apache-2.0"},
}


def import_table(source: Path, *, split: str = "test", zero_cost: bool = True) -> TableData:
    """Import an NB101 JSON-lines sample.

    Args:
        source: the ``.jsonl`` file, or a folder holding exactly one.
        split: which split the file's accuracy is on; it names the metric
            ``<split>_acc_mean``. The default ``"test"`` is what the data show
            for GenNAS-Zero's sample: every value is a multiple of 1/29,952
            (a mean of three evaluations on 9,984 images), its maximum is
            94.02% over 2,500 cells where NB101's best mean test accuracy is
            94.32% (validation 95.06%), and its upper quantiles lie 0.6 to 1.0
            points below single-run validation accuracies of random cells.
        zero_cost: add NASLib zero-cost proxies from ``nb101_zero_cost_*.json``
            next to the file, when present, for the cells it shares with it.

    Raises:
        ImportSourceError: no such file, a line that is not a JSON object with
            ``adjacency``, ``ops`` and a numeric ``accuracy`` (the message gives
            the line number), or two lines with the same cell hash (naming both).
        MalformedArchError: a cell the NB101 space rejects (with its line number).
    """
    if split not in _SPLIT_TEXT:
        raise ValueError(f"split must be one of {sorted(_SPLIT_TEXT)}, got {split!r}")
    path = _jsonl_path(Path(source))
    space = spaces.get("nb101")
    keys, accuracy, first_line = [], [], {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        cell, value = _parse_line(line, number, path)
        try:
            key = space.key(cell)
        except MalformedArchError as exc:
            reason = f"{exc.reason} (line {number} of {path.name})"
            raise type(exc)(exc.space, cell, reason) from None
        if key in first_line:
            raise ImportSourceError(
                path, f"line {number}: the same cell (hash {key}) as line {first_line[key]}; a table holds "
                "one entry per cell, so merge or drop one of them"
            )  # fmt: skip
        first_line[key] = number
        keys.append(key)
        accuracy.append(value)
    if not keys:
        raise ImportSourceError(path, "no cells in the file")
    metric = f"{split}_acc_mean"
    per_arch = {metric: np.asarray(accuracy, dtype=np.float64) * 100.0}
    metrics = {
        metric: MetricInfo(
            "%",
            f"mean over NB101's three 108-epoch runs of the accuracy on {_SPLIT_TEXT[split]}, "
            "as the source reports it (fraction x 100)",
        )
    }
    provenance: dict[str, Any] = {
        "benchmark": "NAS-Bench-101 (Ying et al., ICML 2019), github.com/google-research/nasbench "
        "(Apache-2.0)",
        "sources": [{"file": path.name, **_SOURCES["sample"], "metrics": [metric]}],
        "time_hardware": {},
        "notes": [f"the split ({split}) is inferred from the values; see docs/importers.md"],
    }
    if zero_cost:
        _add_zero_cost(path.parent, keys, per_arch, metrics, provenance)
    table = TableData(
        space="nb101",
        keys=keys,
        datasets={
            DATASET: DatasetData(
                seeds=np.zeros(0, dtype=np.int64),
                present=np.zeros((len(keys), 0), dtype=bool),
                per_arch=per_arch,
                metrics=metrics,
                protocol=_PROTOCOL,
                provenance=provenance,
            )
        },
        description=f"NAS-Bench-101 sample of {len(keys)} cells from {path.name} (one seed-mean accuracy "
        "each)",
    )
    table.check()
    return table


def _jsonl_path(source: Path) -> Path:
    if source.is_dir():
        found = sorted(source.glob("*.jsonl"))
        if len(found) != 1:
            raise ImportSourceError(
                source, f"expected exactly one .jsonl file in the folder, found {[p.name for p in found]}"
            )
        return found[0]
    if not source.is_file():
        raise ImportSourceError(source, "no such file or folder")
    return source


def _parse_line(line: str, number: int, path: Path) -> tuple[dict[str, Any], float]:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ImportSourceError(path, f"line {number}: not valid JSON ({exc})") from None
    if not isinstance(obj, dict) or not {"adjacency", "ops", "accuracy"} <= set(obj):
        raise ImportSourceError(path, f"line {number}: expected an object with adjacency, ops and accuracy")
    value = obj["accuracy"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ImportSourceError(path, f"line {number}: accuracy {value!r} is not a fraction in [0, 1]")
    return {"adjacency": obj["adjacency"], "ops": obj["ops"]}, float(value)


def _add_zero_cost(
    folder: Path,
    keys: list[str],
    per_arch: dict[str, np.ndarray],
    metrics: dict[str, MetricInfo],
    provenance: dict[str, Any],
) -> None:
    files = sorted(folder.glob("nb101_zero_cost_*.json"))
    if not files:
        provenance["notes"].append("no nb101_zero_cost_*.json beside the file; no zero-cost proxies")
        return
    path = files[0]
    try:
        block = json.loads(path.read_text())["nasbench101"][DATASET]
        entries = [(ast.literal_eval(k), v) for k, v in sorted(block.items())]
    except (ValueError, KeyError, TypeError, SyntaxError) as exc:
        raise ImportSourceError(path, f"not the NASLib zero-cost layout ({exc})") from None
    space = spaces.get("nb101")
    row_of = {k: i for i, k in enumerate(keys)}
    by_row: dict[int, list[dict[str, Any]]] = {}
    for key, values in entries:
        if not (isinstance(key, tuple) and len(key) == 56 and isinstance(values, dict)):
            raise ImportSourceError(path, f"entry {key!r}: expected 49 adjacency bits then 7 op codes")
        matrix = [list(key[r * 7 : r * 7 + 7]) for r in range(7)]
        try:
            cell = {"adjacency": matrix, "ops": [NASLIB_OPS[c] for c in key[49:]]}
            row = row_of.get(space.key(cell))
        except (IndexError, TypeError, MalformedArchError) as exc:
            raise ImportSourceError(path, f"entry {key!r}: not an NB101 cell ({exc})") from None
        if row is not None:
            by_row.setdefault(row, []).append(values)
    # NASLib lists isomorphic cells separately, each with its own measurement; such
    # a cell gets no value rather than an arbitrary pick of the disagreeing ones.
    clash = {r for r, found in by_row.items() if any(f != found[0] for f in found)}
    names = sorted({c for found in by_row.values() for f in found for c in f} - {"val_accuracy"})
    for column in names:
        metric = {"flops": "flops_m", "params": "params_m"}.get(column, f"zc_{column}")
        values = np.full(len(keys), np.nan)
        for row, found in by_row.items():
            if row not in clash:
                values[row] = float(found[0].get(column, np.nan))
        per_arch[metric], _ = sentinel_to_nan(values)
        metrics[metric] = {
            "flops_m": MetricInfo("MFLOPs", "millions of FLOPs of one forward pass (NASLib)"),
            "params_m": MetricInfo("M", "millions of parameters (NASLib)"),
        }.get(metric, MetricInfo("", f"zero-cost proxy '{column}' at initialisation (NASLib); -1e8 -> NaN"))
    provenance["sources"].append(
        {"file": path.name, **_SOURCES["naslib"], "metrics": sorted(metrics), "cells": len(by_row)}
    )
    provenance["notes"].append(
        f"{path.name}: {len(entries)} entries, {len(by_row)} of them cells of this table"
        + (f"; {len(clash)} cells listed several times with different values left NaN" if clash else "")
    )
