"""The side files of the NB201 folder: validation means, hardware metrics, zero-cost
proxies (CSV and NASLib JSON) and HELP latencies, added onto the datasets that
:mod:`nasbench_suite.importers.nb201` built from the per-seed file.

Every side file is matched to the table by its ``index`` and ``arch`` columns,
which must agree with the per-seed file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_suite.errors import ImportSourceError
from nasbench_suite.importers._common import float_column, read_csv, sentinel_to_nan
from nasbench_suite.importers._nb201_meta import (
    BENCHMARK_ORIGIN,
    FILE_DATASET,
    HW_DEVICES,
    NASLIB_OPS,
    SOURCES,
    help_device,
    hw_unit,
)
from nasbench_suite.tabular.model import DatasetData, MetricInfo

PER_SEED = "nb201_per_seed.csv"
VALID_MEAN = "nb201_valid_mean.csv"
LATENCY = "nb201_latency_ms.csv"
NASLIB_JSON = "nb201_zero_cost_491_naslib.json"
TEXT_COLUMNS = {"arch": str, "dataset": str, "split": str}
_NASLIB_KEY = re.compile(
    r"\(\s*([0-4])\s*,\s*([0-4])\s*,\s*([0-4])\s*,\s*([0-4])\s*,\s*([0-4])\s*,\s*([0-4])\s*\)"
)


class Archs:
    """The architectures of the table: official index, source string and stored key per row."""

    def __init__(self, index: np.ndarray, texts: np.ndarray, keys: list[str]):
        self.index = index
        self.texts = texts
        self.keys = keys
        self.pos = pd.Index(index)
        self.row_of_text = {t: i for i, t in enumerate(texts)}

    def rows(self, frame: pd.DataFrame, path: Path) -> np.ndarray:
        """Row of each line of ``frame`` (columns ``index``, ``arch``), checked against the per-seed file.

        Raises:
            ImportSourceError: unknown index, index/string mismatch, or an index listed twice.
        """
        idx = frame["index"].to_numpy()
        rows = self.pos.get_indexer(idx)
        line = frame.index.to_numpy() + 1

        def fail(at: np.ndarray, why: str) -> ImportSourceError:
            i = int(np.flatnonzero(at)[0])
            return ImportSourceError(path, f"data row {line[i]}: index {idx[i]} {why}")

        if (rows < 0).any():
            raise fail(rows < 0, f"is not in {PER_SEED}")
        texts = frame["arch"].to_numpy(dtype=object)
        wrong = texts != self.texts[rows]
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise fail(wrong, f"is {texts[i]!r} here but {self.texts[rows[i]]!r} in {PER_SEED}")
        dup = pd.Series(rows).duplicated().to_numpy()
        if dup.any():
            raise fail(dup, "appears more than once")
        return rows


def add_valid_mean(folder: Path, archs: Archs, datasets: dict[str, DatasetData], absent: list[str]) -> None:
    path = folder / VALID_MEAN
    if not path.is_file():
        absent.append(VALID_MEAN)
        return
    frame = read_csv(
        path, ("index", "arch", "dataset", "valid_accuracy_mean"), {"index": "int64", **TEXT_COLUMNS}
    )
    values_all = float_column(frame, "valid_accuracy_mean", path)
    for name in sorted(datasets):
        mask = (frame["dataset"] == name).to_numpy()
        if not mask.any():
            continue
        rows = archs.rows(frame[mask], path)
        values = np.full(len(archs.keys), np.nan)
        values[rows] = values_all[mask]
        ds = datasets[name]
        ds.per_arch["valid_acc_mean"] = values
        same = "valid_acc" in ds.per_seed
        ds.metrics["valid_acc_mean"] = MetricInfo(
            "%",
            "seed-mean accuracy on the x-valid split after 200 epochs, from an independent derivative of the "
            "benchmark (GenNAS-Zero); "
            + (
                "it may differ from the mean of valid_acc over seeds (another release of the benchmark file)"
                if same
                else "x-valid is one half of the test set, not the ori-test split of test_acc, so it is not "
                "the mean of test_acc"
            ),
        )
        ds.provenance["sources"].append(
            {"file": VALID_MEAN, **SOURCES["valid_mean"], "metrics": ["valid_acc_mean"]}
        )


def _file_tag(dataset: str) -> str:
    return {v: k for k, v in FILE_DATASET.items()}.get(dataset, dataset)


def add_hw(folder: Path, name: str, archs: Archs, ds: DatasetData, absent: list[str]) -> None:
    file = f"nb201_hwnasbench_{_file_tag(name)}.csv"
    if not (folder / file).is_file():
        absent.append(file)
        return
    frame = read_csv(folder / file, ("index", "arch"), {"index": "int64", "arch": str})
    rows = archs.rows(frame, folder / file)
    added = []
    for column in sorted(c for c in frame.columns if c not in ("index", "arch")):
        metric = f"hw_{column}"
        values = np.full(len(archs.keys), np.nan)
        values[rows] = float_column(frame, column, folder / file)
        device = HW_DEVICES.get(column.split("_")[0], column.split("_")[0])
        ds.per_arch[metric] = values
        ds.metrics[metric] = MetricInfo(
            hw_unit(column), f"HW-NAS-Bench '{column}' of this dataset's network on {device}"
        )
        if hw_unit(column) == "ms":
            ds.provenance["time_hardware"][metric] = f"{device} (HW-NAS-Bench)"
        added.append(metric)
    ds.provenance["sources"].append({"file": file, **SOURCES["hw"], "metrics": sorted(added)})


def add_zero_cost_csv(
    folder: Path, name: str, archs: Archs, ds: DatasetData, absent: list[str]
) -> np.ndarray | None:
    """Add ``zc_*`` and ``flops_m`` from the dataset's zero-cost CSV; returns the rows it covers."""
    file = f"nb201_zero_cost_{_file_tag(name)}.csv"
    path = folder / file
    if not path.is_file():
        absent.append(file)
        return None
    frame = read_csv(path, ("index", "arch", "flops", "params"), {"index": "int64", "arch": str})
    rows = archs.rows(frame, path)
    n = len(archs.keys)
    added, sentinels = [], 0
    for column in sorted(c for c in frame.columns if c not in ("index", "arch", "params")):
        values = np.full(n, np.nan)
        values[rows], hits = sentinel_to_nan(float_column(frame, column, path))
        sentinels += hits
        metric = "flops_m" if column == "flops" else f"zc_{column}"
        ds.per_arch[metric] = values
        ds.metrics[metric] = _zc_info(column)
        added.append(metric)
    ds.provenance["sources"].append({"file": file, **SOURCES["zero_cost"], "metrics": sorted(added)})
    _check_params(file, float_column(frame, "params", path), rows, ds)
    if sentinels:
        ds.provenance["notes"].append(f"{file}: {sentinels} values of -1e8 (failed proxy) stored as NaN")
    return rows


def _zc_info(column: str) -> MetricInfo:
    if column == "flops":
        return MetricInfo(
            "MFLOPs",
            "millions of floating-point operations of one forward pass of this dataset's "
            "network (zero-cost files' 'flops')",
        )
    return MetricInfo(
        "",
        f"zero-cost proxy '{column}' scored at initialisation (no training); -1e8 failure "
        "markers of the source are stored as NaN",
    )


def _check_params(file: str, params: np.ndarray, rows: np.ndarray, ds: DatasetData) -> None:
    # The proxies' own parameter count is the same quantity as params_m; it is checked, not stored.
    ours = ds.per_arch["params_m"][rows]
    differ = ~((params == ours) | (np.isnan(params) & np.isnan(ours)))
    if differ.any():
        worst = float(np.nanmax(np.abs(params - ours)))
        ds.provenance["notes"].append(
            f"{file}: 'params' differs from params_m for {int(differ.sum())} of {len(rows)} architectures "
            f"(max {worst:.6g} M); params_m (the benchmark's own value) is kept"
        )


def add_naslib(
    folder: Path,
    archs: Archs,
    datasets: dict[str, DatasetData],
    csv_rows: dict[str, np.ndarray],
    fill: bool,
    absent: list[str],
) -> None:
    path = folder / NASLIB_JSON
    if not path.is_file():
        absent.append(NASLIB_JSON)
        return
    try:
        raw = json.loads(path.read_text())
        blocks = raw["nasbench201"]
        if not isinstance(blocks, dict):
            raise TypeError("'nasbench201' is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise ImportSourceError(path, f"not the NASLib zero-cost layout ({exc})") from None
    for json_name in sorted(blocks):
        name = FILE_DATASET.get(json_name, json_name)
        if name in datasets:
            _naslib_dataset(path, blocks[json_name], archs, datasets[name], csv_rows.get(name), fill)


def _naslib_dataset(
    path: Path, block: Any, archs: Archs, ds: DatasetData, csv_rows: np.ndarray | None, fill: bool
) -> None:
    has_csv = csv_rows is not None
    if not isinstance(block, dict):
        raise ImportSourceError(path, "a dataset entry is not an object")
    if has_csv and not fill:
        ds.provenance["notes"].append(
            f"{NASLIB_JSON} not used for this dataset: its proxies disagree with the zero-cost CSV on the "
            "architectures both cover (another measurement); import with naslib_fill=True to fill the "
            "architectures the CSV lacks"
        )
        return
    rows, records = [], []
    for key in sorted(block):
        match = _NASLIB_KEY.fullmatch(key.strip())
        if match is None or not isinstance(block[key], dict):
            raise ImportSourceError(
                path, f"entry {key!r}: expected an op-id tuple of 6 ids 0..4 and an object"
            )
        o = [NASLIB_OPS[int(g)] for g in match.groups()]
        # NASLib orders edges (1,2)(1,3)(1,4)(2,3)(2,4)(3,4); the string orders them 0>1, 0>2, 1>2, 0>3, ...
        text = f"|{o[0]}~0|+|{o[1]}~0|{o[3]}~1|+|{o[2]}~0|{o[4]}~1|{o[5]}~2|"
        if text not in archs.row_of_text:
            raise ImportSourceError(path, f"entry {key!r} decodes to {text!r}, which is not in {PER_SEED}")
        rows.append(archs.row_of_text[text])
        records.append(block[key])
    taken = np.zeros(len(archs.keys), dtype=bool)
    if csv_rows is not None:
        taken[csv_rows] = True
    rows_arr = np.asarray(rows, dtype=np.int64)
    fresh = ~taken[rows_arr]
    names = sorted({c for r in records for c in r} - {"val_accuracy", "params"})
    sentinels, added = 0, []
    for column in names:
        try:
            got = np.array([float(r.get(column, np.nan)) for r in records])
        except (TypeError, ValueError):
            raise ImportSourceError(path, f"proxy {column!r} holds a value that is not a number") from None
        sentinels += int(np.sum(got[fresh] == -1e8))
        got, _ = sentinel_to_nan(got)
        metric = "flops_m" if column == "flops" else f"zc_{column}"
        values = ds.per_arch.setdefault(metric, np.full(len(archs.keys), np.nan))
        values[rows_arr[fresh]] = got[fresh]
        ds.metrics.setdefault(metric, _zc_info(column))
        added.append(metric)
    params = np.array([float(r.get("params", np.nan)) for r in records])
    _check_params(NASLIB_JSON, params, rows_arr, ds)
    ds.provenance["sources"].append(
        {
            "file": NASLIB_JSON,
            **SOURCES["naslib"],
            "metrics": sorted(added),
            "architectures": int(fresh.sum()),
            "filled_only_where_csv_lacks": has_csv,
        }
    )
    if sentinels:
        ds.provenance["notes"].append(
            f"{NASLIB_JSON}: {sentinels} values of -1e8 (failed proxy) stored as NaN"
        )


def add_latency(
    folder: Path, archs: Archs, absent: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, MetricInfo], dict[str, Any]]:
    static = {"nats_index": archs.index.astype(np.float64)}
    metrics = {"nats_index": MetricInfo("index", "official NATS-Bench topology index (0..15624) of the arch")}
    provenance: dict[str, Any] = {"benchmark": BENCHMARK_ORIGIN, "sources": [], "time_hardware": {}}
    path = folder / LATENCY
    if not path.is_file():
        absent.append(LATENCY)
        return static, metrics, provenance
    frame = read_csv(path, ("index", "arch"), {"index": "int64", "arch": str})
    rows = archs.rows(frame, path)
    added = []
    for device in sorted(c for c in frame.columns if c not in ("index", "arch")):
        metric = f"latency_ms_{device}"
        values = np.full(len(archs.keys), np.nan)
        values[rows] = float_column(frame, device, path)
        static[metric] = values
        metrics[metric] = MetricInfo("ms", f"inference latency on {help_device(device)} (HELP)")
        provenance["time_hardware"][metric] = help_device(device)
        added.append(metric)
    provenance["sources"].append({"file": LATENCY, **SOURCES["latency"], "metrics": sorted(added)})
    return static, metrics, provenance
