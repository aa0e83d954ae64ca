"""Leaderboard: standard suite, summaries with uncertainty, written files, the NB201 acceptance check."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nasbench_suite.bench import open_benchmark
from nasbench_suite.experiments.leaderboard import run_leaderboard, summarise
from nasbench_suite.experiments.protocol import STANDARD_BUDGETS_S, standard_budget, standard_suite
from nasbench_suite.experiments.report import write_leaderboard
from nasbench_suite.experiments.trajectory import RunsFileError, read_runs
from tests.support import toy_table_file


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return toy_table_file(tmp_path_factory, "lb")


@pytest.fixture(scope="module")
def board(toy):
    return run_leaderboard(
        toy,
        strategies=["random", "rea", "local-search", "sh"],
        seeds=range(8),
        executor="serial",
        budgets={"toy": {"budget_s": 6_000.0}},
    )


def test_standard_suite_covers_every_strategy_dataset_and_seed(toy):
    bench = open_benchmark(toy)
    configs = standard_suite(bench, toy, strategies=["random", "rea"])
    assert len(configs) == 2 * 1 * 30
    assert {c.seed for c in configs} == set(range(30)) and {c.workers for c in configs} == {1}
    costs = bench.query_batch(bench.reference_archs("toy"), "toy", seed="mean", metrics=[])["cost_s"]
    expected = float(f"{150 * costs.mean():.2g}")
    assert configs[0].budget_s == pytest.approx(expected)
    assert standard_budget(bench, "toy") == {"budget_s": configs[0].budget_s}


def test_summaries_carry_their_uncertainty(board):
    (b,) = board.boards
    assert b.dataset == "toy" and b.budget == "6e+03 s"
    assert {row["strategy"] for row in b.rows} == {"random", "rea", "local-search"}
    assert board.not_applicable.keys() == {"sh"}
    regrets = [row["regret_mean"] for row in b.rows]
    assert regrets == sorted(regrets) and b.rows[0]["strategy"] == b.best
    for row in b.rows:
        assert row["runs"] == 8
        for key in ("acc_se", "regret_se", "auc_se", "rank_se"):
            assert math.isfinite(row[key]) and row[key] >= 0
        assert row["regret_q25"] <= row["regret_median"] <= row["regret_q75"]
        if row["strategy"] == b.best:
            assert math.isnan(row["p_holm"])
        else:
            assert row["p_value"] <= row["p_holm"] <= 1
        if row["strategy"] == "random":  # the reference of the second test
            assert math.isnan(row["p_rs_holm"])
        else:
            assert row["p_rs"] <= row["p_rs_holm"] <= 1
    # Average ranks of three strategies sum to 1 + 2 + 3.
    assert sum(row["rank_mean"] for row in b.rows) == pytest.approx(6.0)


def test_written_files_and_parquet_round_trip(board, tmp_path):
    written = write_leaderboard(board, tmp_path)
    names = {p.name for p in written}
    assert {"leaderboard.md", "leaderboard.html", "runs.parquet", "regret_toy.png"} <= names
    md = (tmp_path / "leaderboard.md").read_text()
    assert "## toy (budget 6e+03 s)" in md and "Not applicable" in md and "regret_toy.png" in md
    assert "± " in md and "Wilcoxon p vs best (Holm) | Wilcoxon p vs random (Holm) |" in md
    assert "| best |" in md and "| reference |" in md
    html = (tmp_path / "leaderboard.html").read_text()
    table = html.split("<h2>Average rank")[0]  # the dataset's table, before the summary's
    assert table.count("<tr") == 4 and "<img src='regret_toy.png'" in html
    assert (tmp_path / "regret_toy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    frame, results = read_runs(tmp_path / "runs.parquet")
    assert len(results) == len(board.results) and len(frame) == sum(
        len(r.trajectory.get("eval", ())) for r in board.results
    )
    assert [r.status for r in results] == [r.status for r in board.results]
    again = summarise(results, bench=board.bench)
    assert again.boards[0].rows == board.boards[0].rows


def test_runs_file_errors(tmp_path):
    garbage = tmp_path / "x.parquet"
    garbage.write_bytes(b"not parquet")
    with pytest.raises(RunsFileError, match="not a Parquet file"):
        read_runs(garbage)
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(RunsFileError, match="metadata"):
        read_runs(tmp_path / "plain.parquet")


def test_nb201_regularized_evolution_beats_random_search_at_the_standard_budget(nb201_table):
    """The published qualitative result, 30 seeds per dataset, each figure with its s.e."""
    board = run_leaderboard(str(nb201_table), strategies=["random", "rea"], executor="serial")
    assert {b.dataset for b in board.boards} == set(STANDARD_BUDGETS_S["nb201"])
    for b in board.boards:
        rows = {row["strategy"]: row for row in b.rows}
        assert rows["rea"]["runs"] == rows["random"]["runs"] == 30
        assert rows["rea"]["regret_mean"] < rows["random"]["regret_mean"], b.dataset
        assert rows["rea"]["p_rs_holm"] < 0.01, b.dataset  # paired by seed: not a fluke of these seeds
        assert all(np.isfinite(row["regret_se"]) for row in b.rows)


def test_second_objective_makes_multi_objective_strategies_apply(toy, tmp_path):
    board = run_leaderboard(
        toy,
        strategies=["random", "optuna-nsga2"],
        seeds=range(3),
        executor="serial",
        budgets={"toy": {"budget_evals": 20}},
        second_objective="params_m",
    )
    assert board.not_applicable == {}
    rows = {row["strategy"]: row for row in board.boards[0].rows}
    for row in rows.values():
        assert 0 < row["hv_mean"] <= 1 and math.isfinite(row["hv_se"])
    write_leaderboard(board, tmp_path)
    md = (tmp_path / "leaderboard.md").read_text()
    assert "Second objective (minimised): `params_m`" in md and "- optuna-nsga2: 0." in md
    assert "<li>random: 0." in (tmp_path / "leaderboard.html").read_text()
