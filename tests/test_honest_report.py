"""Protocol v2 on the real NB201 table: the report never reuses what the search observed,
seed-mean observations carry the table's seed noise, suspect entries are flagged and can be
excluded, and the stored sizes are the counted network's (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nasbench_suite
from nasbench_suite.cli import main
from nasbench_suite.experiments import RunConfig, run
from nasbench_suite.experiments.metrics import resolve_metrics
from nasbench_suite.spaces import get as get_space
from nasbench_suite.train.counting import nb201_stats
from nasbench_suite.train.specs import dataset_spec
from tests.support import data_path

#: The benchmark's evaluation splits, as sets of halves of the data they are measured on:
#: ori-test is the whole test set, x-valid and x-test its two halves.
SPLIT_OF = {
    "valid_acc": {"x-valid"},
    "valid_acc_mean": {"x-valid"},
    "xtest_acc": {"x-test"},
    "test_acc": {"x-valid", "x-test"},
}
DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")


@pytest.fixture(scope="module")
def bench(nb201_table):
    with nasbench_suite.open_benchmark(nb201_table) as b:
        yield b


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_reported_data_is_disjoint_from_the_observed_data(bench, nb201_table, dataset):
    plan = resolve_metrics(bench, dataset)
    for strategy in ("rea", "local-search"):
        config = RunConfig(strategy, str(nb201_table), dataset, seed=2, budget_evals=120)
        t = run(config, bench=bench).trajectory
        assert np.isfinite(t["incumbent_report_biased"][-1])
        if plan.report_seed == "mean":
            # Different halves of the test data: no observed example is ever scored.
            assert SPLIT_OF[plan.observe].isdisjoint(SPLIT_OF[plan.report])
            has = t["incumbent"] != ""
            truth = bench.query_batch(list(t["incumbent"][has]), dataset, "mean", metrics=[plan.report])
            np.testing.assert_array_equal(t["incumbent_report"][has], truth[plan.report].to_numpy())
            continue
        # The same split, on seeds the run never observed for that architecture.
        assert plan.report == plan.observe == "valid_acc"
        observed_seeds: dict[str, set[int]] = {}
        for key, seed in zip(t["arch"], t["obs_seed"]):
            observed_seeds.setdefault(key, set()).add(int(seed))
        for key, report in zip(t["incumbent"], t["incumbent_report"]):
            if not key:
                continue
            held = [s for s in bench.arch_seeds(key, dataset) if s not in observed_seeds[key]]
            assert held, key
            values = [bench.query(key, dataset, s, metrics=["valid_acc"])["valid_acc"] for s in held]
            assert report in values


def test_the_leaderboard_shows_the_rule_and_the_old_reports_bias(bench, nb201_table):
    from nasbench_suite.experiments.leaderboard import summarise
    from nasbench_suite.experiments.report import _markdown

    configs = [
        RunConfig(s, str(nb201_table), "cifar10-valid", seed=seed, budget_evals=60)
        for s in ("random", "rea")
        for seed in range(4)
    ]
    results = [run(c, bench=bench) for c in configs]
    board = summarise(results, bench="nb201 table")
    (b,) = board.boards
    assert b.rule == "observed valid_acc; reported valid_acc (held-out seed); 150 flagged entries included"
    for row in b.rows:
        mine = [r.summary for r in results if r.config.strategy == row["strategy"]]
        diffs = [s["final_report_biased"] - s["final_report"] for s in mine]
        assert row["bias_mean"] == pytest.approx(np.mean(diffs))
    md = _markdown(board, [({"cifar10-valid": {"evals": "x.png"}}, None, "critical_difference.png")])
    assert f"Rule: {b.rule}." in md and "selection bias" in md


@pytest.mark.parametrize("dataset", ["cifar100", "ImageNet16-120"])
def test_seed_mean_observations_get_the_tables_seed_spread(bench, nb201_table, dataset):
    plan = resolve_metrics(bench, dataset)
    assert plan.observe == "valid_acc_mean" and plan.noise is not None and plan.noise_source == "test_acc"
    t = run(RunConfig("random", str(nb201_table), dataset, seed=3, budget_evals=600), bench=bench).trajectory
    keys = list(t["arch"])
    mean = bench.query_batch(keys, dataset, "mean", metrics=["valid_acc_mean"])["valid_acc_mean"].to_numpy()
    noise = t["observed"] - mean
    per_seed = bench.seed_matrix(keys, dataset, "test_acc")
    table_std = np.sqrt(np.nanmean(np.nanvar(per_seed, axis=1, ddof=1)))
    # The same spread as training seeds of the same architectures show in the table, and no bias.
    assert noise.std() == pytest.approx(table_std, rel=0.15)
    assert abs(noise.mean()) < 4 * noise.std() / np.sqrt(len(noise))


def test_params_m_is_the_counted_network_and_150_entries_are_flagged(bench, nb201_table, capsys):
    space = get_space("nb201")
    published = pd.read_csv(
        data_path("nb201", "nb201_per_seed.csv"), usecols=["arch", "dataset", "params_mb"]
    )
    published = published.drop_duplicates(["arch", "dataset"])
    for dataset in DATASETS:
        keys = bench.reference_archs(dataset)
        assert len(keys) == 15_625
        got = bench.query_batch(
            keys, dataset, "mean", metrics=["params_m", "flops_m", "params_m_published", "suspect"]
        )
        spec = dataset_spec(dataset)
        counted = [nb201_stats(space.parse(k), spec) for k in keys]
        np.testing.assert_allclose(got["params_m"], [c.params_m for c in counted], rtol=0, atol=1e-12)
        np.testing.assert_allclose(got["flops_m"], [c.flops_m for c in counted], rtol=0, atol=1e-9)
        mine = published[published.dataset == dataset].set_index("arch").loc[keys, "params_mb"].to_numpy()
        np.testing.assert_array_equal(got["params_m_published"].to_numpy(), mine)
        differ = np.abs(got["params_m"].to_numpy() - mine) > 1e-6
        assert differ.sum() == 150
        np.testing.assert_array_equal(got["suspect"].to_numpy() > 0, differ)
    assert main(["info", str(nb201_table)]) == 0
    assert capsys.readouterr().out.count("suspect entries: 150 flagged") == 3


def test_xtest_is_derived_only_where_the_releases_agree(bench):
    keys = bench.reference_archs("cifar10-valid")
    c10 = bench.query_batch(keys, "cifar10-valid", "mean", metrics=["valid_acc", "valid_acc_mean"])
    agree = (c10["valid_acc"] - c10["valid_acc_mean"]).abs().to_numpy() <= 5.1e-4
    assert 0.8 < agree.mean() < 0.9
    for dataset in ("cifar100", "ImageNet16-120"):
        got = bench.query_batch(keys, dataset, "mean", metrics=["test_acc", "valid_acc_mean", "xtest_acc"])
        xtest = got["xtest_acc"].to_numpy()
        np.testing.assert_array_equal(np.isfinite(xtest), agree)
        expected = 2 * got["test_acc"].to_numpy() - got["valid_acc_mean"].to_numpy()
        np.testing.assert_allclose(xtest[agree], expected[agree], rtol=0, atol=1e-9)


def test_flagged_entries_can_be_excluded_and_every_rule_says_which(bench, nb201_table):
    flagged = set(resolve_metrics(bench, "cifar100", suspect="exclude").excluded)
    assert len(flagged) == 150
    config = RunConfig("random", str(nb201_table), "cifar100", seed=0, budget_evals=3000, suspect="exclude")
    result = run(config, bench=bench)
    t = result.trajectory
    hit = np.isin(t["arch"], list(flagged))
    assert hit.any() and np.isnan(t["observed"][hit]).all() and (t["cost_s"][hit] == 0).all()
    assert not set(t["incumbent"]) & flagged
    assert "150 flagged entries excluded" in result.rule
    included = run(config.replace(suspect="include", budget_evals=5), bench=bench)
    assert "150 flagged entries included" in included.rule


def test_a_surrogate_reports_its_noise_free_mean():
    with nasbench_suite.open_benchmark("nb201") as surrogate:
        for dataset in DATASETS:
            plan = resolve_metrics(surrogate, dataset)
            assert plan.report_seed == "mean"
            assert (plan.noise is not None) == (plan.observe == "valid_acc_mean")


def test_search_and_leaderboard_take_exclude_suspect(nb201_table, tmp_path, capsys):
    args = ["search", "--strategy", "random", "--bench", str(nb201_table), "--dataset", "cifar100"]
    args += ["--budget-evals", "5", "--seeds", "0", "--executor", "serial", "-o", str(tmp_path / "r.parquet")]
    assert main([*args, "--exclude-suspect"]) == 0
    assert "150 flagged entries excluded" in capsys.readouterr().out
    assert main(args) == 0
    assert "150 flagged entries included" in capsys.readouterr().out
