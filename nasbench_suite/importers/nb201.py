"""Importer for the normalised NAS-Bench-201 folder (``shared/data/nb201`` layout).

One table, space ``nb201``, keys = the architecture strings in official
NATS-Bench index order (key ``i`` is index ``i``, also stored as the static
``nats_index``). Files, all CSV unless said (see docs/importers.md):

- ``nb201_per_seed.csv`` (required): per (arch, dataset, seed) the 200-epoch
  accuracy (``valid_acc`` on x-valid for cifar10-valid, ``test_acc`` on
  ori-test for cifar100 / ImageNet16-120), ``train_time_s``; ``params_m_published``.
- then (``_nb201_flags.py``): counted ``params_m``/``flops_m``, derived ``xtest_acc``,
  the ``suspect`` flag and ``seed_acc_shared``.
- ``nb201_valid_mean.csv``: ``valid_acc_mean`` per (arch, dataset).
- ``nb201_hwnasbench_<dataset>.csv``: ``hw_<column>`` per (arch, dataset).
- ``nb201_zero_cost_<dataset>.csv``: ``zc_<proxy>`` and ``flops_m``.
- ``nb201_zero_cost_491_naslib.json``: ``zc_<proxy>`` and ``flops_m`` for
  datasets without a zero-cost CSV (cifar100), see :func:`import_table`.
- ``nb201_latency_ms.csv``: table-wide ``latency_ms_<device>``.

The optional files may be absent; what was used and what was missing is
recorded in the provenance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_suite import spaces
from nasbench_suite.errors import ImportSourceError, MalformedArchError
from nasbench_suite.importers._common import float_column, read_csv, require_dir
from nasbench_suite.importers._nb201_flags import add_counts_and_flags
from nasbench_suite.importers._nb201_meta import BENCHMARK_ORIGIN, SOURCES, SPLITS, TRAIN_HARDWARE, protocol
from nasbench_suite.importers._nb201_side import (
    PER_SEED,
    TEXT_COLUMNS,
    Archs,
    add_hw,
    add_latency,
    add_naslib,
    add_valid_mean,
    add_zero_cost_csv,
)
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

_PER_SEED_COLUMNS = (
    "index",
    "arch",
    "dataset",
    "seed",
    "epochs",
    "split",
    "accuracy",
    "train_time_s",
    "params_mb",
)


def import_table(source: Path, *, naslib_fill: bool = False) -> TableData:
    """Import the NB201 folder into one table.

    Args:
        source: the folder holding ``nb201_per_seed.csv`` and the optional files.
        naslib_fill: also use the NASLib JSON proxies for datasets that have a
            zero-cost CSV, on the architectures that CSV lacks. Off by default:
            where both files cover an architecture their proxy values disagree
            (a different measurement), so mixing them would make one column
            hold two measurements. Datasets without a CSV always use the JSON.

    Returns:
        TableData with N = the architectures of the per-seed file, datasets as
        named there (seeds sorted, ``present`` False for seeds not run).

    Raises:
        ImportSourceError: missing folder or per-seed file, a missing column,
            a value that is not a number, duplicated rows, or side files whose
            index/string pairs disagree with the per-seed file.
    """
    folder = require_dir(source, f"the NB201 folder holding {PER_SEED}")
    path = folder / PER_SEED
    frame = read_csv(
        path, _PER_SEED_COLUMNS, {"index": "int64", "seed": "int64", "epochs": "int64", **TEXT_COLUMNS}
    )
    for column in ("accuracy", "train_time_s", "params_mb"):
        frame[column] = float_column(frame, column, path)
    archs = _archs_from_per_seed(frame, path)
    absent: list[str] = []
    datasets = {
        name: _per_seed_dataset(name, frame[frame["dataset"] == name], path, archs)
        for name in sorted(frame["dataset"].unique())
    }
    add_valid_mean(folder, archs, datasets, absent)
    csv_rows: dict[str, np.ndarray] = {}
    for name in sorted(datasets):
        add_hw(folder, name, archs, datasets[name], absent)
        rows = add_zero_cost_csv(folder, name, archs, datasets[name], absent)
        if rows is not None:
            csv_rows[name] = rows
    add_naslib(folder, archs, datasets, csv_rows, naslib_fill, absent)
    add_counts_and_flags(archs, datasets)
    static, static_metrics, static_provenance = add_latency(folder, archs, absent)
    for ds in datasets.values():
        ds.provenance["files_absent"] = sorted(absent)
    table = TableData(
        space="nb201",
        keys=archs.keys,
        datasets=datasets,
        static=static,
        static_metrics=static_metrics,
        static_provenance=static_provenance,
        description=f"NAS-Bench-201 / NATS-Bench topology space, imported from {folder.name}/ ({PER_SEED} "
        "and side files); see each dataset's provenance.",
    )
    table.check()
    return table


def _archs_from_per_seed(frame: pd.DataFrame, path: Path) -> Archs:
    dup = frame.duplicated(["index", "dataset", "seed"]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        r = frame.iloc[i]
        raise ImportSourceError(
            path, f"data row {i + 1}: (index {r['index']}, {r['dataset']}, seed {r['seed']}) appears twice"
        )
    pairs = frame[["index", "arch"]].drop_duplicates().sort_values("index", kind="stable")
    for column, other in (("index", "arch"), ("arch", "index")):
        clash = pairs[column].duplicated(keep=False).to_numpy()
        if clash.any():
            shown = pairs[clash].head(2)
            raise ImportSourceError(
                path, f"{column} {shown[column].iloc[0]!r} has two {other} values: {list(shown[other])}"
            )
    space = spaces.get("nb201")
    texts = pairs["arch"].to_numpy(dtype=object)
    keys = []
    for text in texts:
        try:
            keys.append(space.key(text))
        except MalformedArchError as exc:
            raise ImportSourceError(path, str(exc)) from exc
    return Archs(pairs["index"].to_numpy(dtype=np.int64), texts, keys)


def _per_seed_dataset(name: str, sub: pd.DataFrame, path: Path, archs: Archs) -> DatasetData:
    splits = sorted(sub["split"].unique())
    epochs = sorted(int(e) for e in sub["epochs"].unique())
    if len(splits) != 1 or splits[0] not in SPLITS:
        raise ImportSourceError(
            path, f"dataset {name!r}: expected one split of {sorted(SPLITS)}, found {splits}"
        )
    if len(epochs) != 1:
        raise ImportSourceError(path, f"dataset {name!r}: rows from several budgets (epochs {epochs})")
    split = splits[0]
    prefix, split_text = SPLITS[split]
    n = len(archs.keys)
    seeds = np.unique(sub["seed"].to_numpy(dtype=np.int64))
    rows = archs.pos.get_indexer(sub["index"].to_numpy())
    cols = np.searchsorted(seeds, sub["seed"].to_numpy(dtype=np.int64))
    present = np.zeros((n, len(seeds)), dtype=bool)
    present[rows, cols] = True
    per_seed = {}
    for metric, column in ((f"{prefix}_acc", "accuracy"), ("train_time_s", "train_time_s")):
        values = np.full((n, len(seeds)), np.nan)
        values[rows, cols] = sub[column].to_numpy(dtype=np.float64)
        per_seed[metric] = values
    spread = sub.groupby("index")["params_mb"].nunique(dropna=False)
    if (spread > 1).any():
        raise ImportSourceError(
            path, f"dataset {name!r}: params_mb differs between seeds of index {int(spread.idxmax())}"
        )
    params = np.full(n, np.nan)
    params[rows] = sub["params_mb"].to_numpy(dtype=np.float64)
    metrics = {
        f"{prefix}_acc": MetricInfo("%", f"top-1 accuracy after {epochs[0]} epochs on {split_text}"),
        "train_time_s": MetricInfo(
            "s",
            f"training time of the run: the sum of the {epochs[0]} per-epoch training times as the benchmark "
            "reports them (its files hold one estimated per-epoch time, repeated)",
        ),
        "params_m": MetricInfo(
            "M",
            "millions of parameters of this dataset's network (the classifier "
            "depends on the number of classes); the benchmark's 'params' (MB)",
        ),
    }
    return DatasetData(
        seeds=seeds,
        present=present,
        per_seed=per_seed,
        per_arch={"params_m": params},
        metrics=metrics,
        protocol={**protocol(name, epochs[0]), "eval_splits": [split]},
        provenance={
            "benchmark": BENCHMARK_ORIGIN,
            "sources": [{"file": PER_SEED, **SOURCES["per_seed"], "metrics": sorted(metrics)}],
            "time_hardware": {"train_time_s": TRAIN_HARDWARE},
            "notes": [],
        },
    )
