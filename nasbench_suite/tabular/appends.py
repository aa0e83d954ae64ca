"""What an append to a format-2 table adds: a part holding the new entries, and the table
manifest as it stands after them (:mod:`nasbench_suite.tabular.parts` frames both).

The append is checked against the table with :func:`~nasbench_suite.tabular.merge.check_merge`
on its small arrays only (keys, ``present``, seed-independent values), and the new manifest's
counts (architectures, classes, runs, missing values) are worked out from those and the new
entries, so an append reads no per-seed value or curve of the table and writes only the new part.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_suite._version import __version__
from nasbench_suite.tabular import layout
from nasbench_suite.tabular.image import metric_info
from nasbench_suite.tabular.merge import check_merge
from nasbench_suite.tabular.model import DatasetData, TableData
from nasbench_suite.tabular.reader import Table


def light_data(table: Table, new: TableData) -> TableData:
    """The table as far as appending ``new`` needs it: keys, and of the datasets and metrics
    ``new`` touches the seeds, ``present`` and the seed-independent values. Per-seed values and
    curves are zero-byte placeholders of the right shape (``check_merge`` never reads them)."""
    m = table.manifest
    light = TableData(
        space=table.space,
        space_config=table.space_config,
        keys=table.keys,
        static={k: table.static(k, cache=False) for k in new.static if k in m["static"]},
        static_metrics={k: metric_info(v) for k, v in m["static"].items()},
    )
    n = table.n_archs
    for name in sorted(set(new.datasets) & set(table.datasets)):
        info = table.dataset(name)
        s, e = len(info.seeds), len(info.epochs)
        light.datasets[name] = DatasetData(
            seeds=np.array(info.seeds, dtype=np.int64),
            present=table.present(name, cache=False),
            epochs=np.array(info.epochs, dtype=np.int64),
            per_seed={k: np.broadcast_to(np.nan, (n, s)) for k in info.per_seed},
            curves={k: np.broadcast_to(np.nan, (n, s, e)) for k in info.curves},
            per_arch={
                k: table.metric(name, k, "per_arch", cache=False)
                for k in new.datasets[name].per_arch
                if k in info.per_arch
            },
            metrics={
                k: metric_info(v)
                for kind in layout.DATASET_KINDS
                for k, v in m["datasets"][name][kind].items()
            },
            protocol=info.protocol,
        )
    check_merge(light, new)
    return light


def next_manifest(
    table: Table, light: TableData, new: TableData, part: dict[str, Any], n_canonical: int
) -> dict[str, Any]:
    """The table manifest after appending ``new`` (whose part has the manifest ``part``)."""
    old = table.manifest
    if table.commit is None:
        raise ValueError("a format-1 table is rewritten whole, not appended to")
    n_old = table.n_archs
    index = table.row_of
    n_new = sum(k not in index for k in new.keys)
    n = n_old + n_new
    # Row of each new entry in the old table, -1 for a new architecture.
    old_rows = np.array([index.get(k, -1) for k in new.keys], dtype=np.int64)
    parts = [*old["parts"], {**old["last"], "offset": table.commit.offset, "length": table.commit.length}]
    out: dict[str, Any] = {
        **old,
        "written_by": f"nasbench-suite {__version__}",
        "description": old["description"] or new.description,
        "n_archs": n,
        "n_canonical": n_canonical,
        "parts": parts,
        "last": {"manifest": layout.json_checksum(part), "n_archs": n_new},
        "static_provenance": {**old["static_provenance"], **new.static_provenance},
        "static": _grown(old["static"], n_new),
        "datasets": {},
    }
    for name, values in new.static.items():
        meta = out["static"].setdefault(name, {**_summary(part["static"][name]), "n_missing": n})
        meta["n_missing"] -= _filled(light.static.get(name), old_rows, values)
    for name, entry in old["datasets"].items():
        s = len(entry["seeds"])
        grown = {
            "per_seed": n_new * s,
            "curves": n_new * s * len(entry["epochs"]),
            "per_arch": n_new,
        }
        out["datasets"][name] = {
            **entry,
            **{kind: _grown(entry[kind], grown[kind]) for kind in layout.DATASET_KINDS},
        }
    for name, ds in new.datasets.items():
        entry = out["datasets"].get(name)
        if entry is None:
            entry = out["datasets"][name] = {
                "seeds": [],
                "epochs": [],
                "n_runs": 0,
                "protocol": {},
                "provenance": {},
                **{kind: {} for kind in layout.DATASET_KINDS},
            }
        _add_dataset(entry, ds, part["datasets"][name], light.datasets.get(name), old_rows, n)
    return out


def _add_dataset(
    entry: dict[str, Any],
    ds: DatasetData,
    part: dict[str, Any],
    light: DatasetData | None,
    old_rows: np.ndarray,
    n: int,
) -> None:
    """``entry`` (already grown to ``n`` rows) with the runs and values of ``ds`` added."""
    seeds = sorted(set(entry["seeds"]) | set(ds.seeds.tolist()))
    epochs = entry["epochs"] or ds.epochs.tolist()
    s_old, s = len(entry["seeds"]), len(seeds)
    for kind, cells in (("per_seed", 1), ("curves", len(epochs))):
        for meta in entry[kind].values():
            meta["n_missing"] += n * (s - s_old) * cells  # the new seeds' columns, all missing
        for name, values in getattr(ds, kind).items():
            meta = entry[kind].setdefault(name, {**_summary(part[kind][name]), "n_missing": n * s * cells})
            mask = ds.present.reshape(ds.present.shape + (1,) * (values.ndim - 2))
            meta["n_missing"] -= int(np.count_nonzero(mask & ~np.isnan(values)))
    for name, values in ds.per_arch.items():
        meta = entry["per_arch"].setdefault(name, {**_summary(part["per_arch"][name]), "n_missing": n})
        meta["n_missing"] -= _filled(light.per_arch.get(name) if light else None, old_rows, values)
    entry.update(
        seeds=seeds,
        epochs=epochs,
        n_runs=entry["n_runs"] + int(ds.present.sum()),
        protocol=entry["protocol"] or ds.protocol,
        provenance=entry["provenance"] or ds.provenance,
    )


def _filled(stored: np.ndarray | None, old_rows: np.ndarray, values: np.ndarray) -> int:
    """How many missing seed-independent values ``values`` fills (a value already stored is equal)."""
    was_missing = np.ones(len(values), dtype=bool)
    if stored is not None:
        known = old_rows >= 0
        was_missing[known] = np.isnan(stored[old_rows[known]])
    return int(np.count_nonzero(was_missing & ~np.isnan(values)))


def _grown(metrics: dict[str, Any], cells: int) -> dict[str, Any]:
    return {k: {**v, "n_missing": v["n_missing"] + cells} for k, v in metrics.items()}


def _summary(meta: dict[str, Any]) -> dict[str, Any]:
    return {"unit": meta["unit"], "description": meta["description"], "n_missing": meta["n_missing"]}
