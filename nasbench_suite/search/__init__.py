"""Search strategies behind one ask/tell interface (see :mod:`nasbench_suite.search.base`).

``get("rea", space, seed=0)`` builds a strategy by name; ``available()`` lists the
names; ``register(name, cls)`` adds a user strategy (``unregister`` and the
``registered`` context manager undo it), and installed packages can declare
strategies under the entry-point group ``nasbench_suite.strategies``. Built-in strategies are
imported on first use, so ``import nasbench_suite.search`` stays cheap and never
loads a benchmark, a table, XGBoost, torch or Optuna.

A strategy never sees a benchmark: this package must not import
``nasbench_suite.bench`` or ``nasbench_suite.tabular`` (a test checks it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from nasbench_suite._registry import ENTRY_POINT_GROUPS, LazyRegistry
from nasbench_suite.search.base import Observation, Proposal, SearchContext, Strategy, StrategyError
from nasbench_suite.search.prior import TransferPrior
from nasbench_suite.spaces.base import SearchSpace

# name -> (module, class); imported lazily on first use.
_REGISTRY: LazyRegistry[type[Strategy]] = LazyRegistry(
    "strategy",
    {
        "random": ("nasbench_suite.search.random", "RandomSearch"),
        "rea": ("nasbench_suite.search.rea", "RegularizedEvolution"),
        "ga": ("nasbench_suite.search.ga", "GeneticAlgorithm"),
        "reinforce": ("nasbench_suite.search.reinforce", "Reinforce"),
        "qlearning": ("nasbench_suite.search.qlearning", "QLearning"),
        "local-search": ("nasbench_suite.search.local_search", "LocalSearch"),
        "bananas": ("nasbench_suite.search.bananas", "Bananas"),
        "xgb-bo": ("nasbench_suite.search.model_based", "XGBoostSearch"),
        "sh": ("nasbench_suite.search.successive_halving", "SuccessiveHalving"),
        "hyperband": ("nasbench_suite.search.successive_halving", "Hyperband"),
        "asha": ("nasbench_suite.search.asha", "ASHA"),
        "bohb": ("nasbench_suite.search.bohb", "BOHB"),
        "dehb": ("nasbench_suite.search.dehb", "DEHB"),
        "naswot": ("nasbench_suite.search.naswot", "Naswot"),
        "rea-zc": ("nasbench_suite.search.rea_zc", "ProxyWarmREA"),
        "bananas-zc": ("nasbench_suite.search.bananas_zc", "ProxyWarmBananas"),
        "rea-warm": ("nasbench_suite.search.rea_warm", "WarmREA"),
        "bananas-warm": ("nasbench_suite.search.bananas_warm", "WarmBananas"),
        "xgb-bo-warm": ("nasbench_suite.search.xgb_bo_warm", "WarmXGBoostSearch"),
        "optuna-tpe": ("nasbench_suite.search.optuna_adapter", "OptunaTPE"),
        "optuna-random": ("nasbench_suite.search.optuna_adapter", "OptunaRandom"),
        "optuna-nsga2": ("nasbench_suite.search.optuna_adapter", "OptunaNSGA2"),
        "optuna": ("nasbench_suite.search.optuna_adapter", "OptunaAnySampler"),
    },
    error=StrategyError,
    unknown=lambda name, known: StrategyError(
        f"unknown strategy {name!r}; known strategies: {', '.join(known)}"
    ),
    base=Strategy,
    entry_point_group=ENTRY_POINT_GROUPS["strategies"],
)


def register(name: str, cls: type[Strategy], *, replace: bool = False) -> None:
    """Make the ``Strategy`` subclass ``cls`` available as ``get(name, ...)``.

    Raises:
        StrategyError: if ``cls`` is not a Strategy subclass, or ``name`` is taken and
            ``replace`` is false.
    """
    _REGISTRY.register(name, cls, replace=replace)


def unregister(name: str) -> None:
    """Forget the strategy registered as ``name`` (a built-in of that name comes back)."""
    _REGISTRY.unregister(name)


@contextmanager
def registered(name: str, cls: type[Strategy], *, replace: bool = False) -> Iterator[type[Strategy]]:
    """``register(name, cls)`` for the duration of a ``with`` block, undone on exit.

    Raises:
        StrategyError: as :func:`register`.
    """
    with _REGISTRY.registered(name, cls, replace=replace):
        yield cls


def strategy_class(name: str) -> type[Strategy]:
    """The class registered as ``name`` (to read ``defaults``, ``multi_fidelity``, ...).

    Raises:
        StrategyError: if no strategy has that name.
        PluginError: the installed plugin of that name failed to load.
    """
    return _REGISTRY.lookup(name)


def get(
    name: str,
    space: SearchSpace | str,
    seed: int | np.random.SeedSequence = 0,
    context: SearchContext | None = None,
    **options: Any,
) -> Strategy:
    """A new strategy ``name`` on ``space`` (a space or a registered space name).

    Args:
        name: a name from :func:`available`.
        space: the search space, or its registered name (``"nb201"``).
        seed: seed (or SeedSequence) of every random choice the strategy makes.
        context: what the runner tells about fidelities and objectives.
        **options: settings overriding the strategy's published ``defaults``.

    Raises:
        StrategyError: unknown strategy or option, or a context the strategy cannot
            run in (multi-fidelity without epochs, multi-objective without a second
            objective).
        UnknownSpaceError: unknown space name.
    """
    cls = strategy_class(name)
    if isinstance(space, str):
        from nasbench_suite import spaces

        space = spaces.get(space)
    return cls(space, seed=seed, context=context, **options)


def available() -> list[str]:
    """Names of the strategies (built in, registered, installed plugins), sorted.

    The standard leaderboard does not run all of these: it runs the fixed list in
    ``nasbench_suite.experiments.protocol``.
    """
    return _REGISTRY.names()


__all__ = [
    "Observation",
    "Proposal",
    "SearchContext",
    "Strategy",
    "StrategyError",
    "TransferPrior",
    "available",
    "get",
    "register",
    "registered",
    "strategy_class",
    "unregister",
]
