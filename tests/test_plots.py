"""Leaderboard figures: what the PNGs say (titles, bands, colours, ranks), not only that they exist."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from nasbench_suite.experiments.leaderboard import run_leaderboard
from nasbench_suite.experiments.plots import STRATEGY_COLOURS, band_label, strategy_colour
from nasbench_suite.experiments.ranking import rank_summary
from nasbench_suite.experiments.report import write_leaderboard
from nasbench_suite.stats import critical_difference_groups, friedman_p, nemenyi_critical_difference
from nasbench_suite.tabular import write_table
from tests.support import synthetic_table

SEEDS = range(6)


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory):
    """The toy-chain table with a second dataset ("toy2"), so a summary runs across datasets."""
    table = synthetic_table(n_archs=81, seed=21)
    table.datasets["toy2"] = synthetic_table(n_archs=81, seed=22).datasets["toy"]
    path = tmp_path_factory.mktemp("plots") / "two.h5"
    write_table(path, table)
    return str(path)


@pytest.fixture(scope="module")
def written(two_datasets, tmp_path_factory):
    """A board of three strategies on two datasets (a time budget on one, evaluations on the
    other), and a second board of other strategies, each written to its own folder."""
    budgets = {"toy": {"budget_s": 5_000.0}, "toy2": {"budget_evals": 12}}
    boards, folders = [], []
    for strategies in (["random", "rea", "local-search"], ["rea", "my-optimiser-x", "ga"]):
        if "my-optimiser-x" in strategies:  # a name the colour table does not know
            from nasbench_suite import search
            from nasbench_suite.search.random import RandomSearch

            class Mine(RandomSearch):
                name = "my-optimiser-x"

            with search.registered("my-optimiser-x", Mine):
                board = run_leaderboard(
                    two_datasets, strategies, seeds=SEEDS, executor="serial", budgets=budgets
                )
        else:
            board = run_leaderboard(two_datasets, strategies, seeds=SEEDS, executor="serial", budgets=budgets)
        folder = tmp_path_factory.mktemp("board")
        write_leaderboard(board, folder)
        boards.append(board)
        folders.append(folder)
    return boards, folders


def _png(path) -> tuple[dict, dict, np.ndarray]:
    image = Image.open(path)
    return dict(image.text), json.loads(image.text["Description"]), np.asarray(image.convert("RGB"))


def _has_colour(pixels: np.ndarray, colour: str) -> bool:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    return bool(np.all(pixels == rgb, axis=-1).any())


def test_each_dataset_has_time_and_evaluation_plots_titled_with_dataset_and_kind(written):
    _boards, folders = written
    names = {p.name for p in folders[0].iterdir()}
    # A time budget: regret against time and against evaluations; an evaluation budget: evaluations.
    assert {"regret_toy.png", "regret_evals_toy.png", "regret_evals_toy2.png"} <= names
    assert "regret_toy2.png" not in names
    for png, dataset, x in (
        ("regret_toy.png", "toy", "simulated training time (s)"),
        ("regret_evals_toy.png", "toy", "evaluations"),
        ("regret_evals_toy2.png", "toy2", "evaluations"),
    ):
        text, description, _pixels = _png(folders[0] / png)
        assert text["Title"].startswith(f"{dataset}: regret against ")
        assert "two.h5 (table benchmark)" in text["Title"]
        assert description["x"] == x
        assert "commit" in text["Software"]  # the provenance chunks are still there
    md = (folders[0] / "leaderboard.md").read_text()
    assert "(regret_evals_toy.png)" in md and "(regret_toy.png)" in md and "(critical_difference.png)" in md
    assert "<img src='critical_difference.png'" in (folders[0] / "leaderboard.html").read_text()


def test_the_band_is_labelled_in_the_legend(written):
    _boards, folders = written
    _text, description, _pixels = _png(folders[0] / "regret_toy.png")
    assert description["band"] == f"shaded: mean ± 1 s.e. over {len(SEEDS)} seeds"
    assert [s["n_seeds"] for s in description["series"]] == [len(SEEDS)] * 3
    assert band_label([3, 5]) == "shaded: mean ± 1 s.e. over n seeds (per strategy)"


def test_a_strategy_has_one_colour_in_every_plot(written):
    """The colour follows the name, not the order or the set of strategies beside it."""
    _boards, folders = written
    seen: dict[str, set[str]] = {}
    for folder in folders:
        for png in sorted(folder.glob("regret*.png")):
            _text, description, pixels = _png(png)
            for s in description["series"]:
                seen.setdefault(s["strategy"], set()).add(s["colour"])
                assert _has_colour(pixels, s["colour"]), (png.name, s)  # drawn in that colour
        _text, description, pixels = _png(folder / "critical_difference.png")
        for name, colour in description["colours"].items():
            seen[name].add(colour)
            assert _has_colour(pixels, colour)
    assert all(len(colours) == 1 for colours in seen.values()), seen
    assert seen["rea"] == {STRATEGY_COLOURS["rea"]} and seen["random"] == {STRATEGY_COLOURS["random"]}
    assert seen["my-optimiser-x"] == {strategy_colour("my-optimiser-x")}
    assert len(set(STRATEGY_COLOURS.values())) == len(STRATEGY_COLOURS)  # built-ins never share


def test_critical_difference_ranks_are_the_boards_ranks(written):
    boards, folders = written
    for board, folder in zip(boards, folders, strict=True):
        summary = rank_summary(board)
        _text, description, _pixels = _png(folder / "critical_difference.png")
        # Same strategies and seeds on both datasets: the average over (dataset, seed) blocks
        # is the mean of the two boards' average ranks.
        per_board = {}
        for b in board.boards:
            for row in b.rows:
                per_board.setdefault(row["strategy"], []).append(row["rank_mean"])
        expected = {name: float(np.mean(ranks)) for name, ranks in per_board.items()}
        assert description["ranks"] == pytest.approx(expected)
        assert list(description["ranks"]) == sorted(expected, key=lambda n: (expected[n], n))
        assert description["n_blocks"] == 2 * len(SEEDS) == summary.n_blocks
        assert description["cd"] == pytest.approx(nemenyi_critical_difference(3, 2 * len(SEEDS)))
        assert description["datasets"] == ["toy", "toy2"]
        md = (folder / "leaderboard.md").read_text()
        for name, rank in expected.items():
            assert f"| {name} | {rank:.2f} |" in md


def test_nemenyi_friedman_and_groups_closed_forms():
    # Demsar (2006), table 5(a): q_0.05 = 1.960, 2.343, 2.569, 3.164 for k = 2, 3, 4, 10.
    for k, q in ((2, 1.960), (3, 2.343), (4, 2.569), (10, 3.164)):
        assert nemenyi_critical_difference(k, 6) == pytest.approx(q * np.sqrt(k * (k + 1) / 36), abs=2e-3)
    assert np.isnan(nemenyi_critical_difference(1, 5))
    # Demsar's worked example: 4 classifiers, 14 data sets: CD = 1.25.
    assert nemenyi_critical_difference(4, 14) == pytest.approx(1.25, abs=0.01)
    assert critical_difference_groups([1.0, 1.5, 3.0, 3.2, 1.2], cd=0.6) == [(0, 4, 1), (2, 3)]
    assert critical_difference_groups([1.0, 2.0, 3.0], cd=0.5) == []
    ranks = np.array([[1, 2, 3]] * 8, float)
    from scipy.stats import friedmanchisquare

    assert friedman_p(ranks) == pytest.approx(friedmanchisquare(*ranks.T).pvalue)
    assert friedman_p(ranks) < 0.01 and np.isnan(friedman_p(ranks[:, :2]))
