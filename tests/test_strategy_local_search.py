"""Local search: first-improvement climbs, restarts, no repeats."""

from __future__ import annotations

from nasbench_suite import search, spaces
from tests.strategy_support import drive, objective
from tests.support import ToyChainSpace


def test_climb_moves_to_the_first_better_neighbour():
    space = spaces.get("nb201")
    ls = search.get("local-search", space, seed=0, n_init=5)
    proposals = drive(ls, 5)
    start = max((a for a, _ in proposals), key=lambda a: objective(space, a)[0])
    neighbours = {space.key(n) for n in space.neighbours(start)}
    current = start
    for _ in range(30):
        p = ls.ask()
        assert space.key(p.arch) in neighbours
        value = objective(space, p.arch)[0]
        ls.tell(p, value, 1.0)
        if value > objective(space, current)[0]:
            # First improvement: the climb moves at once; the next proposals are its neighbours.
            assert ls.current[0] == p.arch
            break
    else:
        raise AssertionError("no better neighbour in 30 tries on a smooth objective")


def test_reaches_the_optimum_of_an_additive_objective_and_never_repeats():
    space = ToyChainSpace(length=5, choices=3)
    proposals = drive(search.get("local-search", space, seed=1), 120, workers=3)
    keys = [space.key(a) for a, _ in proposals]
    assert len(set(keys)) == len(keys)
    best = max(objective(space, arch)[0] for arch in space.enumerate())
    assert max(objective(space, a)[0] for a, _ in proposals) == best


def test_restarts_after_a_local_optimum():
    space = ToyChainSpace(length=3, choices=2)  # 8 archs, 3 neighbours each
    ls = search.get("local-search", space, seed=0, n_init=2)
    drive(ls, 8, workers=1)
    assert ls._climb >= 1
