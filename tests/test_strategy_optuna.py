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


def test_any_optuna_sampler_by_name(tmp_path, capsys):
    """`optuna` runs a sampler of optuna.samplers named by an option, seeded; bad names are one line."""
    from nasbench_suite.cli import main
    from nasbench_suite.tabular import write_table
    from tests.support import synthetic_table

    space = spaces.get("nb201")

    def proposals(seed: int) -> list:
        strategy = search.get("optuna", space, seed=seed, sampler="QMCSampler")
        out = []
        for i in range(6):
            p = strategy.ask()
            strategy.tell(p, float(i), 1.0)
            out.append(space.key(p.arch))
        return out

    assert proposals(3) == proposals(3) and proposals(3) != proposals(4)
    assert type(search.get("optuna", space, seed=0).study.sampler).__name__ == "TPESampler"
    with pytest.raises(StrategyError, match=r"unknown sampler 'Nope'.*QMCSampler"):
        search.get("optuna", space, seed=0, sampler="Nope")
    with pytest.raises(StrategyError, match="failed"):
        search.get("optuna", space, seed=0, sampler="RandomSampler", sampler_options={"bogus": 1})
    table = tmp_path / "toy.h5"
    write_table(table, synthetic_table(n_archs=81, seed=2))
    argv = ["search", "--strategy", "optuna", "--option", "sampler=QMCSampler", "--bench", str(table)]
    argv += ["--dataset", "toy", "--budget-evals", "5", "--executor", "serial"]
    assert main([*argv, "-o", str(tmp_path / "q.parquet")]) == 0
    assert main([*argv[:4], "sampler=Nope", *argv[5:], "-o", str(tmp_path / "n.parquet")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
