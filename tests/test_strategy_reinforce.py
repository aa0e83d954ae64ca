"""REINFORCE: the policy learns to prefer good options."""

from __future__ import annotations

import numpy as np

from nasbench_suite import search, spaces
from tests.strategy_support import drive, objective
from tests.support import ToyChainSpace


def test_policy_starts_uniform_and_moves_towards_rewarded_options():
    space = ToyChainSpace(length=4, choices=3)
    rl = search.get("reinforce", space, seed=0, learning_rate=0.1)
    assert np.allclose(rl.probabilities(), 1 / 3, atol=1e-2)
    drive(rl, 300)
    width = 3
    scores = np.random.default_rng(12345).uniform(0, 1, (4, width))  # strategy_support.objective's scores
    best_options = scores.argmax(axis=1)
    probabilities = rl.probabilities()
    assert (probabilities[np.arange(4), best_options] > 0.5).all()


def test_failures_before_any_result_leave_the_policy_alone():
    rl = search.get("reinforce", "nb201", seed=0)
    before = rl.logits.copy()
    drive(rl, 5, fail_every=1)
    assert np.array_equal(rl.logits, before)


def test_nb101_proposals_are_valid():
    space = spaces.get("nb101")
    for arch, _ in drive(search.get("reinforce", space, seed=1), 20):
        space.validate(arch)
        assert objective(space, arch)[0] > 0
