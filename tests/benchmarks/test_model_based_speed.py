"""CPU time of the model-based strategies' runs, side by side with the code before the speed work.

Every speed-up of the model-based runs keeps their trajectories: ``previous`` undoes them all
(:func:`undo_model_based_speedups`) and each benchmark checks that the runs are the same either
way, column for column. Time them with the CPU clock (the figures are in docs/performance.md):

    python -m pytest tests/benchmarks/test_model_based_speed.py --benchmark-enable \
        --benchmark-timer time.process_time --benchmark-group-by=group

and the steadier ratio, both ways alternating in one process, with
``-k alternating --benchmark-enable -s``. In the fast suite each benchmark runs once, untimed
(the main job's runs on one dataset), and the alternating one is skipped.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from nasbench_suite import search
from nasbench_suite.experiments import run

# --- model-based runs: this implementation against the previous training loops ------------------


def previous_mlp_train(x, y, hidden, *, alpha, batch_size, learning_rate, epochs, seed):
    """The MLP members as trained before: scikit-learn's MLPRegressor.fit."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    net = MLPRegressor(
        hidden_layer_sizes=tuple(int(h) for h in hidden),
        alpha=alpha,
        batch_size=batch_size,
        learning_rate_init=learning_rate,
        max_iter=epochs,
        n_iter_no_change=epochs,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(x, y)
    return list(net.coefs_), list(net.intercepts_)


def previous_xgb_booster(params, data, rounds):
    """The XGBoost predictor's boosting as before: xgboost.train."""
    import xgboost

    return xgboost.train(params, data, num_boost_round=rounds)


def assert_same_trajectories(got: list[dict], reference: list[dict]) -> None:
    """Run for run, the same columns with the same values (NaN equal to NaN)."""
    for trajectory, ref in zip(got, reference, strict=True):
        assert sorted(trajectory) == sorted(ref)
        for column, values in ref.items():
            assert np.array_equal(trajectory[column], values, equal_nan=values.dtype.kind == "f"), column


MODEL_BASED_CASES = [
    ("nb201", "cifar10-valid", "bananas"),
    ("nb201", "cifar10-valid", "xgb-bo"),
    ("nb201", "cifar10-valid", "optuna-tpe"),
    ("nb201-cpu", "cifar10-valid@nb201-cpu", "bananas"),
]
_REFERENCE: dict[tuple[str, str, str], dict] = {}


@pytest.mark.parametrize("way", ["current", "previous"])
@pytest.mark.parametrize("case", MODEL_BASED_CASES, ids=lambda c: f"{c[2]}-{c[0]}")
def test_model_based_run(benchmark, monkeypatch, case, way):
    """One standard run (seed 0, standard budget) of a model-based strategy on the main job's
    benchmarks; the code before the speed work (:func:`undo_model_based_speedups`) gives the same
    trajectory, column for column. On a loaded machine add ``--benchmark-timer
    time.process_time`` for the CPU time."""
    from nasbench_suite.errors import NasbenchError
    from nasbench_suite.experiments.protocol import standard_suite
    from nasbench_suite.experiments.runner import open_cached

    source, dataset, strategy = case
    benchmark.group = f"one {strategy} run on {source}"
    try:
        bench = open_cached(source)
    except NasbenchError as exc:
        pytest.skip(f"the shipped benchmark {source} does not open here: {exc}")
    (config,) = standard_suite(bench, source, [strategy], [dataset], [0], 1, None, None, "include", None)
    if way == "previous":
        undo_model_based_speedups(monkeypatch)
    run(config)  # loads and predicts the dataset once, outside the timing
    result = benchmark.pedantic(run, args=(config,), rounds=1 if benchmark.disabled else 5, iterations=1)
    assert_same_trajectories([result.trajectory], [_REFERENCE.setdefault(case, result.trajectory)])


# --- the main job's model-based runs, every speed-up at identical trajectories undone --------------


def previous_validate_ops(arch):
    """NB201's value check as before: op by op, rebuilding the tuple every time."""
    from collections.abc import Sequence

    from nasbench_suite.spaces import nb201
    from nasbench_suite.spaces.base import MalformedArchError

    if isinstance(arch, str | bytes) or not isinstance(arch, Sequence | np.ndarray):
        raise MalformedArchError(nb201._SPACE, arch, "expected an NB201 string or a sequence of 6 op names")
    ops = tuple(arch)
    if len(ops) != len(nb201.EDGES):
        raise MalformedArchError(nb201._SPACE, arch, f"expected {len(nb201.EDGES)} op names, got {len(ops)}")
    for edge, op in zip(nb201.EDGES, ops, strict=True):
        if not isinstance(op, str) or op not in nb201._OP_INDEX:
            raise MalformedArchError(nb201._SPACE, arch, f"unknown op {op!r} on edge {edge}")
    return tuple(str(op) for op in ops)


def undo_model_based_speedups(monkeypatch) -> None:
    """The model-based runs' code as it was before the speed work: scikit-learn's
    ``MLPRegressor.fit`` for BANANAS' members, ``xgboost.train`` for XGBoost's trees, the thread
    pools looked up at every refit (``threadpool_limits`` scans every loaded library), NB201
    values checked op by op and their class representatives found through the class key,
    Optuna's own ``TPESampler`` for ``optuna-tpe``. Each gives the same
    numbers as its replacement (the trajectories are compared column for column)."""
    from threadpoolctl import threadpool_limits

    from nasbench_suite.search import _guided, _tpe_categorical
    from nasbench_suite.spaces import nb201
    from nasbench_suite.surrogates.predictors import adam_mlp, xgb

    monkeypatch.setattr(adam_mlp, "train", previous_mlp_train)
    monkeypatch.setattr(xgb, "boost", previous_xgb_booster)
    monkeypatch.setattr(_guided, "_one_thread", lambda: threadpool_limits(limits=1))
    monkeypatch.setattr(nb201, "validate_ops", previous_validate_ops)
    monkeypatch.setattr(
        nb201.NB201Space,
        "canonical",
        lambda self, arch: nb201._representatives()[nb201.authors_key(self.validate(arch))],
    )
    monkeypatch.setattr(_tpe_categorical, "matches_optuna", lambda: False)  # Optuna's TPESampler


def _main_job_model_based_configs(reduced: bool) -> list:
    """Seed 0 of every model-based strategy of the standard suite on every dataset of the main
    job's sections (reduced: one dataset of the main section)."""
    from nasbench_suite.errors import NasbenchError
    from nasbench_suite.experiments.protocol import (
        STANDARD_BENCH,
        STANDARD_SECTIONS,
        STANDARD_STRATEGIES,
        standard_suite,
    )
    from nasbench_suite.experiments.runner import open_cached

    strategies = [s for s in STANDARD_STRATEGIES if search.strategy_class(s).model_based]
    configs = []
    for source in (STANDARD_BENCH,) if reduced else (STANDARD_BENCH, *STANDARD_SECTIONS):
        try:
            bench = open_cached(source)
        except NasbenchError as exc:
            pytest.skip(f"the shipped benchmark {source} does not open here: {exc}")
        datasets = list(bench.datasets)[:1] if reduced and source == STANDARD_BENCH else None
        configs += standard_suite(bench, source, strategies, datasets, [0], 1, None, None, "include", None)
    return configs


_MIX_REFERENCE: list[dict] = []


@pytest.mark.parametrize("way", ["current", "previous"])
def test_main_job_model_based_runs(benchmark, monkeypatch, way):
    """Seed 0 of each model-based strategy on each dataset of the main job (both sections): its
    CPU time is the main job's model-based time over 30 (each strategy runs 30 seeds per dataset).
    ``previous`` undoes every speed-up (:func:`undo_model_based_speedups`); the trajectories are
    the same, run for run, column for column. Time it with ``--benchmark-timer time.process_time``."""
    benchmark.group = "the main job's model-based runs, seed 0"
    configs = _main_job_model_based_configs(reduced=benchmark.disabled)
    if way == "previous":
        undo_model_based_speedups(monkeypatch)

    def sweep() -> list:
        return [run(config) for config in configs]

    if not benchmark.disabled:
        sweep()  # loads and predicts every dataset once, outside the timing
    results = benchmark.pedantic(sweep, rounds=1 if benchmark.disabled else 5, iterations=1)
    # As in the main job: BOHB needs learning curves (not on the surrogate), the warm-started
    # strategies a second dataset (not on the one-dataset section).
    skipped = {r.config.strategy for r in results if not r.ok}
    assert skipped <= {"bohb", "bananas-warm", "xgb-bo-warm"} and len(skipped) < len(results)
    trajectories = [r.trajectory for r in results]
    if not _MIX_REFERENCE or len(_MIX_REFERENCE[0]) != len(trajectories):
        _MIX_REFERENCE[:] = [trajectories]
    assert_same_trajectories(trajectories, _MIX_REFERENCE[0])


def test_main_job_model_based_runs_alternating(benchmark, monkeypatch):
    """The main job's model-based runs (as above), the two ways alternating round after round in
    one process: the VM's speed drifts by a fifth within minutes, which separate benchmarks of
    the two ways take into their ratio, and alternating cancels. Each round times one sweep each
    way (process CPU time); the medians, their ratio and each round's ratio are printed and kept
    in the benchmark's ``extra_info``. The first round's runs are compared, way against way."""
    if benchmark.disabled:
        pytest.skip("a timing: runs with --benchmark-enable")
    benchmark.group = "the main job's model-based runs, seed 0, both ways alternating"
    configs = _main_job_model_based_configs(reduced=False)
    seconds: dict[str, list[float]] = {"current": [], "previous": []}
    first: dict[str, list] = {}

    def sweep(way: str) -> None:
        with monkeypatch.context() as patch:
            if way == "previous":
                undo_model_based_speedups(patch)
            start = time.process_time()
            results = [run(config) for config in configs]
            seconds[way].append(time.process_time() - start)
        first.setdefault(way, [r.trajectory for r in results])

    def one_round() -> None:
        for way in seconds:
            sweep(way)

    one_round()  # loads and predicts every dataset once; not counted
    for times in seconds.values():
        times.clear()
    benchmark.pedantic(one_round, rounds=7, iterations=1)
    assert_same_trajectories(first["previous"], first["current"])
    now, before = statistics.median(seconds["current"]), statistics.median(seconds["previous"])
    per_round = [p / c for c, p in zip(seconds["current"], seconds["previous"], strict=True)]
    benchmark.extra_info.update(
        {"current_s": seconds["current"], "previous_s": seconds["previous"], "ratio_of_medians": before / now}
    )
    print(
        f"\nmedian CPU: current {now:.2f} s, previous {before:.2f} s, ratio {before / now:.2f} "
        f"(per round {min(per_round):.2f} to {max(per_round):.2f}, median {statistics.median(per_round):.2f})"
    )
