"""The settings of one search run: a frozen, validated ``RunConfig``.

A run is (strategy x benchmark x dataset x seed) under a budget, on a simulated
clock with ``workers`` asynchronous workers. Everything that changes the outcome
of a run is in its config, so a config (as JSON) is enough to reproduce it.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nasbench_suite.errors import NasbenchError

#: A run with a time budget also stops after this many evaluations, so that a
#: benchmark answering with zero cost (failed lookups) cannot loop for ever.
DEFAULT_MAX_EVALS = 100_000
#: What strategies search: the benchmark's whole space, or the architectures its table holds.
SEARCH_POOLS = ("space", "table")


class RunConfigError(NasbenchError, ValueError):
    """A run setting is out of range or inconsistent (the message names the setting)."""


@dataclass(frozen=True)
class RunConfig:
    """What one search run does.

    Attributes:
        strategy: registered strategy name (``nasbench_suite.search.available()``).
        bench: benchmark source, as ``open_benchmark`` takes it: a table path or a
            shipped name such as ``"nb201"``. Existing paths are made absolute so
            that worker processes open the same file.
        dataset: dataset name of the benchmark.
        seed: the run's seed; its ``SeedSequence`` spawns the strategy's and the
            benchmark draws' generators.
        budget_s: budget in simulated training seconds (exactly one of
            ``budget_s``/``budget_evals``).
        budget_evals: budget in evaluations.
        workers: W, the number of simulated asynchronous workers (1: sequential).
        strategy_options: options passed to the strategy (a mapping; stored sorted).
        observe_metric: metric told to the strategy; None for the rule of
            ``metrics.resolve_metrics`` (per-seed ``valid_acc``, else ``valid_acc_mean``
            with seed noise).
        report_metric: metric of the report; None for the rule (``xtest_acc``, else
            ``test_acc``, else ``valid_acc`` on a held-out seed, see ``docs/protocol.md``).
        second_objective: a metric minimised as the second objective (``params_m``,
            ``flops_m``, a latency column), or None.
        max_evals: hard cap on evaluations for time budgets (see DEFAULT_MAX_EVALS).
        suspect: ``"include"`` (default) or ``"exclude"`` the entries a table flags as
            suspect (its ``suspect`` metric): excluded ones are failed evaluations and
            leave the reference architectures.
        search_pool: ``"space"`` (default): strategies search the benchmark's whole space;
            ``"table"``: they search a view of it restricted to the architectures the
            benchmark holds for the dataset (``spaces.pool.PoolSpace`` over
            ``reference_archs``, less excluded entries), for sparse tables where most of
            the space would be failed evaluations.
        warm_source: the source dataset of a warm-started strategy's prior (another dataset of
            the benchmark; ``experiments.warm_start``); None: the protocol's default source for
            warm-started strategies, no prior for the others. Given for any strategy (an external
            optimiser through the driver), the prior is built and offered in its context.
    """

    strategy: str
    bench: str
    dataset: str
    seed: int = 0
    budget_s: float | None = None
    budget_evals: int | None = None
    workers: int = 1
    strategy_options: tuple[tuple[str, Any], ...] = field(default=())
    observe_metric: str | None = None
    report_metric: str | None = None
    second_objective: str | None = None
    max_evals: int = DEFAULT_MAX_EVALS
    suspect: str = "include"
    search_pool: str = "space"
    warm_source: str | None = None

    def __post_init__(self) -> None:
        for name in ("strategy", "bench", "dataset"):
            value = getattr(self, name)
            if not isinstance(value, (str, Path)) or not str(value):
                raise RunConfigError(f"{name} must be a non-empty string, not {value!r}")
        bench = Path(self.bench)
        object.__setattr__(self, "bench", str(bench.resolve()) if bench.exists() else str(self.bench))
        for name in ("seed", "workers", "max_evals"):
            minimum = 0 if name == "seed" else 1
            object.__setattr__(self, name, _check_int(name, getattr(self, name), minimum))
        if (self.budget_s is None) == (self.budget_evals is None):
            raise RunConfigError("give exactly one budget: budget_s (simulated seconds) or budget_evals")
        if self.budget_s is not None:
            if isinstance(self.budget_s, bool) or not isinstance(self.budget_s, (int, float)):
                raise RunConfigError(f"budget_s must be a number of seconds, not {self.budget_s!r}")
            if not (math.isfinite(self.budget_s) and self.budget_s > 0):
                raise RunConfigError(
                    f"budget_s must be a positive finite number of seconds, not {self.budget_s}"
                )
            object.__setattr__(self, "budget_s", float(self.budget_s))
        if self.budget_evals is not None:
            object.__setattr__(self, "budget_evals", _check_int("budget_evals", self.budget_evals, 1))
        options = self.strategy_options
        if isinstance(options, Mapping):
            options = tuple(options.items())
        try:
            options = tuple(sorted((str(k), v) for k, v in options))
            json.dumps(options)
        except (TypeError, ValueError):
            raise RunConfigError(
                f"strategy_options must map names to JSON values, not {self.strategy_options!r}"
            ) from None
        object.__setattr__(self, "strategy_options", options)
        if self.suspect not in ("include", "exclude"):
            raise RunConfigError(f"suspect must be 'include' or 'exclude', not {self.suspect!r}")
        if self.search_pool not in SEARCH_POOLS:
            raise RunConfigError(f"search_pool must be 'space' or 'table', not {self.search_pool!r}")
        for name in ("observe_metric", "report_metric", "second_objective", "warm_source"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise RunConfigError(f"{name} must be a name or None, not {value!r}")

    @property
    def options(self) -> dict[str, Any]:
        """The strategy options as a dict."""
        return dict(self.strategy_options)

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` applied (validated again)."""
        values = {**asdict(self), **changes}
        return RunConfig(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (``strategy_options`` as a dict)."""
        out = asdict(self)
        out["strategy_options"] = self.options
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RunConfig:
        """Inverse of ``to_dict``.

        Raises:
            RunConfigError: for unknown or invalid settings.
        """
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise RunConfigError(f"unknown run setting(s) {unknown}; settings are {sorted(known)}")
        return cls(**dict(values))


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise RunConfigError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return int(value)
