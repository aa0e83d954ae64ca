"""Q-learning (MetaQNN): the schedule, the update and learning on a synthetic objective."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import search, spaces
from nasbench_suite.search import SearchContext, StrategyError
from nasbench_suite.search.qlearning import PUBLISHED_SCHEDULE, epsilon_schedule
from tests.strategy_support import drive, objective
from tests.support import ToyChainSpace


def test_schedule_keeps_the_published_fractions():
    assert epsilon_schedule(2700) == [
        (1.0, 0), (0.9, 1500), (0.8, 1600), (0.7, 1700), (0.6, 1800),
        (0.5, 1950), (0.4, 2100), (0.3, 2250), (0.2, 2400), (0.1, 2550),
    ]  # fmt: skip
    assert sum(c for _, c in PUBLISHED_SCHEDULE) == 2700
    q = search.get("qlearning", "nb201", seed=0, schedule_evals=270)
    assert [q.epsilon(i) for i in (0, 149, 150, 160, 269, 10_000)] == [1.0, 1.0, 0.9, 0.8, 0.1, 0.1]


def test_budget_evals_of_the_runner_sets_the_schedule():
    q = search.get("qlearning", "nb201", seed=0, context=SearchContext(budget_evals=27))
    assert q.epsilon(14) == 1.0 and q.epsilon(15) == 0.9 and q.epsilon(26) == 0.1


def test_one_update_runs_backwards_with_discount_one():
    space = ToyChainSpace(length=2, choices=3)
    q = search.get("qlearning", space, seed=0, replay_size=0)
    q._update((1, 2), 0.9)
    # terminal action: 0.5 + 0.01 * (0.9 - 0.5); the first action's target is max Q of the next state
    assert q.q[(1,)][2] == pytest.approx(0.504)
    assert q.q[()][1] == pytest.approx(0.5 + 0.01 * (0.504 - 0.5))
    assert q.q[()][0] == 0.5


def test_greedy_policy_finds_the_best_options():
    space = ToyChainSpace(length=4, choices=3)
    q = search.get("qlearning", space, seed=0, schedule_evals=150, learning_rate=0.1)
    drive(q, 300)
    scores = np.random.default_rng(12345).uniform(0, 1, (4, 3))  # strategy_support.objective's scores
    best = objective(space, space.from_codes(tuple(int(c) for c in scores.argmax(axis=1))))[0]
    late = [objective(space, o.proposal.arch)[0] for o in q.history[-50:]]
    early = [objective(space, o.proposal.arch)[0] for o in q.history[:50]]
    assert np.mean(late) > np.mean(early)
    assert max(late) == pytest.approx(best)


def test_no_architecture_is_proposed_twice_while_unseen_ones_are_easy_to_find():
    q = search.get("qlearning", "nb201", seed=3)
    keys = [q.space.key(arch) for arch, _ in drive(q, 200)]
    assert len(set(keys)) == len(keys)


def test_failures_before_any_result_are_not_remembered():
    q = search.get("qlearning", "nb201", seed=0)
    drive(q, 5, fail_every=1)
    assert q.memory == {} and q.q == {}


def test_bad_options_are_named():
    with pytest.raises(StrategyError, match="learning_rate"):
        search.get("qlearning", "nb201", learning_rate=2.0)
    with pytest.raises(StrategyError, match="replay_size"):
        search.get("qlearning", "nb201", replay_size=-1)


def test_nb101_proposals_are_valid():
    space = spaces.get("nb101")
    for arch, _ in drive(search.get("qlearning", space, seed=1), 20):
        space.validate(arch)
