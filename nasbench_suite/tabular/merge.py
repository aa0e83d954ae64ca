"""Merging new entries into a table (the content side of an append).

Rules: the space must match; new architectures are added after the old ones in
the order given; new datasets, seeds and metrics are added, with NaN (missing)
wherever the other side has no value; a run (arch, dataset, seed) stored on both
sides is a duplicate and raises; a per-arch or static value stored on both sides
must be equal; a dataset's protocol and curve epochs must agree.
"""

from __future__ import annotations

import numpy as np

from nasbench_suite.errors import NasbenchError
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData


class TableMergeError(NasbenchError, ValueError):
    """New entries conflict with the table (duplicate run, different value or protocol)."""


def merge_tables(old: TableData, new: TableData) -> TableData:
    """A new TableData holding the entries of ``old`` and ``new``.

    Raises:
        TableMergeError: naming the conflicting entry.
    """
    check_merge(old, new)
    index = {k: i for i, k in enumerate(old.keys)}
    keys = list(old.keys) + [k for k in new.keys if k not in index]
    for k in keys[len(old.keys) :]:
        index[k] = len(index)
    rows = np.array([index[k] for k in new.keys], dtype=np.int64)
    n = len(keys)

    static = {name: _grow(arr, n) for name, arr in old.static.items()}
    static_metrics = dict(old.static_metrics)
    for name, values in new.static.items():
        static_metrics.setdefault(name, new.static_metrics[name])
        fill_values(static.setdefault(name, np.full(n, np.nan)), rows, values)

    datasets = {name: _grow_dataset(ds, n) for name, ds in old.datasets.items()}
    for ds_name, ds_new in new.datasets.items():
        if ds_name in datasets:
            datasets[ds_name] = _merge_dataset(datasets[ds_name], ds_new, rows)
        else:
            datasets[ds_name] = _scatter_dataset(ds_new, rows, n)

    provenance = dict(old.static_provenance)
    provenance.update(new.static_provenance)
    return TableData(
        space=old.space,
        space_config=old.space_config,
        keys=keys,
        datasets=datasets,
        static=static,
        static_metrics=static_metrics,
        static_provenance=provenance,
        description=old.description or new.description,
    )


def _grow(arr: np.ndarray, n: int, fill: float | bool = np.nan) -> np.ndarray:
    out = np.full((n,) + arr.shape[1:], fill, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


def _grow_dataset(ds: DatasetData, n: int) -> DatasetData:
    return DatasetData(
        seeds=ds.seeds.copy(),
        present=_grow(ds.present, n, False),
        per_seed={k: _grow(v, n) for k, v in ds.per_seed.items()},
        curves={k: _grow(v, n) for k, v in ds.curves.items()},
        epochs=ds.epochs.copy(),
        per_arch={k: _grow(v, n) for k, v in ds.per_arch.items()},
        metrics=dict(ds.metrics),
        protocol=ds.protocol,
        provenance=ds.provenance,
    )


def _scatter_dataset(ds: DatasetData, rows: np.ndarray, n: int) -> DatasetData:
    empty = DatasetData(
        seeds=ds.seeds.copy(),
        present=np.zeros((n, len(ds.seeds)), dtype=bool),
        epochs=ds.epochs.copy(),
        metrics=dict(ds.metrics),
        protocol=ds.protocol,
        provenance=ds.provenance,
    )
    empty.present[rows] = ds.present
    for kind in ("per_seed", "curves", "per_arch"):
        for name, values in getattr(ds, kind).items():
            target = np.full((n,) + values.shape[1:], np.nan)
            target[rows] = values
            getattr(empty, kind)[name] = target
    return empty


def _merge_dataset(old: DatasetData, new: DatasetData, rows: np.ndarray) -> DatasetData:
    n = old.present.shape[0]
    seeds = np.union1d(old.seeds, new.seeds).astype(np.int64)
    old_cols = np.searchsorted(seeds, old.seeds)
    new_cols = np.searchsorted(seeds, new.seeds)
    epochs = old.epochs if len(old.epochs) else new.epochs
    present = np.zeros((n, len(seeds)), dtype=bool)
    present[:, old_cols] = old.present
    present[np.ix_(rows, new_cols)] |= new.present
    merged = DatasetData(
        seeds=seeds,
        present=present,
        epochs=np.asarray(epochs, dtype=np.int64),
        metrics=dict(old.metrics),
        protocol=old.protocol or new.protocol,
        provenance=old.provenance or new.provenance,
    )
    for metric, info in new.metrics.items():
        merged.metrics.setdefault(metric, info)
    for kind in ("per_seed", "curves"):
        old_arrays, new_arrays = getattr(old, kind), getattr(new, kind)
        tail = (len(epochs),) if kind == "curves" else ()
        for metric in sorted(set(old_arrays) | set(new_arrays)):
            target = np.full((n, len(seeds)) + tail, np.nan)
            if metric in old_arrays:
                target[:, old_cols] = old_arrays[metric]
            if metric in new_arrays:
                scatter_runs(target, rows, new_cols, new.present, new_arrays[metric])
            getattr(merged, kind)[metric] = target
    merged.per_arch = {k: v.copy() for k, v in old.per_arch.items()}
    for metric, values in new.per_arch.items():
        fill_values(merged.per_arch.setdefault(metric, np.full(n, np.nan)), rows, values)
    return merged


def fill_values(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """Seed-independent values at ``rows``: a new value fills a missing one (a stored one is
    equal, :func:`check_merge` saw to it)."""
    target[rows] = np.where(np.isnan(values), target[rows], values)


def scatter_runs(
    target: np.ndarray, rows: np.ndarray, cols: np.ndarray, present: np.ndarray, values: np.ndarray
) -> None:
    """Per-seed values or curves of the runs ``present`` says exist, at ``rows`` x ``cols`` of
    ``target`` (a run is stored once, so nothing is overwritten; absent runs stay as they are)."""
    block = target[np.ix_(rows, cols)]
    mask = present.reshape(present.shape + (1,) * (values.ndim - 2))
    target[np.ix_(rows, cols)] = np.where(mask, values, block)


def check_merge(old: TableData, new: TableData) -> None:
    """Raise what :func:`merge_tables` would refuse, without building the merged arrays.

    Of ``old`` it reads the keys, the seeds, ``present``, epochs, protocols, units and the
    seed-independent values (per-arch and static), never the per-seed values or curves, so an
    append checks a large table by reading its small arrays only.

    Raises:
        TableMergeError: naming the conflicting entry.
    """
    if (old.space, old.space_config) != (new.space, new.space_config):
        raise TableMergeError(
            f"cannot append {new.space!r} architectures to a table of space {old.space!r}"
            f" (config {old.space_config} vs {new.space_config})"
        )
    index = {k: i for i, k in enumerate(old.keys)}
    known = np.array([i for i, k in enumerate(new.keys) if k in index], dtype=np.int64)
    old_rows = np.array([index[new.keys[i]] for i in known], dtype=np.int64)
    for name, values in new.static.items():
        _same_info(old.static_metrics.get(name), new.static_metrics[name], f"static/{name}")
        if name in old.static:
            _check_equal(
                old.static[name][old_rows], values[known], f"static metric {name!r}", new.keys, known
            )
    for ds_name, ds in new.datasets.items():
        if ds_name in old.datasets:
            _check_dataset(ds_name, old.datasets[ds_name], ds, known, old_rows, new.keys)


def _check_dataset(
    name: str, old: DatasetData, new: DatasetData, known: np.ndarray, old_rows: np.ndarray, keys: list[str]
) -> None:
    if new.protocol and old.protocol and new.protocol != old.protocol:
        raise TableMergeError(f"dataset {name!r}: the new entries were trained with another protocol")
    if new.curves and old.curves and not np.array_equal(new.epochs, old.epochs):
        raise TableMergeError(f"dataset {name!r}: curve epochs differ from the stored ones")
    common = np.isin(new.seeds, old.seeds)
    if common.any() and len(known):
        old_idx = np.searchsorted(old.seeds, new.seeds[common])
        clash = old.present[np.ix_(old_rows, old_idx)] & new.present[np.ix_(known, np.flatnonzero(common))]
        if clash.any():
            r, c = map(int, np.argwhere(clash)[0])
            raise TableMergeError(
                f"dataset {name!r}: run of {keys[known[r]]!r} with seed {int(new.seeds[common][c])}"
                " is already stored"
            )
    for metric, info in new.metrics.items():
        _same_info(old.metrics.get(metric), info, f"{name}/{metric}")
    for metric, values in new.per_arch.items():
        if metric in old.per_arch:
            what = f"{name} per-arch metric {metric!r}"
            _check_equal(old.per_arch[metric][old_rows], values[known], what, keys, known)


def _check_equal(
    current: np.ndarray, values: np.ndarray, what: str, keys: list[str], known: np.ndarray
) -> None:
    conflict = ~np.isnan(current) & ~np.isnan(values) & (current != values)
    if conflict.any():
        i = int(np.flatnonzero(conflict)[0])
        raise TableMergeError(
            f"{what} of {keys[known[i]]!r}: stored {float(current[i])!r}, new {float(values[i])!r}"
        )


def _same_info(old: MetricInfo | None, new: MetricInfo, what: str) -> None:
    if old is not None and old.unit != new.unit:
        raise TableMergeError(f"{what}: unit {new.unit!r} differs from the stored unit {old.unit!r}")
