"""``surrogate fit --force`` killed at each step of replacing an artefact: the old or the new
artefact loads every time, and the next fit leaves nothing beside it (the 40-kill version, half
at random instants: tests/benchmarks/test_fit_kill_many.py)."""

from __future__ import annotations

import pytest

from nasbench_suite.surrogates.fitting import fit_surrogate
from nasbench_suite.tabular import read_table, write_table
from tests.fit_kill_support import (
    FITTER,
    SMALL,
    finish,
    litter,
    loaded_description,
    put_back,
    start_fit,
)
from tests.support import synthetic_table

#: kill point -> which artefact must load right after the kill
POINTS = {"aside": None, "staging": "old", "swap": "old", "swapped": "new", "removing": "new"}


@pytest.fixture
def fitted(tmp_path):
    table = tmp_path / "toy.h5"
    write_table(table, synthetic_table(n_archs=81, missing_fraction=0.1))
    out = tmp_path / "arts" / "toy"
    fit_surrogate(table, out, params=SMALL, cv_folds=0, description="fit 0")
    script = tmp_path / "fitter.py"
    script.write_text(FITTER)
    return table, out, script


def test_a_kill_at_each_step_of_the_replacement_leaves_a_loadable_artefact(fitted):
    table, out, script = fitted
    key = read_table(table).keys[0]
    current = "fit 0"
    for n, (point, expected) in enumerate(POINTS.items(), start=1):
        description = f"fit {n}"
        code = finish(start_fit(script, table, out, description, point))
        assert code == -9, f"{point}: the fit was not killed at its kill point (exit {code})"
        if expected is None:  # the rename-aside fallback: the next writer puts the old one back
            assert not out.exists()
            put_back(out)
            expected = "old"
        got = loaded_description(out, key)
        assert got == (current if expected == "old" else description), point
        current = got
    assert litter(out)  # the kills left staging folders behind ...
    finish(start_fit(script, table, out, "final", "none"))
    assert loaded_description(out, key) == "final"
    assert litter(out) == []  # ... which the next fit removed, by their exact names
