"""Batch queries of a table at scale: architectures to rows, rows to numpy columns.

A batch of a million architectures is mostly repeats of the table's keys, so the
architectures are looked up in one hash table of the keys, built once per open
table (C speed; a Python ``str`` caches its hash), and every result column is
gathered from a contiguous per-metric array of the view. The architecture column of a DataFrame is a
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


class KeyLookup:
    """Row of each stored key, for arrays of a million keys: built once per open table.

    It is pandas' own hash table of Python objects, the one behind ``Index.get_indexer``,
    used directly: ``get_indexer`` first infers the type of the whole target (a full
    pass over a million strings, a quarter of the call) and wraps it in an Index. Where a
    pandas release no longer has it, the public ``Index.get_indexer`` does the same work.
    """

    def __init__(self, keys: Sequence[str], *, direct: bool = True):
        """``direct=False`` takes the public path (what the benchmark compares against)."""
        import pandas as pd

        values = np.asarray(keys, dtype=object)
        self._table: Any = None
        self._index: Any = None
        if direct:
            try:
                from pandas._libs.hashtable import PyObjectHashTable

                self._table = PyObjectHashTable(len(values))
                self._table.map_locations(values)
            except (ImportError, AttributeError, TypeError):
                self._table = None
        if self._table is None:  # the public path, built only when it is the one used
            self._index = pd.Index(values, dtype=object)

    def rows(self, values: np.ndarray) -> np.ndarray:
        """Rows (int64) of an object array of keys; -1 where a value is not a stored key.

        Raises:
            TypeError: a value is unhashable.
        """
        import pandas as pd

        if self._table is not None:
            return np.asarray(self._table.lookup(values), dtype=np.int64)
        return np.asarray(self._index.get_indexer(pd.Index(values, dtype=object, copy=False)), dtype=np.int64)


def rows_of(archs: Sequence[Any], lookup: KeyLookup, space: str, resolve: Callable[[Any], int]) -> np.ndarray:
    """Row of every architecture of ``archs`` (int64); ``resolve`` handles what ``lookup`` does not know.

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
        found = rows_of(list(cat.categories), lookup, space, resolve)
        return found[cat.codes]
    n = len(archs)
    # An object array, never a bare list given to pandas: pandas would first copy every
    # string into an inferred string column (hundreds of MB for a million rows).
    try:
        rows = lookup.rows(np.fromiter(archs, dtype=object, count=n))
    except TypeError:  # unhashable architecture objects (dicts, lists): only strings are looked up
        rows = lookup.rows(
            np.fromiter((a if isinstance(a, str) else None for a in archs), dtype=object, count=n)
        )
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
