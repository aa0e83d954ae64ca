"""Finished runs -> table entries (torch-free): the arrays, units and provenance a run adds.

Per run (arch, seed) the table gets the final ``train/valid/test`` loss and
accuracy, ``train_time_s`` (sum of epoch training times), ``eval_time_s`` and
``hardware_id``; per epoch the same metrics as curves (NaN where a protocol did
not evaluate) and ``epoch_train_time_s``; per architecture ``params_m`` and
``flops_m`` of the trained network. The dataset's ``protocol`` is the protocol
dict with its hash, so every entry of a dataset carries that hash and an append
with another protocol is refused by the table.

``hardware_id`` is a 48-bit BLAKE2b of the hardware description (exact in a
float64); the description itself is stored in the table's static provenance
under ``trainer_hardware/<id>``, which every append extends.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import spaces
from nasbench_suite.tabular import Table, append_table, write_table
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData
from nasbench_suite.train.errors import TrainConfigError
from nasbench_suite.train.protocols import Protocol

_SPLIT_INFO = {
    "train_loss": MetricInfo("nats", "mean cross-entropy over the last training epoch (augmented data)"),
    "train_acc": MetricInfo("%", "training accuracy over the last epoch (augmented data)"),
    "valid_loss": MetricInfo("nats", "cross-entropy on the validation split"),
    "valid_acc": MetricInfo("%", "accuracy on the validation split"),
    "test_loss": MetricInfo("nats", "cross-entropy on the test set"),
    "test_acc": MetricInfo("%", "accuracy on the test set"),
}
PER_SEED_INFO = {
    **_SPLIT_INFO,
    "train_time_s": MetricInfo(
        "s",
        "training time summed over epochs: CPU time of a one-thread CPU run (its wall time on an idle "
        "core), else wall-clock (hardware_id says where)",
    ),
    "eval_time_s": MetricInfo("s", "time of all validation and test evaluations (clock as train_time_s)"),
    "hardware_id": MetricInfo("id", "48-bit hash of the hardware; static provenance trainer_hardware/<id>"),
}
CURVE_INFO = {
    **{k: MetricInfo(v.unit, v.description + ", per epoch") for k, v in _SPLIT_INFO.items()},
    "epoch_train_time_s": MetricInfo("s", "training time of each epoch (clock as train_time_s)"),
}
PER_ARCH_INFO = {
    "params_m": MetricInfo("M", "parameters of the trained network, millions"),
    "flops_m": MetricInfo("MFLOPs", "FLOPs of one forward pass of one image, millions"),
}


def hardware_id(description: str) -> int:
    """48-bit id of a hardware description (exactly representable as float64)."""
    return int.from_bytes(hashlib.blake2b(description.encode(), digest_size=6).digest(), "big")


def records_to_table(
    space: str, dataset: str, protocol: Protocol, records: list[dict[str, Any]], data_source: str
) -> TableData:
    """A TableData holding the runs of ``records`` (journal records of one dataset and protocol)."""
    space_obj = spaces.get(space)
    keys = list(dict.fromkeys(r["key"] for r in records))
    seeds = np.array(sorted({int(r["seed"]) for r in records}), dtype=np.int64)
    row = {k: i for i, k in enumerate(keys)}
    col = {int(s): j for j, s in enumerate(seeds)}
    n, s, e = len(keys), len(seeds), protocol.epochs
    present = np.zeros((n, s), dtype=bool)
    per_seed = {m: np.full((n, s), np.nan) for m in PER_SEED_INFO}
    curves = {m: np.full((n, s, e), np.nan) for m in CURVE_INFO}
    per_arch = {m: np.full(n, np.nan) for m in PER_ARCH_INFO}
    hardware: dict[str, str] = {}
    for r in records:
        i, j = row[r["key"]], col[int(r["seed"])]
        result = r["result"]
        present[i, j] = True
        for m in PER_SEED_INFO:
            if m != "hardware_id":
                per_seed[m][i, j] = _num(result["final"][m])
        hw = hardware_id(result["hardware"])
        hardware[f"trainer_hardware/{hw}"] = result["hardware"]
        per_seed["hardware_id"][i, j] = float(hw)
        for m in CURVE_INFO:
            curves[m][i, j] = [_num(v) for v in result["curves"][m]]
        per_arch["params_m"][i] = result["params"] / 1e6
        per_arch["flops_m"][i] = result["flops"] / 1e6
    ds = DatasetData(
        seeds=seeds,
        present=present,
        per_seed=per_seed,
        curves=curves,
        epochs=np.arange(1, e + 1, dtype=np.int64),
        per_arch=per_arch,
        metrics={**PER_SEED_INFO, **CURVE_INFO, **PER_ARCH_INFO},
        protocol=protocol.to_dict(),
        provenance={
            "source": "nasbench-suite trainer",
            "data": data_source,
            "time_hardware": (
                "per run: column hardware_id, descriptions in static provenance trainer_hardware/<id>"
            ),
            "protocol_hash": protocol.hash,
        },
    )
    return TableData(
        space=space,
        space_config=space_obj.config(),
        keys=keys,
        datasets={dataset: ds},
        static_provenance=hardware,
        description="architectures trained by nasbench-suite",
    )


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def stored_runs(table: Path, space: str, dataset: str, protocol: Protocol) -> set[tuple[str, int]]:
    """(key, seed) of the runs ``table`` already holds for ``dataset``; empty if there is no table.

    Raises:
        TrainConfigError: the table is of another space, or holds ``dataset`` under another protocol.
    """
    if not table.exists():
        return set()
    with Table(table) as t:
        if t.space != space:
            raise TrainConfigError(f"{table}: a table of space {t.space!r}, not {space!r}")
        if dataset not in t.datasets:
            return set()
        info = t.dataset(dataset)
        stored_hash = info.protocol.get("hash")
        if stored_hash != protocol.hash:
            raise TrainConfigError(
                f"{table}: dataset {dataset!r} was trained with protocol hash {stored_hash!r},"
                f" not {protocol.hash!r} ({protocol.name}); choose another --table-dataset"
            )
        present = t.present(dataset)
        return {(t.keys[i], int(info.seeds[j])) for i, j in zip(*np.nonzero(present))}


def flush(table: Path, data: TableData) -> None:
    """Add ``data`` to ``table`` through the table's crash-safe writer (creating the table if absent)."""
    if table.exists():
        append_table(table, data)
    else:
        write_table(table, data)
