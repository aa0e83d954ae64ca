"""``surrogate fit --force`` killed 40 times, half at random instants of the whole fit and half at
the replacement step (just before or just after the swap, alternately): the old or the new artefact
loads after every kill, and the last, complete fit leaves nothing beside the artefact.

In the fast suite (``--benchmark-disable``) it runs 2 kills (tests/test_fit_kill.py kills at
every step); ``--benchmark-enable`` runs all 40.
"""

from __future__ import annotations

import time

import numpy as np

from nasbench_suite.surrogates.fitting import fit_surrogate
from nasbench_suite.tabular import read_table, write_table
from tests.fit_kill_support import FITTER, SMALL, finish, litter, loaded_description, start_fit
from tests.support import synthetic_table


def kill_fits(tmp_path, kills: int) -> dict[str, int]:
    table = tmp_path / "toy.h5"
    write_table(table, synthetic_table(n_archs=81, missing_fraction=0.1))
    key = read_table(table).keys[0]
    out = tmp_path / "arts" / "toy"
    fit_surrogate(table, out, params=SMALL, cv_folds=0, description="fit 0")
    script = tmp_path / "fitter.py"
    script.write_text(FITTER)
    rng = np.random.default_rng(17)
    loaded = {"old": 0, "new": 0}
    current = "fit 0"
    for n in range(1, kills + 1):
        description = f"fit {n}"
        if n % 2:  # a random instant of the fit (it takes about a second after 'ready')
            proc = start_fit(script, table, out, description, "none")
            time.sleep(float(rng.uniform(0.0, 1.5)))
            finish(proc, kill=True)
        else:
            finish(start_fit(script, table, out, description, "swap" if n % 4 else "swapped"))
        got = loaded_description(out, key)
        assert got in (current, description), f"kill {n}: {got!r}"
        loaded["new" if got == description else "old"] += 1
        current = got
    finish(start_fit(script, table, out, "final", "none"))
    assert loaded_description(out, key) == "final" and litter(out) == []
    return loaded


def test_forty_kills_of_fit_force(tmp_path, benchmark):
    kills = 2 if benchmark.disabled else 40
    loaded = benchmark.pedantic(kill_fits, args=(tmp_path, kills), rounds=1, iterations=1)
    print(f"{kills} kills: the old artefact loaded {loaded['old']} times, the new {loaded['new']}")
    assert sum(loaded.values()) == kills
    if kills >= 8:  # both outcomes happen: the kills land before and after the swap
        assert loaded["old"] >= 1 and loaded["new"] >= 1
