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

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_suite import spaces
from nasbench_suite.errors import ImportSourceError, MalformedArchError
from nasbench_suite.importers._common import default_unit, float_column
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

_ID_COLUMNS = ("arch", "dataset", "seed", "epoch", "space")
#: Seeds are integers of magnitude at most 2**53 (exact in the float64 they are parsed as).
MAX_ABS_SEED = 2**53
#: Epochs are integers in [1, MAX_EPOCH].
MAX_EPOCH = 100_000
#: A dataset's dense arrays (archs x seeds [x epochs] per metric) may hold at most this many
#: cells per value in the file, or DENSE_FLOOR cells in all, whichever is more: a sparse file
#: cannot ask for an allocation far larger than itself.
DENSE_PER_VALUE = 64
DENSE_FLOOR = 1 << 24
#: Dataset and metric names: printable, no '/', at most 200 characters (they name HDF5 groups).
_NAME = re.compile(r"[^\x00-\x1f\x7f/]{1,200}")


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
    frame = _read(source).reset_index(drop=True)
    bad = [c for c in frame.columns if not (isinstance(c, str) and _NAME.fullmatch(c))]
    if bad:
        raise ImportSourceError(source, f"column name {str(bad[0])[:60]!r} is not a name (empty, control "
                                "character or '/')")  # fmt: skip
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
        inf = np.isinf(frame[m].to_numpy())
        if inf.any():
            row = int(np.flatnonzero(inf)[0])
            raise ImportSourceError(source, f"data row {row + 1}: column {m!r} is infinite; leave it empty "
                                    "if it was not measured")  # fmt: skip
    frame["seed"] = _integer(source, frame, "seed", -MAX_ABS_SEED, MAX_ABS_SEED)
    has_epoch = "epoch" in frame.columns
    if has_epoch:
        frame["epoch"] = _integer(source, frame, "epoch", 1, MAX_EPOCH, allow_missing=True)
    frame["dataset"] = _names(source, frame, "dataset")

    keys, codes = _keys(source, frame["arch"], the_space)
    id_frame = frame[["dataset", "seed"] + (["epoch"] if has_epoch else [])].assign(_arch_row=codes)
    dup = id_frame.duplicated(keep=False)
    if dup.any():
        first = int(np.flatnonzero(dup.to_numpy())[0])
        raise ImportSourceError(
            source,
            f"data row {first + 1}: (arch, dataset, seed{', epoch' if has_epoch else ''}) is duplicated",
        )
    unit_of = {m: (units or {}).get(m, default_unit(m)) for m in metrics}
    datasets = {
        name: _dataset(group, codes[group.index], len(keys), metrics, unit_of, has_epoch, source)
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
        raise ImportSourceError(source, "no such file" if not source.exists() else "not a regular file")
    try:
        if source.suffix.lower() in (".parquet", ".pq"):
            _check_parquet_size(source)
            return pd.read_parquet(source)
        return pd.read_csv(source)
    except ImportSourceError:
        raise
    except Exception as exc:  # the parsers raise many types for a file from elsewhere
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ImportSourceError(source, f"cannot read it as {source.suffix or 'CSV'}: {text}") from None


#: A Parquet file may declare at most this many times its own size of uncompressed data.
PARQUET_MAX_EXPANSION = 1_100


def _check_parquet_size(source: Path) -> None:
    """Refuse a Parquet file whose row groups declare more data than the file could hold."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(source).metadata
    declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if declared > PARQUET_MAX_EXPANSION * source.stat().st_size + (1 << 20):
        raise ImportSourceError(
            source, f"declares {declared:,} bytes of data in a {source.stat().st_size:,}-byte file"
        )


def _space_name(source: Path, frame: pd.DataFrame, space: str | None) -> str:
    if space is not None:
        return space
    if "space" in frame.columns:
        names = frame["space"].dropna().unique()
        if len(names) == 1:
            return str(names[0])
        raise ImportSourceError(source, f"column 'space' holds {len(names)} different values; expected one")
    raise ImportSourceError(source, "no space given: pass space=... (CLI: --space) or add a 'space' column")


def _integer(
    source: Path, frame: pd.DataFrame, column: str, low: int, high: int, allow_missing: bool = False
) -> pd.Series:
    values = float_column(frame, column, source)
    with np.errstate(invalid="ignore"):
        wrong = ~np.isnan(values) & ((values != np.round(values)) | (values < low) | (values > high))
    bad = (np.isnan(values) & ~allow_missing) | wrong
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ImportSourceError(
            source,
            f"data row {row + 1}: {column!r} must be an integer in [{low}, {high}] "
            f"({str(frame[column].iloc[row])[:40]!r})",
        )
    return pd.Series(values, index=frame.index).astype("Int64")


def _names(source: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    """``frame[column]`` as names: every row has one, printable, without '/'."""
    text = frame[column].astype(str)
    ok = frame[column].notna().to_numpy() & text.str.fullmatch(_NAME.pattern).to_numpy(dtype=bool)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise ImportSourceError(
            source,
            f"data row {row + 1}: {column!r} is empty or not a name (control character or '/'): "
            f"{str(frame[column].iloc[row])[:60]!r}",
        )
    return text


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
    group: pd.DataFrame,
    arch_rows: np.ndarray,
    n: int,
    metrics: list[str],
    unit_of: dict[str, str],
    has_epoch: bool,
    source: Path,
) -> DatasetData:
    seeds = np.sort(group["seed"].unique().astype(np.int64))
    seed_col = {int(s): j for j, s in enumerate(seeds)}
    is_final = group["epoch"].isna().to_numpy(dtype=bool) if has_epoch else np.ones(len(group), dtype=bool)
    finals, curves = group[is_final], group[~is_final]
    n_epochs = curves["epoch"].nunique() if len(curves) else 0
    cells = n * len(seeds) * (1 + n_epochs) * max(1, len(metrics))
    if cells > max(DENSE_FLOOR, DENSE_PER_VALUE * len(group) * max(1, len(metrics))):
        raise ImportSourceError(
            source,
            f"dataset {group['dataset'].iloc[0]!r}: {n:,} archs x {len(seeds):,} seeds x {n_epochs:,} epochs "
            f"would be {cells:,} cells for {len(group):,} rows; the file is too sparse for a dense table",
        )
    present = np.zeros((n, len(seeds)), dtype=bool)
    rows = arch_rows
    cols = group["seed"].map(seed_col).to_numpy(dtype=np.int64)
    present[rows, cols] = True
    ds = DatasetData(seeds=seeds, present=present, provenance={"source": source.name})
    if len(finals):
        r, c = arch_rows[is_final], finals["seed"].map(seed_col).to_numpy(dtype=np.int64)
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
        r, c = arch_rows[~is_final], curves["seed"].map(seed_col).to_numpy(dtype=np.int64)
        for m in metrics:
            values = np.full((n, len(seeds), len(epochs)), np.nan)
            values[r, c, e_col] = curves[m].to_numpy(dtype=np.float64)
            if not np.isnan(values).all():
                ds.curves[m] = values
    ds.metrics = {m: MetricInfo(unit_of[m]) for m in {*ds.per_seed, *ds.curves}}
    return ds
