"""The conformance suite every registered search strategy passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nasbench_suite import search, spaces
from nasbench_suite.search import SearchContext, StrategyError
from tests.strategy_support import drive, make
from tests.support import REPO, ToyChainSpace

STRATEGIES = search.available()
N_EVALS = 30


@pytest.fixture(scope="module", params=["nb201", "nb101", "toy"])
def space(request):
    if request.param == "toy":
        return ToyChainSpace(length=5, choices=3)
    return spaces.get(request.param)


@pytest.mark.parametrize("name", STRATEGIES)
def test_proposals_are_valid_archs(name, space):
    proposals = drive(make(name, space, seed=3), N_EVALS, workers=1)
    assert len(proposals) == N_EVALS
    cls = search.strategy_class(name)
    for _, epoch in proposals:
        if cls.multi_fidelity:
            assert epoch in range(1, 201)
        else:
            assert epoch is None


@pytest.mark.parametrize("name", STRATEGIES)
def test_same_seed_same_run_with_async_workers_and_failures(name):
    space = spaces.get("nb201")
    runs = [drive(make(name, space, seed=7), N_EVALS, workers=4, fail_every=5) for _ in range(2)]
    assert runs[0] == runs[1]
    other = drive(make(name, space, seed=8), N_EVALS, workers=4, fail_every=5)
    assert other != runs[0]


@pytest.mark.parametrize("name", STRATEGIES)
def test_many_asks_before_any_tell(name):
    strategy = make(name, spaces.get("nb201"), seed=1)
    proposals = [strategy.ask() for _ in range(25)]
    assert len({p.trial_id for p in proposals}) == 25
    assert len(strategy.pending) == 25
    for p in reversed(proposals):
        strategy.tell(p, float("nan"), cost_s=0.0, objectives=(float("nan"), 1.0))
    assert strategy.pending == []
    strategy.ask()


@pytest.mark.parametrize("name", STRATEGIES)
def test_all_failures_do_not_stop_the_search(name):
    proposals = drive(make(name, spaces.get("nb201"), seed=2), 25, workers=2, fail_every=1)
    assert len(proposals) == 25


@pytest.mark.parametrize("name", STRATEGIES)
def test_unknown_option_is_refused(name):
    with pytest.raises(StrategyError, match="no_such_option"):
        make(name, spaces.get("nb201"), no_such_option=1)


@pytest.mark.parametrize("name", STRATEGIES)
def test_telling_twice_is_refused(name):
    strategy = make(name, spaces.get("nb201"))
    proposal = strategy.ask()
    strategy.tell(proposal, 50.0, 1.0, objectives=(50.0, 1.0))
    with pytest.raises(StrategyError, match="already told"):
        strategy.tell(proposal, 50.0, 1.0, objectives=(50.0, 1.0))


@pytest.mark.parametrize("name", STRATEGIES)
def test_defaults_and_flags_are_declared(name):
    cls = search.strategy_class(name)
    assert cls.name == name
    assert isinstance(cls.defaults, dict)
    assert isinstance(cls.model_based, bool)
    assert cls.__doc__ and cls.__module__.startswith("nasbench_suite.search.")


@pytest.mark.parametrize("name", [n for n in STRATEGIES if search.strategy_class(n).multi_fidelity])
def test_multi_fidelity_refuses_without_curves(name):
    with pytest.raises(StrategyError, match="per-epoch results"):
        search.get(name, "nb201", context=SearchContext(max_epoch=200))


@pytest.mark.parametrize("name", [n for n in STRATEGIES if search.strategy_class(n).multi_objective])
def test_multi_objective_refuses_one_objective(name):
    with pytest.raises(StrategyError, match="second objective"):
        search.get(name, "nb201", context=SearchContext())


def test_unknown_strategy_names_the_known_ones():
    with pytest.raises(StrategyError, match=r"unknown strategy 'nope'.*rea"):
        search.get("nope", "nb201")


def test_register_a_user_strategy():
    class Fixed(search.Strategy):
        """Always the same architecture."""

        name = "test-fixed"

        def _ask(self, trial_id):
            return self.space.sample(self.rng), None

    search.register("test-fixed", Fixed, replace=True)
    assert "test-fixed" in search.available()
    assert search.get("test-fixed", "nb201").ask().arch
    with pytest.raises(StrategyError, match="already registered"):
        search.register("rea", Fixed)
    with pytest.raises(StrategyError, match="not a Strategy"):
        search.register("test-bad", dict)  # type: ignore[arg-type]


_RUN_ALL = """
import json, sys
from nasbench_suite import search, spaces
from tests.strategy_support import drive, make
space = spaces.get("nb201")
out = {name: [[space.format(a), e] for a, e in drive(make(name, space, seed=11), 20, workers=3, fail_every=4)]
       for name in search.available()}
print(json.dumps(out))
"""


def test_same_run_under_different_hash_seeds():
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", _RUN_ALL], capture_output=True, text=True, check=True, cwd=REPO, env=env
        )
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1]
    assert sorted(outputs[0]) == STRATEGIES


def test_importing_search_loads_no_benchmark_table_or_heavy_library():
    code = (
        "import sys, nasbench_suite.search as s; [s.strategy_class(n) for n in s.available()]; "
        "print(sorted(m for m in ('nasbench_suite.bench', 'nasbench_suite.tabular', 'torch', 'ray', "
        "'optuna', 'xgboost') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
