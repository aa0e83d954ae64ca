"""Regularized evolution: aging, tournaments, and its reduction to random search."""

from __future__ import annotations

import pytest

from nasbench_suite import search, spaces
from nasbench_suite.search import StrategyError
from tests.strategy_support import drive, objective


@pytest.mark.parametrize("space_name", ["nb201", "nb101"])
@pytest.mark.parametrize("workers", [1, 4])
def test_population_and_sample_size_equal_to_budget_is_random_search(space_name, workers):
    space = spaces.get(space_name)
    budget = 40
    rea = search.get("rea", space, seed=5, population_size=budget, sample_size=budget)
    rs = search.get("random", space, seed=5)
    assert drive(rea, budget, workers=workers) == drive(rs, budget, workers=workers)


def test_after_warm_up_proposals_are_mutations_of_the_tournament_winner():
    space = spaces.get("nb201")
    rea = search.get("rea", space, seed=0, population_size=5, sample_size=5)
    for _ in range(5):
        p = rea.ask()
        rea.tell(p, objective(space, p.arch)[0], 1.0)
    best = max(rea.population, key=lambda member: member[1])[0]
    for _ in range(10):
        child = rea.ask().arch
        assert sum(a != b for a, b in zip(child, best)) == 1


def test_oldest_member_leaves_whatever_its_accuracy():
    space = spaces.get("nb201")
    rea = search.get("rea", space, seed=0, population_size=3, sample_size=2)
    proposals = [rea.ask() for _ in range(4)]
    for value, p in zip([99.0, 1.0, 2.0, 3.0], proposals):
        rea.tell(p, value, 1.0)
    assert [fit for _, fit in rea.population] == [1.0, 2.0, 3.0]


def test_failed_results_never_win_a_tournament():
    space = spaces.get("nb201")
    rea = search.get("rea", space, seed=0, population_size=2, sample_size=2)
    good, bad = rea.ask(), rea.ask()
    rea.tell(bad, float("nan"), 1.0)
    rea.tell(good, 10.0, 1.0)
    for _ in range(5):
        assert sum(a != b for a, b in zip(rea.ask().arch, good.arch)) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"population_size": 0}, "population_size must be an integer >= 1"),
        ({"sample_size": 2.5}, "sample_size must be an integer"),
        ({"population_size": 3, "sample_size": 4}, "must not exceed"),
    ],
)
def test_bad_settings_are_refused(options, message):
    with pytest.raises(StrategyError, match=message):
        search.get("rea", "nb201", **options)
