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


# --- optuna-tpe's sampler: Optuna's TPE proposals, computed once per trial --------------------------


@pytest.mark.parametrize(
    ("seed", "n_trials", "n_startup_trials", "sizes", "direction", "ties"),
    [
        (0, 150, 10, (5, 5, 5, 5, 5, 5), "maximize", True),  # NB201's decisions, tied results
        (1, 150, 10, (5, 5, 5, 5, 5, 5), "maximize", False),
        (2, 120, 0, (3, 3, 2, 2, 2), "minimize", False),  # NB101-like choice counts, no start-up
        (3, 40, 25, (4, 1, 7), "maximize", True),  # a one-choice parameter, a long start-up
        (4, 300, 5, (3, 5), "maximize", False),  # gamma capped at 25, the weights' ramp
    ],
)
def test_categorical_tpe_proposes_what_optunas_tpe_proposes(
    seed, n_trials, n_startup_trials, sizes, direction, ties
):
    from nasbench_suite.search import _tpe_categorical

    assert _tpe_categorical._same_proposals(seed, n_trials, n_startup_trials, sizes, direction, ties)


def _tpe_run(space, n_evals, fail_every=None):
    strategy = make("optuna-tpe", space, seed=3, n_startup_trials=5)
    return strategy, drive(strategy, n_evals, fail_every=fail_every)


# NB101's random codes are mostly invalid cells: a few hundred failed trials per result.
@pytest.mark.parametrize(("space_name", "n_evals"), [("nb201", 40), ("nb101", 8)])
def test_optuna_tpe_runs_the_same_with_optunas_own_sampler(monkeypatch, space_name, n_evals):
    """The strategy's proposals are the same when it falls back to TPESampler (as it does when the
    installed Optuna does not match); NB101's invalid codes are failed trials in both."""
    from nasbench_suite.search import _tpe_categorical

    space = spaces.get(space_name)
    fast, fast_proposals = _tpe_run(space, n_evals, fail_every=7)
    assert isinstance(fast.study.sampler, _tpe_categorical.CategoricalTPESampler)
    monkeypatch.setattr(_tpe_categorical, "matches_optuna", lambda: False)
    own, own_proposals = _tpe_run(space, n_evals, fail_every=7)
    assert isinstance(own.study.sampler, optuna.samplers.TPESampler)
    assert [space.key(a) for a, _ in fast_proposals] == [space.key(a) for a, _ in own_proposals]
    assert [t.params for t in fast.study.trials] == [t.params for t in own.study.trials]


def test_optuna_tpe_options_outside_the_fast_case_use_optunas_sampler():
    for options in ({"multivariate": True}, {"constant_liar": True}):
        strategy = make("optuna-tpe", spaces.get("nb201"), seed=0, **options)
        assert type(strategy.study.sampler) is optuna.samplers.TPESampler


def test_categorical_tpe_refuses_what_it_does_not_reproduce():
    from nasbench_suite.search._tpe_categorical import CategoricalTPESampler

    study = optuna.create_study(sampler=CategoricalTPESampler(seed=0, n_startup_trials=1))
    study.tell(study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), 0.5)
    with pytest.raises(ValueError, match="categorical parameters"):
        study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    study = optuna.create_study(sampler=CategoricalTPESampler(seed=0, n_startup_trials=1))
    study.tell(
        study.ask({"c": optuna.distributions.CategoricalDistribution([0, 1])}),
        state=optuna.trial.TrialState.PRUNED,
    )
    with pytest.raises(ValueError, match="complete trials"):
        study.ask({"c": optuna.distributions.CategoricalDistribution([0, 1])})


@pytest.mark.parametrize("value", ["maybe", "False", 1, None])
def test_optuna_tpe_switches_must_be_true_or_false(value):
    """bool("False") is true: a text or number is refused in one line, not read as a switch."""
    with pytest.raises(StrategyError, match=r"multivariate must be true or false, got"):
        make("optuna-tpe", spaces.get("nb201"), seed=0, multivariate=value)
