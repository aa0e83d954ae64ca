"""The genetic algorithm: crossover of tournament parents, mutation, steady-state survivors."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import search, spaces
from nasbench_suite.search import StrategyError
from tests.strategy_support import drive, objective


def test_children_take_every_decision_from_a_parent_or_a_mutation():
    space = spaces.get("nb201")
    ga = search.get("ga", space, seed=0, population_size=6, mutation_rate=0.0)
    drive(ga, 6)
    members = {space.key(a) for a, _ in ga.population}
    parents_codes = np.array([space.to_codes(a) for a, _ in ga.population])
    for _ in range(20):
        child = space.to_codes(ga.ask().arch)
        # Without mutation a child's codes come from the parents, except the one extra
        # space.mutate applied when the child equals a parent.
        from_parents = [(parents_codes[:, i] == c).any() for i, c in enumerate(child)]
        assert sum(from_parents) >= len(child) - 1
    assert members == {space.key(a) for a, _ in ga.population}


def test_population_keeps_the_best_results():
    space = spaces.get("nb201")
    ga = search.get("ga", space, seed=1, population_size=5)
    proposals = drive(ga, 40)
    values = sorted((objective(space, a)[0] for a, _ in proposals), reverse=True)
    assert sorted((f for _, f in ga.population), reverse=True) == values[:5]


def test_nb101_children_are_valid_cells():
    space = spaces.get("nb101")
    for arch, _ in drive(search.get("ga", space, seed=3, population_size=5), 30, workers=2):
        space.validate(arch)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"population_size": 1}, "population_size must be an integer >= 2"),
        ({"tournament_size": 30}, "must not exceed"),
        ({"crossover_prob": 1.5}, "crossover_prob must be a number"),
    ],
)
def test_bad_settings_are_refused(options, message):
    with pytest.raises(StrategyError, match=message):
        search.get("ga", "nb201", **options)
