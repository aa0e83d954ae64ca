"""The Optuna adapter: failed trials for invalid codes and NaN results, the missing extra."""

from __future__ import annotations

import sys

import pytest

from nasbench_suite import search, spaces
from nasbench_suite.search import StrategyError
from tests.strategy_support import drive, make, objective

optuna = pytest.importorskip("optuna", reason="optuna (a core dependency) is not installed")


def test_invalid_nb101_codes_and_failures_are_failed_trials():
    space = spaces.get("nb101")
    strategy = make("optuna-random", space, seed=0)
    drive(strategy, 10, fail_every=5)
    states = [t.state for t in strategy.study.trials]
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    failed = states.count(optuna.trial.TrialState.FAIL)
    assert complete == 8
    # Random NB101 codes are mostly invalid cells: each is told as a failed trial.
    assert failed > 2


def test_nsga2_gets_both_objectives():
    strategy = make("optuna-nsga2", spaces.get("nb201"), seed=0)
    drive(strategy, 12)
    assert all(len(t.values) == 2 for t in strategy.study.trials)


def test_study_records_each_told_result_with_the_proposed_codes():
    space = spaces.get("nb201")
    strategy = make("optuna-tpe", space, seed=0, n_startup_trials=3)
    proposals = drive(strategy, 8, workers=2)
    trials = strategy.study.trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 8
    by_codes = {tuple(t.params[k] for k in sorted(t.params)): t.values[0] for t in trials}
    for arch, _ in proposals:
        assert by_codes[space.to_codes(arch)] == pytest.approx(objective(space, arch)[0])


def test_missing_optuna_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(StrategyError, match=r"a dependency of nasbench-suite: pip install 'optuna>=3.5'"):
        search.get("optuna-tpe", "nb201")
