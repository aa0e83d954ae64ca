"""A stand-in for the runner: drive a strategy through ask/tell with W simulated
asynchronous workers on a synthetic objective, without a benchmark or a table."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nasbench_suite import spaces
from nasbench_suite.search.base import Proposal, SearchContext, Strategy
from nasbench_suite.search.prior import TransferPrior
from nasbench_suite.spaces.base import Arch, SearchSpace

MAX_EPOCH = 200
#: A context with a learning curve of every epoch 1..200 (what multi-fidelity strategies need).
CURVE_CONTEXT = SearchContext(epochs=tuple(range(1, MAX_EPOCH + 1)), max_epoch=MAX_EPOCH)
#: The zero-cost proxies the driver measures (what proxy-guided strategies ask for).
PROXIES = ("nwot", "synflow")
#: Architectures of the synthetic source dataset that warm-started strategies are given.
PRIOR_ARCHS = 200

SpaceLike = SearchSpace | str
Options = Mapping[str, Any] | None
Score = Callable[[SearchSpace, Any, "int | None"], "tuple[float, float]"]


def context_for(
    cls: type[Strategy], budget: int | None = None, space: SpaceLike | None = None
) -> SearchContext:
    """A context ``cls`` accepts: curves when it is multi-fidelity, two objectives when it
    is multi-objective, proxies when it is proxy-guided, a prior on ``space``
    (:func:`synthetic_prior`) when it is warm-started, and ``budget`` as the
    evaluation-budget hint."""
    return SearchContext(
        epochs=CURVE_CONTEXT.epochs if cls.multi_fidelity else (),
        max_epoch=MAX_EPOCH,
        n_objectives=2 if cls.multi_objective else 1,
        budget_evals=budget,
        proxies=PROXIES if cls.proxy_guided else (),
        prior=synthetic_prior(resolve_space(space or "nb201")) if cls.warm_started else None,
    )


def synthetic_prior(space: SearchSpace, n_archs: int = PRIOR_ARCHS) -> TransferPrior:
    """A source dataset for warm starts: ``n_archs`` random architectures (seed 0) scored by
    :func:`objective` plus Gaussian noise of 5 points (a related task, not the same one)."""
    rng = np.random.default_rng(0)
    keys: dict[str, float] = {}
    for _ in range(n_archs):
        arch = space.sample(rng)
        keys.setdefault(space.key(arch), objective(space, arch)[0] + float(rng.normal(0.0, 5.0)))
    return TransferPrior("synthetic-source", tuple(keys), tuple(keys.values()))


def build(
    cls: type[Strategy], space: SpaceLike = "nb201", seed: int = 0, budget: int | None = None, **options: Any
) -> Strategy:
    """``cls`` on ``space`` (a space or a registered name) in a context it accepts."""
    space = resolve_space(space)
    return cls(space, seed=seed, context=context_for(cls, budget, space), **options)


def objective(space: SearchSpace, arch: Arch, epoch: int | None = None) -> tuple[float, float]:
    """A synthetic ``(accuracy to maximise, size to minimise)`` of ``arch``.

    Accuracy (40..90) adds a fixed random score per (decision, option) and is lower at
    early epochs; size is the sum of the codes. Works on any space with decisions.
    The driver's proxy of an architecture is its accuracy at epoch 1.
    """
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
    score: Score | None = None,
) -> list[tuple[Arch, int | None]]:
    """Play the runner: ``n_evals`` evaluations with ``workers`` asynchronous workers.

    Each worker slot asks as soon as it is free; which in-flight evaluation finishes
    next is drawn with ``order_seed``, so tells arrive out of order. Every
    ``fail_every``-th result (when > 0) is a failed trial (NaN). Every proposal is
    validated by the space (a proposal outside it raises ``MalformedArchError``).

    Args:
        strategy: a freshly built strategy.
        n_evals: evaluations to ask for and tell.
        workers: proposals in flight at once (W).
        fail_every: make every n-th told result NaN (0: none).
        order_seed: seed of the completion order.
        score: ``score(space, arch, epoch) -> (accuracy, size)``; default :func:`objective`
            (a proxy proposal is scored at epoch 1).

    Returns:
        The proposals as ``(arch, epoch)``, in the order they were asked for.
    """
    space = strategy.space
    score = score or objective
    order_rng = np.random.default_rng(order_seed)
    in_flight: list[Proposal] = []
    proposals: list[tuple[Arch, int | None]] = []
    told = 0
    while told < n_evals:
        while len(in_flight) < workers and len(proposals) < n_evals:
            proposal = strategy.ask()
            space.validate(proposal.arch)
            proposals.append((proposal.arch, proposal.epoch))
            in_flight.append(proposal)
        proposal = in_flight.pop(int(order_rng.integers(len(in_flight))))
        accuracy, size = score(space, proposal.arch, 1 if proposal.proxy else proposal.epoch)
        told += 1
        if fail_every and told % fail_every == 0:
            accuracy = math.nan
        strategy.tell(proposal, accuracy, cost_s=1.0, objectives=(accuracy, size))
    return proposals


def resolve_space(space: SpaceLike) -> SearchSpace:
    """``space`` itself, or the registered space of that name."""
    return spaces.get(space) if isinstance(space, str) else space
