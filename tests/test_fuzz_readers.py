"""Brief fuzzing of every reader of untrusted files (a few cases each; the long run is
tests/benchmarks/test_fuzz_readers_long.py). See tests/fuzz_readers.py."""

from __future__ import annotations

import pytest

from nasbench_suite.surrogates.fitting import fit_surrogate
from nasbench_suite.tabular import write_table
from tests import fuzz_readers
from tests.support import synthetic_table

#: Cases per parser in the fast suite.
CASES = 6


@pytest.fixture(scope="module")
def base_artefact(tmp_path_factory):
    table = tmp_path_factory.mktemp("fuzz-table") / "toy.h5"
    write_table(table, synthetic_table(n_archs=81, missing_fraction=0.1))
    out = tmp_path_factory.mktemp("fuzz-artefact") / "toy"
    return fit_surrogate(table, out, params={"n_estimators": 5}, cv_folds=2, description="toy")


@pytest.mark.parametrize("parser", ["nats", "cifar", "csv", "tables"])
def test_fuzz_parser(parser, tmp_path):
    getattr(fuzz_readers, f"check_{parser}")(CASES, tmp_path)


def test_fuzz_artefacts(base_artefact, tmp_path):
    fuzz_readers.check_artefacts(CASES, tmp_path, base_artefact)
