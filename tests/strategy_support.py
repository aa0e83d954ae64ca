"""The strategy tests' helpers: the public driver of ``nasbench_suite.testing`` (W simulated
asynchronous workers on a synthetic objective, no benchmark) and a built-in by name."""

from __future__ import annotations

from typing import Any

from nasbench_suite import search
from nasbench_suite.search import Strategy
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.testing.driver import CURVE_CONTEXT, MAX_EPOCH, build, drive, objective

__all__ = ["CURVE_CONTEXT", "MAX_EPOCH", "drive", "make", "objective"]


def make(
    name: str, space: SearchSpace | str, seed: int = 0, budget: int | None = None, **options: Any
) -> Strategy:
    """Strategy ``name`` on ``space`` in a context it accepts (see ``testing.context_for``)."""
    return build(search.strategy_class(name), space, seed=seed, budget=budget, **options)
