"""Batch queries of a table at scale: architectures to rows, rows to numpy columns.

A batch of a million architectures is mostly repeats of the table's keys, so the
architectures are looked up in one pandas hash index (C speed; a Python ``str``
caches its hash), and every result column is gathered from a contiguous
per-metric array of the view. The architecture column of a DataFrame is a
``Categorical`` over the table's keys: 4 bytes a row instead of a Python string
(pandas would otherwise copy every string into its own string column).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_suite.errors import MalformedArchError

if TYPE_CHECKING:
    import pandas as pd


def rows_of(
    archs: Sequence[Any], key_index: pd.Index, space: str, resolve: Callable[[Any], int]
) -> np.ndarray:
    """Row of every architecture of ``archs`` (int64); ``resolve`` handles what the index does not know.

    ``archs`` may be any sequence of stored keys, text forms or architecture
    objects, or a pandas ``Categorical`` (or categorical Series), whose categories
    are looked up once each.

    Raises:
        MalformedArchError: ``archs`` is a string, or a categorical holds a missing value.
        UnknownArchError and the like: from ``resolve``.
    """
    import pandas as pd

    if isinstance(archs, (str, bytes)):
        raise MalformedArchError(space, archs, "query_batch takes a sequence of architectures")
    if isinstance(getattr(archs, "dtype", None), pd.CategoricalDtype):
        cat = pd.Categorical(archs)
        if (cat.codes < 0).any():
            raise MalformedArchError(space, None, "a missing value among the architectures")
        lookup = rows_of(list(cat.categories), key_index, space, resolve)
        return lookup[cat.codes]
    n = len(archs)
    # An explicit object Index: given a bare array, pandas would first copy every
    # string into an inferred string column (hundreds of MB for a million rows).
    try:
        rows = key_index.get_indexer(
            pd.Index(np.fromiter(archs, dtype=object, count=n), dtype=object, copy=False)
        )
    except TypeError:  # unhashable architecture objects (dicts, lists): only strings are looked up
        values = np.fromiter((a if isinstance(a, str) else None for a in archs), dtype=object, count=n)
        rows = key_index.get_indexer(pd.Index(values, dtype=object, copy=False))
    rows = np.asarray(rows, dtype=np.int64)
    for i in np.flatnonzero(rows < 0).tolist():
        rows[i] = resolve(archs[i])
    return rows


def columns(stacked: np.ndarray) -> list[np.ndarray]:
    """The last axis of ``stacked`` as contiguous flat arrays (one per metric)."""
    moved = np.moveaxis(stacked, -1, 0)
    return [np.ascontiguousarray(moved[j]).reshape(-1) for j in range(moved.shape[0])]


def categorical(rows: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """The architecture column: rows as codes of the table's keys."""
    import pandas as pd

    codes = rows.astype(np.int32) if len(dtype.categories) < 2**31 else rows
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
