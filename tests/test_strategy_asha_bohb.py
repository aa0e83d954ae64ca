"""ASHA's asynchronous promotions and BOHB's kernel density model."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nasbench_suite import search
from nasbench_suite.search import SearchContext, StrategyError
from nasbench_suite.testing import ToyChainSpace
from tests.strategy_support import CURVE_CONTEXT, drive

#: Rungs 1, 3, 9 with eta = 3.
NINE = SearchContext(epochs=(1, 3, 9), max_epoch=9)


def test_asha_rungs_are_those_of_the_most_exploratory_bracket():
    asha = search.get("asha", "nb201", context=CURVE_CONTEXT)
    assert asha.rung_epochs == search.get("sh", "nb201", context=CURVE_CONTEXT).bracket(asha.s_max)[0]
    assert asha.rung_epochs == [3, 7, 22, 67, 200]


def test_asha_promotes_as_soon_as_a_result_is_in_the_top_third():
    asha = search.get("asha", "nb201", seed=0, context=NINE)
    first = [asha.ask() for _ in range(3)]
    assert [p.epoch for p in first] == [1, 1, 1]
    for p, value in zip(first, (50.0, 70.0, 60.0)):
        asha.tell(p, value, 1.0)
    promoted = asha.ask()  # 3 results at rung 0: the best (70) goes up at once
    assert (promoted.arch, promoted.epoch) == (first[1].arch, 3)
    assert asha.ask().epoch == 1  # nothing else qualifies: a new architecture, not a wait
    asha.tell(promoted, 80.0, 1.0)


def test_asha_never_promotes_a_failed_result_nor_one_twice():
    asha = search.get("asha", "nb201", seed=0, context=NINE)
    trials = [asha.ask() for _ in range(6)]
    for p in trials:
        asha.tell(p, math.nan, 1.0)
    assert all(asha.ask().epoch == 1 for _ in range(5))  # six failures: nothing to promote
    asha = search.get("asha", "nb201", seed=0, context=NINE)
    proposals = drive(asha, 400, workers=4)
    epochs = [e for _, e in proposals]
    # Each rung holds roughly 1/eta of the one below: more than 1/eta, since an early result can
    # be promoted from a top third it later leaves (ASHA's "mispromotions", Li et al. sec. 3.2).
    counts = [epochs.count(e) for e in (1, 3, 9)]
    assert counts[0] > counts[1] > counts[2] > 0
    assert counts[1] <= counts[0] / 2 and counts[2] <= counts[1] / 2
    # A lineage (one training run) is promoted out of a rung at most once: as many distinct
    # lineages left each rung as there were proposals at the next.
    assert [len(asha._promoted[k]) for k in range(2)] == counts[1:]


def test_bohb_kernel_is_a_probability_over_the_codes():
    space = ToyChainSpace(length=3, choices=4)
    bohb = search.get("bohb", space, seed=0, context=NINE)
    data = np.array([[0, 1, 2], [0, 1, 3], [3, 3, 3], [1, 1, 1]])
    bw = bohb._bandwidths(data)
    assert (bw >= bohb.min_bandwidth).all() and (bw <= 0.75).all()
    grid = np.array(list(itertools.product(range(4), repeat=3)))
    assert bohb._density(grid, data, bw).sum() == pytest.approx(1.0)


def test_bohb_draws_from_its_model_once_a_budget_has_enough_results():
    space = ToyChainSpace(length=4, choices=3)
    bohb = search.get("bohb", space, seed=0, context=NINE, random_fraction=0.0)
    assert bohb._model() is None  # nothing told: uniform draws
    for _ in range(30):  # 30 results at the first budget: the good part is the best 7 (> 4 decisions)
        p = bohb.ask()
        bohb.tell(p, 100.0 - 10.0 * sum(space.to_codes(p.arch)), 1.0)  # all-zero codes are best
    model = bohb._model()
    assert model is not None and len(model[0]) == 5  # max(d + 1, 15% of n) = max(5, 4)
    drawn = [sum(space.to_codes(bohb._new_arch(1))) for _ in range(50)]
    uniform = [sum(space.sample(np.random.default_rng(i))) for i in range(50)]
    assert np.mean(drawn) < np.mean(uniform) - 1.0  # the model steers towards low codes


def test_bohb_checks_its_options_and_publishes_its_defaults():
    cls = search.strategy_class("bohb")
    assert {k: cls.defaults[k] for k in ("top_n_percent", "num_samples", "bandwidth_factor")} == {
        "top_n_percent": 15,
        "num_samples": 64,
        "bandwidth_factor": 3.0,
    }
    assert cls.defaults["random_fraction"] == pytest.approx(1 / 3) and cls.defaults["min_bandwidth"] == 1e-3
    with pytest.raises(StrategyError, match="min_points_in_model"):
        search.get("bohb", "nb201", context=NINE, min_points_in_model=3)
    with pytest.raises(StrategyError, match="random_fraction"):
        search.get("bohb", "nb201", context=NINE, random_fraction=2)


def test_dehb_populations_are_as_large_as_the_largest_rung_at_their_epoch():
    dehb = search.get("dehb", "nb201", seed=0, context=NINE)
    rungs = [dict(zip(*dehb.bracket(s))) for s in range(dehb.s_max + 1)]
    assert dehb.pop_size == {e: max(max(r.get(e, 0) for r in rungs), 3) for e in (1, 3, 9)}
    assert dehb.pop_size[1] == 9  # the most exploratory bracket starts 9 at epoch 1


def test_dehb_draws_uniformly_until_three_members_then_evolves_and_selects():
    dehb = search.get("dehb", "nb201", seed=0, context=NINE, pop_size=3)
    first = [dehb.ask() for _ in range(3)]
    assert all(dehb._de_trials[p.trial_id][1] is None for p in first)  # uniform draws
    for p, value in zip(first, (50.0, 70.0, 60.0)):
        dehb.tell(p, value, 1.0)
    assert dehb._fitness[1] == [50.0, 70.0, 60.0]
    # The bracket promotes the best third; the next new architectures at epoch 1 are DE trials.
    trials = []
    while len(trials) < 2:
        p = dehb.ask()
        if p.epoch == 1:
            trials.append(p)
        else:
            dehb.tell(p, 75.0, 1.0)
    epoch, target, point = dehb._de_trials[trials[0].trial_id]
    assert (epoch, target) == (1, 0) and dehb._de_trials[trials[1].trial_id][1] == 1
    assert ((point >= 0) & (point <= 1)).all()
    assert tuple(dehb.space.to_codes(trials[0].arch)) == dehb._codes(point)
    dehb.tell(trials[0], 55.0, 1.0)  # beats its target (50): replaces it
    dehb.tell(trials[1], 65.0, 1.0)  # worse than its target (70): discarded
    assert dehb._fitness[1] == [55.0, 70.0, 60.0]
    assert np.array_equal(dehb._points[1][0], point)


def test_dehb_trials_cross_at_least_one_mutant_coordinate_and_stay_in_the_cube():
    dehb = search.get("dehb", "nb201", seed=1, context=NINE, crossover_prob=0.0)
    members = [np.full(6, 0.1), np.full(6, 0.9), np.full(6, 0.2), np.full(6, 0.6)]
    for _ in range(50):
        trial = dehb._trial(members, target=0)
        assert ((trial >= 0) & (trial <= 1)).all()
        assert (trial != members[0]).sum() == 1  # CR = 0: exactly the forced coordinate
