"""Full verification of a table file: every array against its checksum and the schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nasbench_suite.errors import NasbenchError, NotATableError, TableError, TableNotFoundError
from nasbench_suite.tabular import layout, schema
from nasbench_suite.tabular.image import TableImage
from nasbench_suite.tabular.reader import Table


def verify_table(path: str | Path) -> list[str]:
    """Check the table at ``path`` thoroughly; return the problems found (empty when sound).

    Reads every array (uncached), compares it with its manifest checksum, checks
    each missing mask against the NaNs of its array, that runs not present hold
    no values, and that seeds, epochs and counts agree with the manifest. A table in
    parts (format 2) has each part checked so, then the whole: every part listed and
    sound, no run stored twice, and the table manifest's counts against the arrays.

    Raises:
        TableNotFoundError, NotATableError: when there is nothing to verify.
    """
    try:
        table = Table(path)
    except (TableNotFoundError, NotATableError):
        raise
    except TableError as exc:
        return [exc.reason]
    problems: list[str] = []
    with table:
        for i in range(table.n_parts):
            prefix = f"part {i}: " if table.n_parts > 1 else ""
            try:
                image = table.image(i)
            except TableError as exc:
                problems.append(prefix + exc.reason)
                continue
            _verify_image(image, problems, prefix)
        if table.format_version >= 2 and not problems:
            _check(problems, lambda: _verify_whole(table))
    return problems


def _verify_image(table: TableImage, problems: list[str], prefix: str) -> None:
    found: list[str] = []
    _check(found, lambda: _verify_archs(table))
    for name, meta in sorted(table.manifest["static"].items()):
        _check(
            found,
            lambda name=name, meta=meta: _verify_mask(
                table, None, "static", name, meta, table.static(name, cache=False)
            ),
        )
    for ds_name in sorted(table.datasets):
        _check(found, lambda ds_name=ds_name: _verify_dataset(table, ds_name))
    problems.extend(prefix + p for p in found)


def _verify_whole(table: Table) -> None:
    """The table manifest of a format-2 file against what its parts hold."""
    _verify_archs(table)
    for name, meta in sorted(table.manifest["static"].items()):
        _verify_count(table, f"static/{name}", meta, table.static(name, cache=False))
    for name, info in sorted(table.datasets.items()):
        present = table.present(name, cache=False)
        stored = sum(
            table.image(i).dataset(name).n_runs
            for i in range(table.n_parts)
            if name in table.image(i).datasets
        )
        if int(present.sum()) != info.n_runs or stored != info.n_runs:
            raise TableError(
                table.path, f"dataset {name!r}: runs stored twice, or the count differs from the manifest"
            )
        for kind in layout.DATASET_KINDS:
            for metric, meta in sorted(getattr(info, kind).items()):
                _verify_count(
                    table, f"{name}/{kind}/{metric}", meta, table.metric(name, metric, kind, cache=False)
                )


def _verify_count(table: Table, path: str, meta: dict, values: np.ndarray) -> None:
    if int(np.isnan(values).sum()) != meta["n_missing"]:
        raise TableError(table.path, f"{path}: missing count of the whole table differs from the manifest")


def _check(problems: list[str], fn) -> None:  # type: ignore[no-untyped-def]
    try:
        fn()
    except NasbenchError as exc:
        problems.append(getattr(exc, "reason", str(exc)))


def _verify_archs(table: Table | TableImage) -> None:
    # Reading the cached properties checks both arrays against their checksums.
    if len(set(table.canonical_keys)) != table.manifest["n_canonical"]:
        raise TableError(table.path, "number of canonical classes differs from the manifest")
    if len(set(table.keys)) != table.n_archs:
        raise TableError(table.path, "architecture keys are not unique")


def _verify_dataset(table: TableImage, name: str) -> None:
    info = table.dataset(name)
    seeds = _raw(table, f"/datasets/{name}/seeds", len(info.seeds))
    epochs = _raw(table, f"/datasets/{name}/epochs", len(info.epochs))
    if seeds.tolist() != list(info.seeds) or epochs.tolist() != list(info.epochs):
        raise TableError(table.path, f"dataset {name!r}: seeds or epochs differ from the manifest")
    present = table.present(name, cache=False)
    if int(present.sum()) != info.n_runs:
        raise TableError(table.path, f"dataset {name!r}: number of runs differs from the manifest")
    for kind in layout.DATASET_KINDS:
        for metric, meta in sorted(getattr(info, kind).items()):
            values = table.metric(name, metric, kind, cache=False)
            _verify_mask(table, name, kind, metric, meta, values)
            if kind != "per_arch":
                absent = ~present if kind == "per_seed" else ~present[:, :, None]
                if not np.all(np.isnan(values[np.broadcast_to(absent, values.shape)])):
                    raise TableError(table.path, f"{name}/{kind}/{metric} holds values for runs not present")


def _verify_mask(
    table: TableImage, dataset: str | None, kind: str, metric: str, meta: dict, values: np.ndarray
) -> None:
    path = layout.data_path(dataset, kind, metric)
    missing = table.missing_mask(dataset, kind, metric)
    if missing.dtype != np.bool_ or not np.array_equal(missing, np.isnan(values)):
        raise TableError(table.path, f"{path}: missing mask disagrees with the NaNs of the array")
    if int(missing.sum()) != meta["n_missing"]:
        raise TableError(table.path, f"{path}: missing count differs from the manifest")


def _raw(table: TableImage, path: str, length: int) -> np.ndarray:
    try:
        dset = table._file[path]
    except (KeyError, OSError, ValueError, RuntimeError):
        raise TableError(table.path, f"array {path} is missing") from None
    schema.check_array(dset, table.path, path, (length,), "int")
    try:
        return dset[()]
    except (KeyError, OSError, ValueError, RuntimeError) as exc:
        raise TableError(table.path, f"cannot read {path}: {exc}") from None
