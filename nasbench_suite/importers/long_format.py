"""Importer ``csv``: a generic long-format CSV or Parquet table, for any registered space.

One row per (arch, dataset, seed) — or per (arch, dataset, seed, epoch) for
curves — with these columns:

- ``arch``: the architecture in its space's text form (parsed and keyed by the space);
- ``dataset``: dataset name;
- ``seed``: integer training seed;
- ``epoch`` (optional): 1-based epoch; rows with an epoch form per-epoch curves,
  rows without one (or the whole file, if there is no epoch column) the
  end-of-training (per-seed) values;
- ``space`` (optional): the space name, if not given as an option;
- every other column is a numeric metric.

Units come from the ``units`` option or the naming convention (``*_acc`` %,
``*_loss`` nats, ``*_s`` s). Keys are stored in order of first appearance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_suite import spaces
from nasbench_suite.errors import ImportSourceError, MalformedArchError
from nasbench_suite.importers._common import default_unit, float_column
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

_ID_COLUMNS = ("arch", "dataset", "seed", "epoch", "space")


def import_table(
    source: Path,
    *,
    space: str | None = None,
    space_config: dict[str, Any] | None = None,
    units: dict[str, str] | None = None,
    description: str = "",
) -> TableData:
    """Read a long-format ``.csv`` or ``.parquet`` file into a TableData.

    Args:
        source: the file.
        space: registered space name; required unless the file has one ``space`` value.
        space_config: passed to ``spaces.get(space, **space_config)``.
        units: metric -> unit, overriding the naming convention.
        description: free text stored in the table.

    Raises:
        ImportSourceError: missing file or column, non-numeric metric, duplicated row.
        MalformedArchError: an ``arch`` value the space cannot parse (with its row).
        UnknownSpaceError: if the space is not registered.
    """
    source = Path(source)
    frame = _read(source)
    for column in ("arch", "dataset", "seed"):
        if column not in frame.columns:
            raise ImportSourceError(source, f"missing column {column!r}; found {', '.join(frame.columns)}")
    space_name = _space_name(source, frame, space)
    the_space = spaces.get(space_name, **(space_config or {}))
    metrics = [c for c in frame.columns if c not in _ID_COLUMNS]
    if not metrics:
        raise ImportSourceError(source, "no metric columns (every column besides arch, dataset, seed, epoch)")
    for m in metrics:
        frame[m] = float_column(frame, m, source)
    frame["seed"] = _integer(source, frame, "seed")
    has_epoch = "epoch" in frame.columns
    if has_epoch:
        frame["epoch"] = _integer(source, frame, "epoch", allow_missing=True)
    frame["dataset"] = frame["dataset"].astype(str)

    keys, codes = _keys(source, frame["arch"], the_space)
    frame["_row"] = codes
    id_cols = ["_row", "dataset", "seed"] + (["epoch"] if has_epoch else [])
    dup = frame.duplicated(subset=id_cols, keep=False)
    if dup.any():
        first = int(np.flatnonzero(dup.to_numpy())[0])
        raise ImportSourceError(
            source,
            f"data row {first + 1}: (arch, dataset, seed{', epoch' if has_epoch else ''}) is duplicated",
        )
    unit_of = {m: (units or {}).get(m, default_unit(m)) for m in metrics}
    datasets = {
        name: _dataset(group, len(keys), metrics, unit_of, has_epoch, source)
        for name, group in sorted(frame.groupby("dataset", sort=True), key=lambda kv: kv[0])
    }
    return TableData(
        space=space_name,
        space_config=the_space.config(),
        keys=keys,
        datasets=datasets,
        description=description or f"imported from {source.name}",
    )


def _read(source: Path) -> pd.DataFrame:
    if not source.is_file():
        raise ImportSourceError(source, "no such file")
    try:
        if source.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(source)
        return pd.read_csv(source)
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ImportSourceError(source, f"cannot read it as {source.suffix or 'CSV'}: {exc}") from None


def _space_name(source: Path, frame: pd.DataFrame, space: str | None) -> str:
    if space is not None:
        return space
    if "space" in frame.columns:
        names = frame["space"].dropna().unique()
        if len(names) == 1:
            return str(names[0])
        raise ImportSourceError(source, f"column 'space' holds {len(names)} different values; expected one")
    raise ImportSourceError(source, "no space given: pass space=... (CLI: --space) or add a 'space' column")


def _integer(source: Path, frame: pd.DataFrame, column: str, allow_missing: bool = False) -> pd.Series:
    values = float_column(frame, column, source)
    bad = (np.isnan(values) & ~allow_missing) | (~np.isnan(values) & (values != np.round(values)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ImportSourceError(
            source, f"data row {row + 1}: {column!r} must be an integer ({frame[column].iloc[row]!r})"
        )
    return pd.Series(values, index=frame.index).astype("Int64")


def _keys(source: Path, archs: pd.Series, space: Any) -> tuple[list[str], np.ndarray]:
    codes, uniques = pd.factorize(archs.astype(str), sort=False)
    keys = []
    for i, text in enumerate(uniques):
        try:
            keys.append(space.key(text))
        except MalformedArchError as exc:
            row = int(np.flatnonzero(codes == i)[0])
            raise MalformedArchError(
                exc.space, text, f"{exc.reason} (data row {row + 1} of {source.name})"
            ) from None
    # Different texts of one architecture (e.g. NB101 relabellings) share a key.
    key_codes, key_uniques = pd.factorize(pd.Series(keys), sort=False)
    return list(key_uniques), key_codes[codes]


def _dataset(
    group: pd.DataFrame, n: int, metrics: list[str], unit_of: dict[str, str], has_epoch: bool, source: Path
) -> DatasetData:
    seeds = np.sort(group["seed"].unique().astype(np.int64))
    seed_col = {int(s): j for j, s in enumerate(seeds)}
    finals = group[group["epoch"].isna()] if has_epoch else group
    curves = group[group["epoch"].notna()] if has_epoch else group.iloc[:0]
    present = np.zeros((n, len(seeds)), dtype=bool)
    rows = group["_row"].to_numpy()
    cols = group["seed"].map(seed_col).to_numpy(dtype=np.int64)
    present[rows, cols] = True
    ds = DatasetData(seeds=seeds, present=present, provenance={"source": source.name})
    if len(finals):
        r, c = finals["_row"].to_numpy(), finals["seed"].map(seed_col).to_numpy(dtype=np.int64)
        for m in metrics:
            values = np.full((n, len(seeds)), np.nan)
            values[r, c] = finals[m].to_numpy(dtype=np.float64)
            if not np.isnan(values).all():
                ds.per_seed[m] = values
    if len(curves):
        epochs = np.sort(curves["epoch"].unique().astype(np.int64))
        if epochs[0] < 1:
            raise ImportSourceError(source, f"epochs are 1-based; found epoch {int(epochs[0])}")
        ds.epochs = epochs
        e_col = np.searchsorted(epochs, curves["epoch"].to_numpy(dtype=np.int64))
        r, c = curves["_row"].to_numpy(), curves["seed"].map(seed_col).to_numpy(dtype=np.int64)
        for m in metrics:
            values = np.full((n, len(seeds), len(epochs)), np.nan)
            values[r, c, e_col] = curves[m].to_numpy(dtype=np.float64)
            if not np.isnan(values).all():
                ds.curves[m] = values
    ds.metrics = {m: MetricInfo(unit_of[m]) for m in {*ds.per_seed, *ds.curves}}
    return ds
