"""Helpers shared by the strategies: option checks, fitness of a result, decoding codes."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from nasbench_suite.errors import InvalidArchError
from nasbench_suite.search.base import Strategy, StrategyError
from nasbench_suite.spaces.base import Arch, SearchSpace

#: Redraws of codes that spell no valid architecture before falling back to ``space.sample``.
MAX_REDRAWS = 100
#: Random draws looking for an unseen architecture before accepting a repeat.
UNSEEN_DRAWS = 100


def int_option(strategy: Strategy, option: str, minimum: int = 1) -> int:
    """The option ``option`` of ``strategy``, checked to be an integer >= ``minimum``.

    Raises:
        StrategyError: naming the option and the bad value.
    """
    value = strategy.options[option]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise StrategyError(
            f"strategy {strategy.name!r}: {option} must be an integer >= {minimum}, got {value!r}"
        )
    return int(value)


def float_option(strategy: Strategy, option: str, low: float, high: float) -> float:
    """The option ``option`` of ``strategy``, checked to be a number in ``[low, high]``.

    Raises:
        StrategyError: naming the option and the bad value.
    """
    value = strategy.options[option]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not low <= value <= high:
        raise StrategyError(
            f"strategy {strategy.name!r}: {option} must be a number in [{low}, {high}], got {value!r}"
        )
    return float(value)


def bool_option(strategy: Strategy, option: str) -> bool:
    """The option ``option`` of ``strategy``, checked to be true or false (``bool("no")`` would be
    true: a text value is refused, not read).

    Raises:
        StrategyError: naming the option and the bad value.
    """
    value = strategy.options[option]
    if not isinstance(value, (bool, np.bool_)):
        raise StrategyError(f"strategy {strategy.name!r}: {option} must be true or false, got {value!r}")
    return bool(value)


def choice_option(strategy: Strategy, option: str, choices: Sequence[str]) -> str:
    """The option ``option`` of ``strategy``, checked to be one of ``choices``.

    Raises:
        StrategyError: naming the option, the bad value and the choices.
    """
    value = strategy.options[option]
    if value not in choices:
        raise StrategyError(
            f"strategy {strategy.name!r}: {option} must be one of {', '.join(choices)}; got {value!r}"
        )
    return str(value)


def unseen_sample(space: SearchSpace, rng: np.random.Generator, seen: set[str]) -> Arch:
    """A random architecture whose ``space.key`` is not in ``seen``; after :data:`UNSEEN_DRAWS`
    draws (a nearly exhausted space) the last draw, seen or not."""
    for _ in range(UNSEEN_DRAWS):
        arch = space.sample(rng)
        if space.key(arch) not in seen:
            return arch
    return arch


def reward_of(observed: float, worst: float) -> tuple[float | None, float]:
    """``(reward, new worst)`` of a result for learners that need a finite reward (REINFORCE,
    Q-learning): a failed (NaN) run is rewarded with the worst finite reward seen so far, and
    has none (``None``: learn nothing) while nothing finite has been seen."""
    if math.isnan(observed):
        return (None, worst) if math.isinf(worst) else (worst, worst)
    return observed, min(worst, observed)


def fitness(observed: float) -> float:
    """A result as a value to maximise: a failed (NaN) run ranks below every finite one."""
    return -math.inf if math.isnan(observed) else float(observed)


def tournament(
    population: Sequence[tuple[Arch, float]], size: int, rng: np.random.Generator
) -> tuple[Arch, float]:
    """The fittest of ``size`` members of ``population`` (``(arch, fitness)`` pairs) drawn
    uniformly without replacement.

    A partial Fisher-Yates shuffle driven by one vector of uniforms: the same
    distribution as ``rng.choice(..., replace=False)`` at a fraction of its cost,
    which matters because the runner calls ``ask`` once per evaluation. Ties go to
    the member drawn first (a fixed rule, independent of hashing).
    """
    n = len(population)
    swapped: dict[int, int] = {}  # positions moved by the shuffle; the rest hold themselves
    best = population[0]
    for k, u in enumerate(rng.random(size).tolist()):
        j = k + int(u * (n - k))
        member = population[swapped.get(j, j)]
        swapped[j] = swapped.get(k, k)
        if k == 0 or member[1] > best[1]:
            best = member
    return best


def decode(
    space: SearchSpace,
    draw: Callable[[], Sequence[int]],
    rng: np.random.Generator,
    max_redraws: int = MAX_REDRAWS,
) -> Arch:
    """The architecture spelt by the first codes from ``draw()`` that spell a valid one.

    Codes that spell no valid architecture (``InvalidArchError``, e.g. an NB101 cell
    without an input-output path) are redrawn up to ``max_redraws`` times; then the
    architecture is drawn with ``space.sample(rng)`` so that an ask always returns.
    """
    for _ in range(max_redraws):
        try:
            return space.from_codes(draw())
        except InvalidArchError:
            continue
    return space.sample(rng)
