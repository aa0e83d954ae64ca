"""Helpers for the strategy tests: build any strategy in a context it accepts, and drive it
with W simulated asynchronous workers on a synthetic objective (no benchmark, no table)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nasbench_suite import search
from nasbench_suite.search import SearchContext, Strategy
from nasbench_suite.spaces.base import SearchSpace

MAX_EPOCH = 200
CURVE_CONTEXT = SearchContext(epochs=tuple(range(1, MAX_EPOCH + 1)), max_epoch=MAX_EPOCH)


def context_for(name: str, budget: int | None = None) -> SearchContext:
    """A context that strategy ``name`` accepts: curves for multi-fidelity ones, two
    objectives for multi-objective ones."""
    cls = search.strategy_class(name)
    return SearchContext(
        epochs=CURVE_CONTEXT.epochs if cls.multi_fidelity else (),
        max_epoch=MAX_EPOCH,
        n_objectives=2 if cls.multi_objective else 1,
        budget_evals=budget,
    )


def make(name: str, space: SearchSpace, seed: int = 0, budget: int | None = None, **options) -> Strategy:
    """Strategy ``name`` on ``space`` in a context it accepts."""
    return search.get(name, space, seed=seed, context=context_for(name, budget), **options)


def objective(space: SearchSpace, arch, epoch: int | None = None) -> tuple[float, float]:
    """A synthetic (accuracy to maximise, size to minimise) of ``arch``: accuracy adds a
    fixed random score per (decision, option) and is lower at early epochs; size is the
    sum of the codes."""
    codes = np.asarray(space.to_codes(arch))
    width = max(len(d.options) for d in space.decisions())
    scores = np.random.default_rng(12345).uniform(0, 1, (len(codes), width))
    accuracy = 40.0 + 50.0 * float(scores[np.arange(len(codes)), codes].mean())
    if epoch is not None:
        accuracy *= epoch / (epoch + 5.0)
    return accuracy, float(codes.sum())


def drive(
    strategy: Strategy,
    n_evals: int,
    workers: int = 1,
    fail_every: int = 0,
    order_seed: int = 0,
    score: Callable[[SearchSpace, Any, int | None], tuple[float, float]] | None = None,
) -> list[tuple]:
    """Run ``n_evals`` evaluations with ``workers`` simulated workers; returns the
    proposals as ``(arch, epoch)``. Completion order is shuffled by ``order_seed``;
    every ``fail_every``-th result (when > 0) is a failure (NaN). ``score(space, arch,
    epoch)`` gives (accuracy, size); default :func:`objective`."""
    space = strategy.space
    score = score or objective
    order_rng = np.random.default_rng(order_seed)
    in_flight, proposals, told = [], [], 0
    while told < n_evals:
        while len(in_flight) < workers and len(proposals) < n_evals:
            proposal = strategy.ask()
            space.validate(proposal.arch)
            proposals.append((proposal.arch, proposal.epoch))
            in_flight.append(proposal)
        proposal = in_flight.pop(int(order_rng.integers(len(in_flight))))
        accuracy, size = score(space, proposal.arch, proposal.epoch)
        told += 1
        if fail_every and told % fail_every == 0:
            accuracy = math.nan
        strategy.tell(proposal, accuracy, cost_s=1.0, objectives=(accuracy, size))
    return proposals
