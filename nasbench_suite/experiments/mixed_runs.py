"""The rule a leaderboard summary keeps: it never mixes runs of different protocols."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nasbench_suite.errors import NasbenchError

if TYPE_CHECKING:
    from nasbench_suite.experiments.runner import RunResult


class MixedRunsError(NasbenchError, ValueError):
    """Runs of different protocols (budget, workers, seeds, metrics, benchmark) given to one summary."""


#: Settings that every run of one summary must share (per dataset for the budgets).
_SHARED = ("workers", "observe_metric", "report_metric", "second_objective", "max_evals", "suspect")


def check_one_protocol(results: Sequence[RunResult]) -> None:
    """Refuse runs that a summary must not mix: within each dataset one budget and, for every
    strategy, the same seeds and warm-start source; across all runs the same workers, metrics,
    second objective and evaluation cap, and one benchmark (its checksum, where recorded).

    Raises:
        MixedRunsError: one line naming the first difference found and two values of it.
    """

    def refuse(what: str, a: Any, b: Any) -> None:
        raise MixedRunsError(f"cannot summarise runs of different protocols: {what} {a} and {b}")

    checksums = sorted({r.bench_checksum for r in results if r.bench_checksum})
    if len(checksums) > 1:
        refuse("benchmarks (checksums)", checksums[0], checksums[1])
    for name in _SHARED:
        values = sorted({repr(getattr(r.config, name)) for r in results})
        if len(values) > 1:
            refuse(name, values[0], values[1])
    by_dataset: dict[str, list[RunResult]] = {}
    for r in results:
        by_dataset.setdefault(r.config.dataset, []).append(r)
    for dataset, runs in sorted(by_dataset.items()):
        budgets = sorted({_budget_text(r.config) for r in runs})
        if len(budgets) > 1:
            refuse(f"budgets on {dataset}:", budgets[0], budgets[1])
        pools = sorted({r.config.search_pool for r in runs})
        if len(pools) > 1:
            refuse(f"search pools on {dataset}:", pools[0], pools[1])
        sources: dict[str, set[str]] = {}
        for r in runs:
            sources.setdefault(r.config.strategy, set()).add(repr(r.config.warm_source))
        for strategy, found in sorted(sources.items()):
            if len(found) > 1:
                a, b = sorted(found)[:2]
                refuse(f"warm-start sources of {strategy} on {dataset}:", a, b)
        seeds: dict[str, set[int]] = {}
        for r in runs:
            seeds.setdefault(r.config.strategy, set()).add(r.config.seed)
        distinct = sorted({tuple(sorted(s)) for s in seeds.values()})
        if len(distinct) > 1:
            a, b = (next(n for n, s in sorted(seeds.items()) if tuple(sorted(s)) == d) for d in distinct[:2])
            refuse(
                f"seed sets on {dataset}:",
                f"{_seeds_text(distinct[0])} ({a})",
                f"{_seeds_text(distinct[1])} ({b})",
            )


def _budget_text(config: Any) -> str:
    return f"{config.budget_s:.6g} s" if config.budget_s is not None else f"{config.budget_evals} evaluations"


def _seeds_text(seeds: Sequence[int]) -> str:
    if list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}..{seeds[-1]}"
    return ",".join(map(str, seeds))
