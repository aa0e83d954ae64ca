"""Session fixtures shared by the fast suite and the benchmarks."""

from __future__ import annotations

import pytest

from tests.support import data_path


@pytest.fixture(scope="session")
def nb201_table(tmp_path_factory):
    """The NB201 table imported once per session from ../shared/data/nb201 (skips if absent)."""
    from nasbench_suite import importers
    from nasbench_suite.tabular import write_table

    source = data_path("nb201")
    path = tmp_path_factory.mktemp("nb201") / "nb201.h5"
    write_table(path, importers.import_table("nb201", source))
    return path
