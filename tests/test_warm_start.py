"""Warm starts from a source dataset: the runner builds the prior, the strategies start from it,
it costs nothing, and a benchmark with one dataset has no warm start."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from nasbench_suite import search
from nasbench_suite.cli import main
from nasbench_suite.errors import UnknownDatasetError
from nasbench_suite.experiments import RunConfig, run
from nasbench_suite.experiments.config import RunConfigError
from nasbench_suite.experiments.driver import Driver
from nasbench_suite.experiments.executors import run_many
from nasbench_suite.experiments.protocol import STANDARD_STRATEGIES
from nasbench_suite.experiments.runner import open_cached
from nasbench_suite.experiments.warm_start import DEFAULT_WARM_SOURCES, warm_source
from nasbench_suite.search.prior import PriorError, TransferPrior
from nasbench_suite.tabular import write_table
from tests.support import synthetic_table

WARM = ("rea-warm", "bananas-warm", "xgb-bo-warm")
#: The initial design each warm strategy takes from the prior (REA's population, num_init).
N_INIT = 10


def _two_datasets() -> object:
    """The 81-architecture toy table with a second dataset, ``source``: the target's accuracy plus
    noise (a related task), on one seed."""
    table = synthetic_table(n_archs=81, seed=1, missing_fraction=0.0)
    target = table.datasets["toy"]
    rng = np.random.default_rng(5)
    source_acc = np.nanmean(target.per_seed["valid_acc"], axis=1) + rng.normal(0, 3, 81)
    table.datasets["source"] = dataclasses.replace(
        target,
        seeds=np.array([0]),
        present=np.ones((81, 1), bool),
        per_seed={"valid_acc": source_acc[:, None], "train_time_s": target.per_seed["train_time_s"][:, :1]},
    )
    return table, source_acc


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    path = tmp_path_factory.mktemp("warm") / "two.h5"
    table, source_acc = _two_datasets()
    write_table(path, table)
    return str(path), dict(zip(table.keys, source_acc))


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    path = tmp_path_factory.mktemp("warm1") / "one.h5"
    write_table(path, synthetic_table(n_archs=81, seed=1))
    return str(path)


def _source_best(source: dict[str, float], n: int) -> list[str]:
    return sorted(source, key=lambda k: (-source[k], k))[:n]


@pytest.mark.parametrize("name", WARM)
def test_first_proposals_are_the_source_best(two, name):
    path, source = two
    result = run(RunConfig(name, path, "toy", seed=3, budget_evals=20))
    assert result.ok, result.message
    assert list(result.trajectory["arch"][:N_INIT]) == _source_best(source, N_INIT)
    assert "warm start from source (valid_acc, seed mean, 81 architectures; charged nothing)" in result.rule


@pytest.mark.parametrize("name", ["rea-warm", "xgb-bo-warm"])
def test_the_prior_is_charged_nothing(two, name):
    """The clock starts at 0 and advances by training costs only: the first result finishes at
    its own cost, every later one at the sum of the costs so far (W = 1); every row is a training."""
    path, _ = two
    result = run(RunConfig(name, path, "toy", seed=0, budget_s=3_000.0))
    t = result.trajectory
    assert result.ok and len(t["eval"]) >= 3
    assert t["time_s"][0] == pytest.approx(t["cost_s"][0])
    assert np.allclose(t["time_s"], np.cumsum(t["cost_s"]))
    assert (t["epoch"] == -1).all() and (t["cost_s"] > 0).all()
    assert result.summary["n_evals"] == len(t["eval"])


def test_warm_beats_cold_at_the_start_on_nb201():
    """After the initial design (10 trainings), the source's best beat random architectures."""
    bench = open_cached("nb201")

    def regret(name: str, seed: int) -> float:
        config = RunConfig(name, "nb201", "cifar100", seed=seed, budget_evals=N_INIT)
        return run(config, bench).summary["final_regret"]

    for cold, warm in (("rea", "rea-warm"), ("xgb-bo", "xgb-bo-warm")):
        assert np.mean([regret(warm, s) for s in range(5)]) < np.mean([regret(cold, s) for s in range(5)])


@pytest.mark.parametrize("name", WARM)
def test_not_applicable_on_a_benchmark_with_one_dataset(one, name):
    result = run(RunConfig(name, one, "toy", budget_evals=5))
    assert result.status == "not-applicable"
    assert "no source dataset to warm-start from" in result.message


def test_search_exits_3_on_one_dataset_and_takes_a_source(one, two, tmp_path, capsys):
    out = tmp_path / "runs.parquet"
    argv = ["search", "--strategy", "rea-warm", "--dataset", "toy", "--budget-evals", "5", "-o", str(out)]
    assert main([*argv, "--bench", one]) == 3
    assert "not applicable: no source dataset" in capsys.readouterr().err
    assert main([*argv, "--bench", two[0], "--warm-source", "source"]) == 0
    assert "warm start from source" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("strategy", "source", "needle"),
    [
        ("rea-warm", "nope", "unknown dataset 'nope'"),
        ("rea-warm", "toy", "is the target dataset"),
        ("rea", "source", "does not start from a source dataset"),
    ],
)
def test_bad_warm_source_is_one_line_exit_2(two, tmp_path, capsys, strategy, source, needle):
    out = tmp_path / "runs.parquet"
    argv = ["search", "--strategy", strategy, "--bench", two[0], "--dataset", "toy", "--budget-evals", "5"]
    assert main([*argv, "-o", str(out), "--warm-source", source]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_default_sources_follow_the_transfer_report():
    nb201 = SimpleNamespace(datasets=["ImageNet16-120", "cifar10-valid", "cifar100"])
    assert {d: warm_source(nb201, d) for d in nb201.datasets} == DEFAULT_WARM_SOURCES
    assert warm_source(nb201, "cifar100", "ImageNet16-120") == "ImageNet16-120"
    # One dataset at two budgets is one dataset: no source.
    assert (
        warm_source(SimpleNamespace(datasets=["cifar10-valid", "cifar10-valid@12"]), "cifar10-valid") is None
    )
    with pytest.raises(UnknownDatasetError):
        warm_source(nb201, "cifar100", "svhn")
    with pytest.raises(RunConfigError, match="target dataset"):
        warm_source(nb201, "cifar100", "cifar100")


def test_the_prior_is_plain_data_read_from_the_source(two):
    """What the strategy is handed: architecture keys and floats, best first, no benchmark."""
    path, source = two
    seen = []

    class Spy(search.strategy_class("rea-warm")):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(self.context.prior)

    with search.registered("spy-warm", Spy):
        assert run(RunConfig("spy-warm", path, "toy", budget_evals=3)).ok
    prior = seen[0]
    assert type(prior) is TransferPrior and prior.source == "source" and len(prior) == 81
    assert all(type(k) is str for k in prior.keys) and all(type(a) is float for a in prior.accuracy)
    assert list(prior.keys) == _source_best(source, 81)
    assert np.allclose(prior.accuracy, [source[k] for k in prior.keys])


def test_transfer_prior_sorts_and_checks():
    prior = TransferPrior("s", ("b", "a", "c"), (1.0, 2.0, 2.0))
    assert prior.keys == ("a", "c", "b") and prior.accuracy == (2.0, 2.0, 1.0)
    assert np.array_equal(prior.source_of(["b", "zzz"]), [1.0, 2.0])  # unknown: the median
    for keys, acc in ((("a",), (1.0, 2.0)), ((), ()), (("a",), (float("nan"),))):
        with pytest.raises(PriorError):
            TransferPrior("s", keys, acc)


def test_warm_strategies_agree_across_executors(two):
    configs = [
        RunConfig(name, two[0], "toy", seed=1, workers=workers, budget_evals=25)
        for name in WARM
        for workers in (1, 3)
    ]
    serial = run_many(configs, "serial")
    assert all(r.ok for r in serial)
    pooled = run_many(configs, "local", processes=2, chunk_size=1)
    for a, b in zip(serial, pooled):
        assert list(a.trajectory["arch"]) == list(b.trajectory["arch"])
        assert np.array_equal(a.trajectory["observed"], b.trajectory["observed"])


def test_the_driver_offers_the_prior_to_an_external_optimiser(two):
    path, source = two
    with Driver(path, "toy", seed=0, budget_evals=3, warm_source="source") as driver:
        assert driver.prior.source == "source" and list(driver.prior.keys[:3]) == _source_best(source, 3)
        while not driver.done:
            driver.submit(driver.prior.keys[0])
    with Driver(path, "toy", seed=0, budget_evals=1) as cold:
        assert cold.prior is None


def test_the_standard_suite_has_the_warm_rows_beside_the_cold_ones():
    for warm in WARM:
        assert warm in STANDARD_STRATEGIES and warm.removesuffix("-warm") in STANDARD_STRATEGIES
        assert search.strategy_class(warm).warm_started
    assert "qlearning" in STANDARD_STRATEGIES


def test_the_nb201_surrogate_warm_starts_from_the_default_source():
    bench = open_cached("nb201")
    result = run(RunConfig("rea-warm", "nb201", "cifar10-valid", seed=0, budget_evals=3), bench)
    assert (
        result.ok
        and "warm start from cifar100 (valid_acc_mean, seed mean, 15,625 architectures" in result.rule
    )


def test_a_leaderboard_lists_the_warm_rows_as_not_applicable_on_one_dataset(one, two):
    from nasbench_suite.experiments.leaderboard import run_leaderboard
    from nasbench_suite.experiments.protocol import check_suite_runs

    board = run_leaderboard(
        one, strategies=["random", "rea-warm"], seeds=[0, 1], executor="serial", budget={"budget_evals": 5}
    )
    assert board.not_applicable.keys() == {"rea-warm"}
    assert [row["strategy"] for row in board.boards[0].rows] == ["random"]
    # The suite's own check builds the warm strategies where a source exists and skips them where not.
    check_suite_runs(open_cached(one), "toy")
    check_suite_runs(open_cached(two[0]), "toy")


def test_not_applicable_on_the_shipped_one_dataset_table(tmp_path, capsys):
    """The leaderboard's nb201-cpu section holds one dataset: no source to warm-start from."""
    out = tmp_path / "runs.parquet"
    argv = [
        "search",
        "--strategy",
        "xgb-bo-warm",
        "--bench",
        "nb201-cpu",
        "--dataset",
        "cifar10-valid@nb201-cpu",
    ]
    assert main([*argv, "--budget-evals", "5", "-o", str(out)]) == 3
    assert "xgb-bo-warm: not applicable: no source dataset" in capsys.readouterr().err


def test_inside_a_pool_the_prior_holds_the_pool_only(two, tmp_path):
    """A sparse table searched over what it holds: the prior is the pool's part of the source."""
    table, source_acc = _two_datasets()
    keep = np.arange(0, 81, 2)  # 41 of the 81 architectures on the target
    target = table.datasets["toy"]
    target.present[np.setdiff1d(np.arange(81), keep)] = False
    for values in target.per_seed.values():
        values[~target.present] = np.nan
    path = tmp_path / "sparse-two.h5"
    write_table(path, table)
    result = run(RunConfig("rea-warm", str(path), "toy", seed=0, budget_evals=12, search_pool="table"))
    assert result.ok and np.isfinite(result.trajectory["observed"]).all()
    pool = {table.keys[i]: source_acc[i] for i in keep}
    assert list(result.trajectory["arch"][:N_INIT]) == _source_best(pool, N_INIT)
    assert "41 architectures; charged nothing" in result.rule


def test_the_board_names_the_warm_rows_source_beside_the_cold_rule():
    from nasbench_suite.experiments.leaderboard import _board_rule

    cold = "observe valid_acc with seed noise; report the held-out seed"
    warm = (
        f"{cold}; warm start from cifar100 (valid_acc_mean, seed mean, 15,625 architectures; charged nothing)"
    )
    assert _board_rule([warm, cold]) == (
        f"{cold}; the warm-started rows start from cifar100 (valid_acc_mean, seed mean, 15,625 architectures;"
        " charged nothing)"
    )
    assert _board_rule([cold]) == cold
    assert _board_rule([warm]).startswith(f"{cold}; the warm-started rows start from cifar100")
    assert _board_rule([]) == "not recorded"


def test_the_leaderboard_takes_a_warm_source_per_target(two, tmp_path, capsys):
    """--warm-source TARGET=SOURCE reaches the warm rows only, and the board's rule line names it;
    a source that is the target, a dataset the benchmark lacks or a malformed pair is one line, exit 2."""
    from nasbench_suite.experiments.protocol import standard_suite

    configs = standard_suite(
        open_cached(two[0]), two[0], ["random", "rea-warm"], ["toy"], [0], warm_sources={"toy": "source"}
    )
    assert {(c.strategy, c.warm_source) for c in configs} == {("random", None), ("rea-warm", "source")}
    base = ["leaderboard", "--bench", two[0], "--strategies", "random,rea-warm", "--datasets", "toy"]
    base += ["--seeds", "0-1", "--budget-evals", "5", "--executor", "serial", "--section", "none"]
    assert main([*base, "--warm-source", "toy=source", "--out", str(tmp_path)]) == 0
    assert "the warm-started rows start from source" in (tmp_path / "leaderboard.md").read_text()
    for spec, needle in (
        ("toy=toy", "is the target dataset"),
        ("toy=cifar100", "unknown dataset 'cifar100'"),
        ("cifar10=source", "unknown dataset 'cifar10'"),
        ("toy", "expected TARGET=SOURCE pairs"),
    ):
        capsys.readouterr()
        assert main([*base, "--warm-source", spec, "--out", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1, err
