"""The runner: simulated clock, budgets, regret, multi-fidelity charging, closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_suite.bench import open_benchmark
from nasbench_suite.experiments import RunConfig, RunConfigError, run
from nasbench_suite.experiments.metrics import (
    MetricRuleError,
    anytime_auc,
    hypervolume_2d,
    normalised_hypervolume,
    pareto_front_2d,
    resolve_metrics,
)
from nasbench_suite.stats import average_ranks, holm, mean_se, wilcoxon_vs_reference
from nasbench_suite.tabular import write_table
from tests.support import synthetic_table


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """Every one of the 81 toy-chain archs, 3 seeds (some missing), costs 100..1000 s."""
    path = tmp_path_factory.mktemp("toy") / "toy.h5"
    write_table(path, synthetic_table(n_archs=81, seed=3))
    return str(path)


@pytest.fixture(scope="module")
def toy_partial(tmp_path_factory):
    """20 of the 81 archs: most proposals are not in the table."""
    path = tmp_path_factory.mktemp("toy") / "partial.h5"
    write_table(path, synthetic_table(n_archs=20, seed=4))
    return str(path)


@pytest.fixture(scope="module")
def toy_curves(tmp_path_factory):
    """All 81 archs with 10-epoch curves, 10 s per epoch."""
    path = tmp_path_factory.mktemp("toy") / "curves.h5"
    write_table(path, synthetic_table(n_archs=81, seed=5, epochs=10))
    return str(path)


def assert_same_trajectory(a: dict, b: dict) -> None:
    """Two trajectories are identical, column by column (NaN equal to NaN)."""
    assert list(a) == list(b)
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        same = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else np.array_equal(x, y)
        assert same, key


def _config(bench: str, **kw) -> RunConfig:
    kw.setdefault("dataset", "toy")
    kw.setdefault("strategy", "rea")
    if "budget_evals" not in kw:
        kw.setdefault("budget_s", 20_000.0)
    return RunConfig(bench=bench, **kw)


# --- config ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"budget_s": None},
        {"budget_s": 10.0, "budget_evals": 5},
        {"budget_s": -1.0},
        {"budget_s": math.inf},
        {"budget_evals": 0, "budget_s": None},
        {"workers": 0},
        {"seed": -1},
        {"seed": 1.5},
        {"strategy_options": {"x": object()}},
        {"observe_metric": ""},
    ],
)
def test_config_rejects_bad_settings(toy, bad):
    kw = {"budget_s": 100.0, **bad}
    with pytest.raises(RunConfigError):
        RunConfig("random", toy, "toy", **kw)


def test_config_round_trips_through_a_dict(toy):
    config = RunConfig("rea", toy, "toy", seed=4, budget_evals=7, strategy_options={"sample_size": 2})
    assert RunConfig.from_dict(config.to_dict()) == config
    assert config.options == {"sample_size": 2}
    with pytest.raises(RunConfigError, match="unknown run setting"):
        RunConfig.from_dict({**config.to_dict(), "budget": 3})


# --- clock and budgets --------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_time_budget_is_never_exceeded_and_clock_is_consistent(toy, workers):
    result = run(_config(toy, workers=workers, budget_s=7_000.0, seed=2))
    t = result.trajectory
    assert len(t["eval"]) > workers
    assert t["time_s"].max() <= 7_000.0
    assert np.all(np.diff(t["time_s"]) >= 0)
    # Each simulated worker runs its evaluations back to back from time 0.
    for w in range(workers):
        mine = t["worker"] == w
        assert np.allclose(t["time_s"][mine], np.cumsum(t["cost_s"][mine]))
    # No evaluation that would have finished within the budget is missing: the worker that
    # would have run next finishes after the budget.
    assert result.summary["time_s"] == t["time_s"][-1]


def test_eval_budget_runs_exactly_that_many(toy):
    for workers in (1, 4):
        result = run(_config(toy, workers=workers, budget_evals=37))
        assert len(result.trajectory["eval"]) == 37
        assert sorted(result.trajectory["trial_id"].tolist()) == list(range(37))


def test_sequential_clock_is_the_running_sum_of_costs(toy):
    t = run(_config(toy, strategy="random", budget_evals=50)).trajectory
    assert np.allclose(t["time_s"], np.cumsum(t["cost_s"]))
    assert (t["worker"] == 0).all()


def test_same_seed_same_trajectory_and_workers_change_it(toy):
    a = run(_config(toy, seed=5, workers=2)).trajectory
    b = run(_config(toy, seed=5, workers=2)).trajectory
    c = run(_config(toy, seed=5, workers=1)).trajectory
    assert_same_trajectory(a, b)
    assert not np.array_equal(a["time_s"][:20], c["time_s"][:20])


def test_incumbent_is_the_best_observed_and_regret_is_best_minus_report(toy):
    for strategy in ("random", "rea", "local-search"):
        result = run(_config(toy, strategy=strategy, workers=2, seed=1))
        t = result.trajectory
        best_so_far = np.maximum.accumulate(np.where(np.isnan(t["observed"]), -np.inf, t["observed"]))
        assert np.array_equal(t["incumbent_observed"], best_so_far)
        # A held-out seed can beat the best seed mean, so regret is not bounded by 0 here.
        assert np.allclose(t["regret"], result.summary["best_report"] - t["incumbent_report"])
        assert np.all(np.diff(t["incumbent_observed"]) >= 0)


def test_report_and_regret_follow_the_rule(toy):
    bench = open_benchmark(toy)
    result = run(_config(toy, strategy="random", budget_evals=30), bench=bench)
    plan = resolve_metrics(bench, "toy")
    assert (plan.observe, plan.report, plan.report_seed) == ("valid_acc", "valid_acc", "held-out")
    means = bench.query_batch(bench.reference_archs("toy"), "toy", seed="mean", metrics=["valid_acc"])
    assert plan.best_report == pytest.approx(means["valid_acc"].max())
    t = result.trajectory
    for key, report, regret, biased in zip(
        t["incumbent"], t["incumbent_report"], t["regret"], t["incumbent_report_biased"]
    ):
        # The report is one stored seed's value (the held-out one); the biased figure the mean.
        per_seed = [
            bench.query(key, "toy", s, metrics=["valid_acc"])["valid_acc"]
            for s in bench.arch_seeds(key, "toy")
        ]
        assert any(report == pytest.approx(v) for v in per_seed)
        assert biased == pytest.approx(bench.query(key, "toy", "mean", metrics=["valid_acc"])["valid_acc"])
        assert regret == pytest.approx(plan.best_report - report)


def test_unknown_architectures_are_failed_evaluations(toy_partial):
    t = run(_config(toy_partial, strategy="random", budget_evals=60)).trajectory
    failed = np.isnan(t["observed"])
    assert failed.any() and (~failed).any()
    assert (t["cost_s"][failed] == 0).all()
    assert (t["incumbent"][failed] == t["incumbent"][np.flatnonzero(failed) - 1]).all() or failed[0]


def test_a_time_budget_needs_costs(tmp_path):
    data = synthetic_table(n_archs=81, seed=1)
    ds = data.datasets["toy"]
    del ds.per_seed["train_time_s"]
    del ds.metrics["train_time_s"]
    path = tmp_path / "nocost.h5"
    write_table(path, data)
    with pytest.raises(RunConfigError, match="budget_evals"):
        run(_config(str(path), budget_s=100.0))
    assert len(run(_config(str(path), budget_evals=10)).trajectory["eval"]) == 10


def test_metric_overrides_and_errors(toy):
    bench = open_benchmark(toy)
    from nasbench_suite.errors import UnknownMetricError

    with pytest.raises(UnknownMetricError):
        run(_config(toy, report_metric="test_acc"), bench=bench)
    result = run(_config(toy, budget_evals=20, observe_metric="params_m"), bench=bench)
    assert np.array_equal(
        result.trajectory["observed"],
        bench.query_batch(list(result.trajectory["arch"]), "toy", "mean", metrics=["params_m"])["params_m"],
    )


def test_no_observable_metric_is_a_named_error(tmp_path):
    data = synthetic_table(n_archs=81, seed=1)
    ds = data.datasets["toy"]
    ds.per_seed["acc"] = ds.per_seed.pop("valid_acc")
    ds.metrics["acc"] = ds.metrics.pop("valid_acc")
    path = tmp_path / "noacc.h5"
    write_table(path, data)
    with pytest.raises(MetricRuleError, match="--observe-metric"):
        run(_config(str(path)))


# --- multi-fidelity and multi-objective -------------------------------------------


def test_multi_fidelity_charges_only_the_new_epochs(toy_curves):
    result = run(_config(toy_curves, strategy="hyperband", budget_s=8_000.0, workers=3, seed=1))
    t = result.trajectory
    assert result.ok and len(t["eval"]) > 20
    assert (t["epoch"] > 0).all() and t["epoch"].max() == 10
    # 10 s per epoch: a resumed run pays only for the epochs it adds; a proposal at an
    # epoch the architecture already reached is a new run and pays for all its epochs.
    reached: dict[str, int] = {}
    launch_order = np.argsort(t["trial_id"])  # the runner charges when an evaluation starts
    for arch, epoch, cost in zip(
        t["arch"][launch_order], t["epoch"][launch_order], t["cost_s"][launch_order]
    ):
        previous = reached.get(arch, 0)
        assert cost == pytest.approx(10.0 * (epoch - previous if epoch > previous else epoch))
        reached[arch] = epoch
    assert (t["full"] == (t["epoch"] == 10)).all()
    partial_before_full = ~np.maximum.accumulate(t["full"])
    assert (t["incumbent"][partial_before_full] == "").all()


def test_multi_fidelity_strategy_is_not_applicable_without_curves(toy):
    result = run(_config(toy, strategy="sh"))
    assert result.status == "not-applicable" and "per-epoch" in result.message
    assert result.trajectory == {}


def test_second_objective_and_hypervolume(toy):
    bench = open_benchmark(toy)
    result = run(
        _config(toy, strategy="random", budget_evals=40, second_objective="latency_ms_cpu"), bench=bench
    )
    plan = resolve_metrics(bench, "toy", second="latency_ms_cpu")
    hv = result.summary["hypervolume"]
    best_hv = normalised_hypervolume(plan, *plan.reference_front.T)
    assert 0 < hv <= best_hv <= 1
    assert np.isfinite(result.trajectory["second"]).all()
    assert math.isnan(run(_config(toy, budget_evals=5), bench=bench).summary["hypervolume"])


# --- closed forms of the metrics ------------------------------------------------------


def test_anytime_auc_closed_form():
    # regret 4 until t=2, then 1 until t=6, then 0 until the budget 10: (8 + 4 + 0) / 10.
    assert anytime_auc(np.array([2.0, 6.0]), np.array([1.0, 0.0]), 10.0, 4.0) == pytest.approx(1.2)
    assert anytime_auc(np.array([]), np.array([]), 10.0, 4.0) == pytest.approx(4.0)
    assert anytime_auc(np.array([2.0]), np.array([np.nan]), 4.0, 3.0) == pytest.approx(3.0)


def test_hypervolume_closed_form():
    points = np.array([[0.2, 0.8], [0.5, 0.5], [0.8, 0.2], [0.6, 0.6], [np.nan, 0.1]])
    assert pareto_front_2d(points).tolist() == [[0.2, 0.8], [0.5, 0.5], [0.8, 0.2]]
    # Staircase: 0.3*0.2 + 0.3*0.5 + 0.2*0.8.
    assert hypervolume_2d(points, (1.0, 1.0)) == pytest.approx(0.06 + 0.15 + 0.16)
    assert hypervolume_2d(np.array([[2.0, 2.0]]), (1.0, 1.0)) == 0.0


def test_stats_closed_forms():
    mean, se = mean_se([1.0, 2.0, 3.0, np.nan])
    assert (mean, se) == pytest.approx((2.0, 1 / math.sqrt(3)))
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, np.nan])[0] == 0.5 and math.isnan(holm([0.5, np.nan])[1])
    ranks = average_ranks(np.array([[1.0, 2.0, 2.0], [3.0, 1.0, np.nan]]))
    assert ranks.tolist() == pytest.approx([1.5, 1.75, 2.75])  # ranks [1, 2.5, 2.5] and [2, 1, 3]
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 30)
    tests = wilcoxon_vs_reference({"a": a, "b": a + 1.0, "c": a.copy()}, "a")
    assert tests["b"][0] < 1e-5 and tests["c"] == (1.0, 1.0) and math.isnan(tests["a"][0])


# --- correctness on the real NB201 table ------------------------------------------------


def test_random_search_matches_the_order_statistics_expectation(nb201_table):
    """E[best observed after n evaluations] = E[max of n i.i.d. draws] of the observed values.

    Each evaluation draws an architecture uniformly from the 15,625 and one of its
    stored seeds uniformly: observed value v_ij has probability 1 / (N * s_i). The
    incumbent's observed value after n evaluations is the max of n such draws, whose
    expectation is sum_k v_k (F(v_k)^n - F(v_k^-)^n) over the sorted distinct values.
    """
    from nasbench_suite.tabular import Table

    with Table(nb201_table) as table:
        values = table.metric("cifar10-valid", "valid_acc", "per_seed")
        present = table.present("cifar10-valid")
    n_archs = len(values)
    weights = np.where(present, 1.0 / (n_archs * present.sum(axis=1, keepdims=True)), 0.0)
    v, w = values[present], weights[present]
    distinct, inverse = np.unique(v, return_inverse=True)
    cdf = np.cumsum(np.bincount(inverse, weights=w))
    cdf /= cdf[-1]
    n_seeds, checkpoints = 300, (1, 5, 20, 60)
    bench = open_benchmark(nb201_table)
    best = np.array(
        [
            run(
                RunConfig("random", str(nb201_table), "cifar10-valid", seed=s, budget_evals=max(checkpoints)),
                bench=bench,
            ).trajectory["incumbent_observed"]
            for s in range(n_seeds)
        ]
    )
    for n in checkpoints:
        expected = float(np.sum(distinct * (cdf**n - np.concatenate([[0.0], cdf[:-1]]) ** n)))
        observed = best[:, n - 1]
        se = observed.std(ddof=1) / math.sqrt(n_seeds)
        assert abs(observed.mean() - expected) < 4 * se, (n, observed.mean(), expected, se)


def test_rea_with_population_and_sample_equal_to_budget_is_random_search(nb201_table):
    bench = open_benchmark(nb201_table)
    for seed in range(3):
        rs = run(RunConfig("random", str(nb201_table), "cifar100", seed=seed, budget_evals=64), bench=bench)
        options = {"population_size": 64, "sample_size": 64}
        rea = run(rs.config.replace(strategy="rea", strategy_options=options), bench=bench)
        assert_same_trajectory(rs.trajectory, rea.trajectory)


def test_real_table_budgets_and_regret(nb201_table):
    bench = open_benchmark(nb201_table)
    for dataset, budget in (("cifar10-valid", 1e5), ("cifar100", 2e5), ("ImageNet16-120", 6e5)):
        plan = resolve_metrics(bench, dataset)
        assert plan.observe == ("valid_acc" if dataset == "cifar10-valid" else "valid_acc_mean")
        assert plan.report == ("valid_acc" if dataset == "cifar10-valid" else "xtest_acc")
        for workers in (1, 4):
            result = run(
                RunConfig("rea", str(nb201_table), dataset, budget_s=budget, workers=workers), bench=bench
            )
            t = result.trajectory
            assert t["time_s"].max() <= budget
            # A held-out seed (cifar10-valid) can beat the best seed mean by a seed's spread; an
            # architecture without x-test is no incumbent, so regret starts at the first that has one.
            regret = t["regret"][t["incumbent"] != ""]
            assert np.isfinite(regret).all() and len(regret) > 0
            assert np.all(regret >= (-1.0 if plan.report_seed == "held-out" else 0.0))
