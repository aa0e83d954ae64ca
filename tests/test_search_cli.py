"""`nasbench search` and `nasbench leaderboard`: outputs, files, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from nasbench_suite import search
from nasbench_suite.bench import open_benchmark
from nasbench_suite.cli import UsageError, main
from nasbench_suite.cli.search import parse_seeds
from nasbench_suite.experiments.protocol import (
    PROTOCOL_VERSION,
    STANDARD_STRATEGIES,
    STANDARD_STRATEGIES_V1,
    STANDARD_STRATEGIES_V2,
    STANDARD_STRATEGIES_V3,
    STANDARD_STRATEGIES_V4,
    STANDARD_STRATEGIES_V5,
    standard_suite,
)
from nasbench_suite.experiments.trajectory import read_runs
from nasbench_suite.search.random import RandomSearch
from nasbench_suite.tabular import write_table
from tests.support import REPO, synthetic_table


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("search-cli") / "toy.h5"
    write_table(path, synthetic_table(n_archs=81, seed=2))
    return path


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors (also one line, exit 2)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, expected=2):
    assert code == expected
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nasbench: "), err
    assert expected != 2 or lines[0].startswith("nasbench: error: "), err


def test_search_writes_one_run_per_seed(capsys, table, tmp_path):
    out_file = tmp_path / "runs.parquet"
    code, out, _ = run(
        capsys, "search", "--strategy", "rea", "--bench", table, "--dataset", "toy", "--budget-evals", 25,
        "--seeds", "0-4", "--workers", 2, "--option", "population_size=5", "--option", "sample_size=2",
        "--executor", "serial", "-o", out_file,
    )  # fmt: skip
    assert code == 0, out
    assert "rea on toy: 5 runs, 25 evaluations" in out and "final regret" in out and "±" in out
    frame, results = read_runs(out_file)
    assert [r.config.seed for r in results] == [0, 1, 2, 3, 4]
    assert all(
        r.config.workers == 2 and r.config.options == {"population_size": 5, "sample_size": 2}
        for r in results
    )
    assert len(frame) == 125 and (frame["regret"] >= 0).all()


def test_search_with_time_budget_and_local_pool(capsys, table, tmp_path):
    out_file = tmp_path / "runs.parquet"
    code, _, _ = run(
        capsys, "search", "--strategy", "random", "--bench", table, "--dataset", "toy", "--budget-s", 3000,
        "--seeds", "3,5", "--processes", 2, "-o", out_file,
    )  # fmt: skip
    assert code == 0
    frame, _ = read_runs(out_file)
    assert sorted(set(frame["seed"])) == [3, 5] and frame["time_s"].max() <= 3000


def test_not_applicable_strategy_says_so_and_exits_3(capsys, table, tmp_path):
    code, _, err = run(
        capsys, "search", "--strategy", "sh", "--bench", table, "--dataset", "toy", "--budget-evals", 5,
        "-o", tmp_path / "r.parquet", "--executor", "serial",
    )  # fmt: skip
    assert_one_line_error(code, err, expected=3)
    assert "sh: not applicable" in err and "per-epoch" in err
    assert [r.status for r in read_runs(tmp_path / "r.parquet")[1]] == ["not-applicable"]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("o.csv", "written as Parquet; name the file NAME.parquet"),
        ("missing_dir/o.parquet", "missing_dir does not exist; create it first"),
    ],
)
def test_search_output_must_be_parquet_in_an_existing_folder(capsys, table, tmp_path, output, message):
    code, _, err = run(
        capsys, "search", "--strategy", "random", "--bench", table, "--dataset", "toy", "--budget-evals", 3,
        "-o", tmp_path / output, "--executor", "serial",
    )  # fmt: skip
    assert_one_line_error(code, err)
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_unreachable_ray_address_fails_fast_in_one_line(capsys, table, tmp_path, monkeypatch):
    import socket

    from nasbench_suite.experiments import executors

    code, _, err = run(
        capsys, "search", "--strategy", "random", "--bench", table, "--dataset", "toy", "--budget-evals", 3,
        "-o", tmp_path / "r.parquet", "--executor", "ray", "--ray-address", "127.0.0.1:1",
    )  # fmt: skip
    assert_one_line_error(code, err)
    assert "cannot reach the Ray cluster at '127.0.0.1:1'" in err

    def silent(*args, **kwargs):
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", silent)
    with pytest.raises(
        executors.ExecutorError, match=r"'ray://10.0.0.1:10001': timed out \(waited at most 10 s\)"
    ):
        executors.check_ray_address("ray://10.0.0.1:10001")
    executors.check_ray_address("auto")  # left to Ray


@pytest.mark.parametrize(
    "argv",
    [
        ["--strategy", "nope", "--dataset", "toy", "--budget-evals", "5"],
        ["--strategy", "rea", "--dataset", "nope", "--budget-evals", "5"],
        ["--strategy", "rea", "--dataset", "toy", "--budget-evals", "0"],
        ["--strategy", "rea", "--dataset", "toy", "--budget-s", "-3"],
        ["--strategy", "rea", "--dataset", "toy", "--budget-evals", "5", "--budget-s", "3"],
        ["--strategy", "rea", "--dataset", "toy", "--budget-evals", "5", "--seeds", "4-1"],
        ["--strategy", "rea", "--dataset", "toy", "--budget-evals", "5", "--option", "bogus=1"],
        ["--strategy", "rea", "--dataset", "toy", "--budget-evals", "5", "--option", "sample_size=99"],
        ["--strategy", "rea", "--dataset", "toy", "--budget-evals", "5", "--workers", "0"],
        ["--strategy", "rea", "--dataset", "toy", "--budget-evals", "5", "--report-metric", "test_acc"],
        ["--strategy", "rea", "--dataset", "toy", "--budget-evals", "5", "--processes", "0"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, table, tmp_path, argv):
    code, _, err = run(capsys, "search", "--bench", table, "-o", tmp_path / "r.parquet", *argv)
    assert_one_line_error(code, err)


def test_missing_bench_is_one_line(capsys, tmp_path):
    code, _, err = run(
        capsys, "search", "--strategy", "rea", "--bench", tmp_path / "none.h5", "--dataset", "x",
        "--budget-evals", 3, "-o", tmp_path / "r.parquet",
    )  # fmt: skip
    assert_one_line_error(code, err)


def test_output_fifo_is_refused_and_a_symlink_written_through(capsys, table, tmp_path):
    fifo = tmp_path / "fifo.parquet"
    os.mkfifo(fifo)
    args = ["search", "--strategy", "random", "--bench", table, "--dataset", "toy", "--budget-evals", 3]
    code, _, err = run(capsys, *args, "-o", fifo)
    assert_one_line_error(code, err)
    assert "is a FIFO" in err and fifo.exists() and not fifo.is_file()
    link = tmp_path / "latest.parquet"
    link.symlink_to(tmp_path / "real.parquet")
    code, _, err = run(capsys, *args, "--executor", "serial", "-o", link)
    assert code == 0, err
    assert link.is_symlink() and len(read_runs(tmp_path / "real.parquet")[1]) == 1


def test_parse_seeds():
    assert (
        parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("7") == [7] and parse_seeds("1,4, 9") == [1, 4, 9]
    )
    for bad in ("a", "1-", "2,2", "-1", "3-1"):
        with pytest.raises(UsageError):
            parse_seeds(bad)


def test_leaderboard_command_writes_the_report(capsys, table, tmp_path):
    code, out, _ = run(
        capsys, "leaderboard", "--bench", table, "--seeds", "0-3", "--strategies", "random,rea,sh",
        "--out", tmp_path / "results", "--processes", 2,
    )  # fmt: skip
    assert code == 0, out
    assert "toy: mean final regret" in out and "sh: not applicable" in out
    for name in ("leaderboard.md", "leaderboard.html", "runs.parquet", "regret_toy.png"):
        assert (tmp_path / "results" / name).exists(), name
    md = (tmp_path / "results" / "leaderboard.md").read_text()
    assert "seeds 0..3 (4 per strategy and dataset)" in md
    # Where the files lay shows only in the provenance's command line, as it was typed.
    command = next(line for line in md.splitlines() if line.startswith("- command:"))
    assert str(tmp_path) not in md.replace(command, "")
    _, results = read_runs(tmp_path / "results" / "runs.parquet")
    assert np.array_equal(sorted({r.config.seed for r in results}), range(4))


def test_leaderboard_bad_input(capsys, table, tmp_path):
    for argv in (["--strategies", "nope"], ["--datasets", "nope"], ["--seeds", "x"], ["--seeds", "2,2"]):
        code, _, err = run(capsys, "leaderboard", "--bench", table, "--out", tmp_path, *argv)
        assert_one_line_error(code, err)


def test_leaderboard_help_runs_as_a_command():
    out = subprocess.run(
        [sys.executable, "-m", "nasbench_suite.cli", "leaderboard", "--help"],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout  # fmt: skip
    assert "--exclude-model-based" in out and "--ray-address" in out and "--second-objective" in out


class _PluginWalk(RandomSearch):
    """A user strategy: registering it must not change the standard suite."""

    name = "test-plugin-walk"


def test_the_standard_suite_is_a_fixed_list_that_plugins_do_not_join(table, monkeypatch, capsys):
    bench = open_benchmark(str(table))
    with search.registered(_PluginWalk.name, _PluginWalk):
        configs = standard_suite(bench, str(table), seeds=[0])
        asked: list[list[str]] = []

        def fake_run_leaderboard(bench, strategies, **kwargs):
            asked.append(strategies)
            raise UsageError("stop here")

        monkeypatch.setattr("nasbench_suite.experiments.leaderboard.run_leaderboard", fake_run_leaderboard)
        run(capsys, "leaderboard", "--bench", table, "--seeds", 1)
        run(capsys, "leaderboard", "--bench", table, "--seeds", 1, "--exclude-model-based")
    assert PROTOCOL_VERSION == 5 and STANDARD_STRATEGIES == STANDARD_STRATEGIES_V5
    # Version 3 added ASHA and BOHB to the lists of versions 1 and 2 (which are one list).
    assert STANDARD_STRATEGIES_V2 == STANDARD_STRATEGIES_V1
    assert set(STANDARD_STRATEGIES_V3) - set(STANDARD_STRATEGIES_V2) == {"asha", "bohb"}
    assert set(STANDARD_STRATEGIES_V4) - set(STANDARD_STRATEGIES_V3) == {"dehb"}
    # Version 5 added Q-learning and the warm starts of REA, BANANAS and XGBoost BO.
    added = {"qlearning", "rea-warm", "bananas-warm", "xgb-bo-warm"}
    assert set(STANDARD_STRATEGIES_V5) - set(STANDARD_STRATEGIES_V4) == added
    assert list(STANDARD_STRATEGIES_V5) == sorted(STANDARD_STRATEGIES_V5)
    assert tuple(c.strategy for c in configs) == STANDARD_STRATEGIES
    assert asked[0] is None  # the standard suite, STANDARD_STRATEGIES (it refuses to run short)
    model_based = ("bananas", "bananas-warm", "bohb", "optuna-tpe", "xgb-bo", "xgb-bo-warm")
    assert asked[1] == [s for s in STANDARD_STRATEGIES if s not in model_based]


def test_leaderboard_runs_a_registered_strategy_named_in_strategies(capsys, table, tmp_path):
    with search.registered(_PluginWalk.name, _PluginWalk):
        code, out, _ = run(
            capsys, "leaderboard", "--bench", table, "--seeds", "0-1",
            "--strategies", f"random,{_PluginWalk.name}", "--out", tmp_path, "--executor", "serial",
        )  # fmt: skip
    assert code == 0, out
    assert f"{_PluginWalk.name} " in out and _PluginWalk.name not in search.available()


def test_seeds_mean_the_seeds_in_search_and_leaderboard_alike(capsys, table, tmp_path):
    common = ["--bench", table, "--executor", "serial"]
    code, _, _ = run(
        capsys, "search", "--strategy", "random", "--dataset", "toy", "--budget-evals", 3, "--seeds", 3,
        "-o", tmp_path / "s.parquet", *common,
    )  # fmt: skip
    assert code == 0
    assert [r.config.seed for r in read_runs(tmp_path / "s.parquet")[1]] == [3]
    code, _, err = run(
        capsys, "leaderboard", "--seeds", 3, "--strategies", "random", "--out", tmp_path / "b", *common
    )
    assert code == 0
    assert [r.config.seed for r in read_runs(tmp_path / "b" / "runs.parquet")[1]] == [3]
    assert "--seeds 3 runs seed 3 only" in err and "--seeds 0-2" in err


def test_the_standard_suite_refuses_to_run_short(capsys, table, tmp_path, monkeypatch):
    from nasbench_suite.experiments.leaderboard import run_leaderboard
    from nasbench_suite.experiments.protocol import IncompleteSuiteError
    from nasbench_suite.search import optuna_adapter
    from nasbench_suite.search.base import StrategyError

    def missing():
        raise StrategyError("the Optuna strategies need optuna: pip install optuna")

    monkeypatch.setattr(optuna_adapter, "_import_optuna", missing)
    with pytest.raises(IncompleteSuiteError, match=r"cannot run optuna-random on this install"):
        run_leaderboard(str(table), seeds=[0], executor="serial")
    code, _, err = run(capsys, "leaderboard", "--bench", table, "--seeds", 0, "--out", tmp_path)
    assert_one_line_error(code, err)
    assert "standard suite (protocol v5) cannot run optuna-random" in err
    assert not (tmp_path / "leaderboard.md").exists()
    # Naming the strategies is a deliberate choice: no refusal, the missing one is not applicable.
    code, out, _ = run(
        capsys, "leaderboard", "--bench", table, "--seeds", 0, "--strategies", "random,optuna-tpe",
        "--out", tmp_path, "--executor", "serial",
    )  # fmt: skip
    assert code == 0 and "optuna-tpe: not applicable" in out


def test_leaderboard_passes_sections_and_search_pool(table, monkeypatch, capsys):
    from nasbench_suite.experiments.leaderboard import Section

    asked: list[dict] = []

    def fake_run_leaderboard(bench, strategies, **kwargs):
        asked.append(kwargs)
        raise UsageError("stop here")

    monkeypatch.setattr("nasbench_suite.experiments.leaderboard.run_leaderboard", fake_run_leaderboard)
    run(capsys, "leaderboard", "--bench", table, "--seeds", 0, "--section", "other.h5", "--section", "nb201")
    run(capsys, "leaderboard", "--bench", table, "--seeds", 0, "--search-pool", "table")
    assert asked[0]["sections"] == [Section("other.h5"), Section("nb201")] and asked[0]["search_pool"] is None
    assert asked[1]["sections"] == [] and asked[1]["search_pool"] == "table"
    # Without --bench: the standard benchmark with the standard sections, unless --section none.
    monkeypatch.setattr("nasbench_suite.experiments.protocol.STANDARD_SECTIONS", ("nb201-cpu",))
    run(capsys, "leaderboard", "--seeds", 0)
    run(capsys, "leaderboard", "--seeds", 0, "--section", "none")
    run(capsys, "leaderboard", "--seeds", 0, "--section", "other.h5")
    assert asked[2]["sections"] == [Section("nb201-cpu")]
    assert asked[3]["sections"] == [] and asked[4]["sections"] == [Section("other.h5")]


def test_search_on_a_sparse_table_with_the_pool(tmp_path, capsys):
    from tests.support import sparse_curves_table

    path = tmp_path / "sparse.h5"
    write_table(path, sparse_curves_table(n_archs=40))
    args = ["search", "--strategy", "asha", "--bench", path, "--dataset", "toy-curves", "--budget-evals", 12]
    pool = ["--search-pool", "table", "--executor", "serial"]
    code, out, _ = run(capsys, *args, *pool, "-o", tmp_path / "runs.parquet")
    assert code == 0 and "searched over the 40 architectures the table holds" in out
    _, (result,) = read_runs(tmp_path / "runs.parquet")
    assert result.config.search_pool == "table" and np.isfinite(result.trajectory["observed"]).all()


def test_leaderboard_takes_budgets_and_metrics_like_search(table, tmp_path, capsys):
    code, _, err = run(
        capsys, "leaderboard", "--bench", table, "--seeds", "0-1", "--strategies", "random",
        "--budget-evals", 7, "--report-metric", "valid_acc", "--out", tmp_path / "b", "--executor", "serial",
    )  # fmt: skip
    assert code == 0, err
    _, results = read_runs(tmp_path / "b" / "runs.parquet")
    assert {r.config.budget_evals for r in results} == {7} and {r.config.budget_s for r in results} == {None}
    assert {r.config.report_metric for r in results} == {"valid_acc"}
    assert all(len(r.trajectory["eval"]) == 7 for r in results)
    assert "Budget: given" in (tmp_path / "b" / "leaderboard.md").read_text()
    code, _, err = run(capsys, "leaderboard", "--bench", table, "--budget-s", 5, "--budget-evals", 3)
    assert_one_line_error(code, err)


def test_selecting_on_a_test_metric_is_warned_about(tmp_path, capsys):
    from nasbench_suite.experiments.metrics import test_selection_warning

    assert test_selection_warning("valid_acc") is None and test_selection_warning(None) is None
    assert "test set" in test_selection_warning("test_acc") and test_selection_warning("xtest_acc")
    path = tmp_path / "curves.h5"
    from tests.support import sparse_curves_table

    write_table(path, sparse_curves_table(n_archs=30))
    args = ["search", "--strategy", "random", "--bench", path, "--dataset", "toy-curves", "--budget-evals", 3]
    code, _, err = run(capsys, *args, "--observe-metric", "test_acc", "-o", tmp_path / "r.parquet")
    assert code == 0 and "warning: the search observes 'test_acc', a test metric" in err
    code, _, err = run(capsys, *args, "-o", tmp_path / "s.parquet")
    assert code == 0 and "warning" not in err


def test_leaderboard_prints_each_sections_not_applicable_strategies(table, tmp_path, capsys):
    from tests.support import sparse_curves_table

    sparse = tmp_path / "sparse.h5"
    write_table(sparse, sparse_curves_table(n_archs=40))
    code, out, err = run(
        capsys, "leaderboard", "--bench", table, "--section", sparse, "--seeds", 0,
        "--strategies", "random,sh", "--budget-evals", 6, "--out", tmp_path / "b", "--executor", "serial",
    )  # fmt: skip
    assert code == 0, err
    assert f"{table.name} sh: not applicable" in out  # the toy table has no curves
    assert f"{sparse.name} sh: not applicable" not in out and f"{sparse.name} toy-curves: mean" in out
