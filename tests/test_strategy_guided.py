"""Predictor-guided strategies (BANANAS, XGBoost BO): refit schedule, no repeats, settings."""

from __future__ import annotations

import math

import pytest

from nasbench_suite import search, spaces
from nasbench_suite.search import StrategyError
from tests.strategy_support import drive, objective

GUIDED = ["bananas", "xgb-bo"]


@pytest.mark.parametrize("name", GUIDED)
def test_one_worker_refits_every_k_results(name):
    strategy = search.get(name, "nb201", seed=0, num_init=10, k=5)
    drive(strategy, 30, workers=1)
    # Fits after results 10, 15, 20 and 25: each batch of k is proposed by one model.
    assert strategy.n_fits_ == 4


@pytest.mark.parametrize("name", GUIDED)
def test_many_workers_refit_at_most_once_per_batch(name):
    strategy = search.get(name, "nb201", seed=0, num_init=10, k=10)
    drive(strategy, 60, workers=8)
    assert 1 <= strategy.n_fits_ <= 5


@pytest.mark.parametrize("name", GUIDED)
@pytest.mark.parametrize("space_name", ["nb201", "nb101"])
def test_never_proposes_an_architecture_twice(name, space_name):
    space = spaces.get(space_name)
    proposals = drive(search.get(name, space, seed=4, num_init=5, k=10), 40, workers=3, fail_every=7)
    keys = [space.key(arch) for arch, _ in proposals]
    assert len(set(keys)) == len(keys)


def test_batches_come_from_the_model_ranking():
    space = spaces.get("nb201")
    strategy = search.get("bananas", space, seed=1, acquisition="mean")
    drive(strategy, 20, workers=1)
    candidates = strategy._candidates()
    mean, _ = strategy.model_.predict_dist(candidates)
    strategy._candidates = lambda: candidates
    batch = strategy._next_batch()
    assert len(batch) == strategy.k
    predicted = dict(zip(map(space.key, candidates), mean, strict=True))
    scores = [predicted[space.key(a)] for a in batch]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == max(mean)


def test_candidates_are_mutations_of_the_best_results():
    space = spaces.get("nb201")
    strategy = search.get("bananas", space, seed=2, num_arches_to_mutate=1, max_mutations=1, n_candidates=30)
    drive(strategy, 12, workers=1)
    best = max(strategy._data, key=lambda item: item[1])[0]
    candidates = strategy._candidates()
    # The best NB201 cell has 24 single-edge neighbours: fewer than asked, so random ones top up.
    near = [a for a in candidates if sum(x != y for x, y in zip(a, best, strict=True)) == 1]
    assert len(candidates) == 30
    assert 20 <= len(near) <= 24


def test_failures_are_left_out_of_the_model_data():
    space = spaces.get("nb201")
    strategy = search.get("bananas", space, seed=0, num_init=4, k=2)
    drive(strategy, 12, workers=2, fail_every=3)
    assert len(strategy._data) == 8
    assert all(math.isfinite(y) for _, y in strategy._data)


def test_all_failures_keep_proposing_random_architectures():
    strategy = search.get("bananas", "nb201", seed=0, num_init=3)
    assert len(drive(strategy, 15, workers=1, fail_every=1)) == 15
    assert strategy.model_ is None


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("bananas", {"acquisition": "ei"}, "acquisition must be one of its, ucb, mean"),
        ("bananas", {"k": 0}, "k must be an integer >= 1"),
        ("bananas", {"encoding": "nope"}, "unknown encoding 'nope'"),
        ("bananas", {"member_params": {"depth": 3}}, "unknown parameter"),
        ("bananas", {"member_params": 3}, "member_params must be a mapping"),
        ("xgb-bo", {"xgb_params": {"max_depth": 3, "trees": 5}}, "unknown parameter"),
        ("xgb-bo", {"ucb_beta": -1.0}, "ucb_beta must be a number"),
    ],
)
def test_bad_settings_are_refused(name, options, message):
    with pytest.raises(StrategyError, match=message):
        search.get(name, "nb201", **options)


@pytest.mark.parametrize("acquisition", ["its", "ucb", "mean"])
def test_every_acquisition_finds_good_architectures(acquisition):
    space = spaces.get("nb201")
    strategy = search.get("bananas", space, seed=3, acquisition=acquisition)
    proposals = drive(strategy, 30, workers=1)
    initial = max(objective(space, a)[0] for a, _ in proposals[:10])
    assert max(objective(space, a)[0] for a, _ in proposals) >= initial
