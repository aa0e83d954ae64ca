"""Every registered strategy passes the public conformance suite (nasbench_suite.testing.strategies);
the strategy registry."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nasbench_suite import search, spaces
from nasbench_suite.search import StrategyError
from nasbench_suite.testing import ToyChainSpace, parametrize_checks, strategy_checks
from nasbench_suite.testing.strategies import check_proposals_inside_the_space, runs_in_fresh_interpreters
from tests.support import REPO

STRATEGIES = search.available()
#: Batched over every strategy in one interpreter per hash seed (below), not one per strategy.
HASH_SEEDS = "check_same_run_under_different_hash_seeds"


@parametrize_checks(
    [
        (f"{name}-{check}", run)
        for name in STRATEGIES
        for check, run in strategy_checks(search.strategy_class(name), "nb201", skip=(HASH_SEEDS,))
    ]
)
def test_conformance_on_nb201(check):
    check()


@pytest.mark.parametrize("name", STRATEGIES)
@pytest.mark.parametrize("space", ["nb101", ToyChainSpace(length=5, choices=3)], ids=["nb101", "toy"])
def test_proposals_inside_other_spaces(name, space):
    check_proposals_inside_the_space(search.strategy_class(name), space)


def test_same_runs_under_different_hash_seeds():
    classes = [search.strategy_class(name) for name in STRATEGIES]
    runs = [runs_in_fresh_interpreters(classes, "nb201", hash_seed=seed) for seed in ("1", "2")]
    assert runs[0] == runs[1]
    assert len(runs[0]) == len(STRATEGIES)
    assert all(len(proposals) == 20 for proposals in runs[0].values())


@pytest.mark.parametrize("name", STRATEGIES)
def test_builtins_carry_their_registry_name(name):
    cls = search.strategy_class(name)
    assert cls.name == name
    assert cls.__module__.startswith("nasbench_suite.search.")


def test_unknown_strategy_names_the_known_ones():
    with pytest.raises(StrategyError, match=r"unknown strategy 'nope'.*rea"):
        search.get("nope", "nb201")


class _Fixed(search.Strategy):
    """Random search under another name."""

    name = "test-fixed"

    def _ask(self, trial_id):
        return self.space.sample(self.rng), None


def test_register_a_user_strategy():
    with search.registered("test-fixed", _Fixed):
        assert "test-fixed" in search.available()
        assert spaces.get("nb201").validate(search.get("test-fixed", "nb201").ask().arch)
        with pytest.raises(StrategyError, match="already registered"):
            search.register("rea", _Fixed)
        with pytest.raises(StrategyError, match="not a Strategy"):
            search.register("test-bad", dict)  # type: ignore[arg-type]
    assert "test-fixed" not in search.available()


def test_importing_search_loads_no_benchmark_table_or_heavy_library():
    code = (
        "import sys, nasbench_suite.search as s; [s.strategy_class(n) for n in s.available()]; "
        "print(sorted(m for m in ('nasbench_suite.bench', 'nasbench_suite.tabular', 'torch', 'ray', "
        "'optuna', 'xgboost') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
