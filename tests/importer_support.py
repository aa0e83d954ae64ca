"""Helpers for the importer tests: exact comparison of two tables, and a store round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nasbench_suite.tabular import read_table, write_table
from nasbench_suite.tabular.model import TableData


def assert_same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray], where: str) -> None:
    assert sorted(a) == sorted(b), where
    for name in sorted(a):
        # assert_array_equal treats NaN == NaN and compares every float exactly.
        np.testing.assert_array_equal(a[name], b[name], err_msg=f"{where}/{name}")
        assert a[name].dtype == b[name].dtype, f"{where}/{name}"


def assert_same_table(a: TableData, b: TableData) -> None:
    """Every key, array, unit and description of ``a`` and ``b`` is identical."""
    assert a.space == b.space and a.keys == b.keys
    assert sorted(a.datasets) == sorted(b.datasets)
    assert_same_arrays(a.static, b.static, "static")
    assert a.static_metrics == b.static_metrics
    for name in sorted(a.datasets):
        x, y = a.datasets[name], b.datasets[name]
        np.testing.assert_array_equal(x.seeds, y.seeds)
        np.testing.assert_array_equal(x.present, y.present)
        np.testing.assert_array_equal(x.epochs, y.epochs)
        for group in ("per_seed", "curves", "per_arch"):
            assert_same_arrays(getattr(x, group), getattr(y, group), f"{name}/{group}")
        assert x.metrics == y.metrics, name
        assert x.protocol == y.protocol and x.provenance == y.provenance, name


def round_trip(data: TableData, directory: Path) -> TableData:
    """``data`` written to the store and read back."""
    path = write_table(directory / "round-trip.h5", data)
    return read_table(path)
