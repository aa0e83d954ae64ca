"""The standard suite: which runs a leaderboard makes (``docs/protocol.md`` gives the reasons).

The strategies of ``STANDARD_STRATEGIES`` (a fixed, versioned list: registering a
plugin never changes the standard leaderboard) that apply to the benchmark, every
dataset, seeds 0..29, W = 1 simulated worker, and per dataset a budget in simulated
seconds of about 150 full trainings of an average architecture of that dataset. A table
that holds a small share of its space is searched over what it holds, with a smaller budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.errors import NasbenchError
from nasbench_suite.experiments.config import RunConfig
from nasbench_suite.experiments.warm_start import warm_source

if TYPE_CHECKING:
    from nasbench_suite.bench.base import Benchmark

#: Version of the standard suite. A change of what the suite runs (its strategies, seeds,
#: workers, budgets) is a new version, so that a committed leaderboard says which it is.
#: Version 2 changed the measurement, not the runs' list: the report never reuses the data the
#: strategy observed (held-out seed or x-test), and a seed-mean observation gets seed noise.
#: Version 3 changed the list: ASHA and BOHB joined (``STANDARD_STRATEGIES_V3``); a sparse table
#: is searched over the architectures it holds (``search_pool``), with its budget capped to the pool.
#: Version 4 changed the list and the main job: DEHB joined (``STANDARD_STRATEGIES_V4``), and
#: ``nasbench leaderboard`` without ``--bench`` adds the sections of ``STANDARD_SECTIONS``.
#: Version 5 changed the list: the Q-learning controller (``qlearning``) and the warm-started
#: strategies (``rea-warm``, ``bananas-warm``, ``xgb-bo-warm``: their cold counterparts started from
#: a source dataset's accuracies, charged nothing; ``experiments.warm_start``) joined
#: (``STANDARD_STRATEGIES_V5``). The warm ones are not applicable on a benchmark with one dataset.
#: Its runs also differ from version 4's where predictors are involved: they encode each class's
#: representative, and a search pool (the ``nb201-cpu`` section) encodes as its base space does.
PROTOCOL_VERSION = 5

#: The strategies of protocol version 1, in the order the suite runs them: the twelve
#: built-in strategies as the suite named them when version 1 was fixed. Those that do
#: not apply to a benchmark (sh and hyperband without learning curves, optuna-nsga2
#: without a second objective) come back as "not applicable".
STANDARD_STRATEGIES_V1: tuple[str, ...] = (
    "bananas",
    "ga",
    "hyperband",
    "local-search",
    "optuna-nsga2",
    "optuna-random",
    "optuna-tpe",
    "random",
    "rea",
    "reinforce",
    "sh",
    "xgb-bo",
)
#: Version 2 changed the measurement only: its list is version 1's.
STANDARD_STRATEGIES_V2: tuple[str, ...] = STANDARD_STRATEGIES_V1
#: Version 3: version 2's list and the two multi-fidelity strategies that schedule without
#: waiting for a bracket (ASHA) or draw new architectures from a model (BOHB), in name order.
STANDARD_STRATEGIES_V3: tuple[str, ...] = tuple(sorted((*STANDARD_STRATEGIES_V2, "asha", "bohb")))
#: Version 4: version 3's list and DEHB (Hyperband with differential evolution), in name order.
STANDARD_STRATEGIES_V4: tuple[str, ...] = tuple(sorted((*STANDARD_STRATEGIES_V3, "dehb")))
#: Version 5: version 4's list, Q-learning and the warm starts of REA, BANANAS and XGBoost BO, in
#: name order.
STANDARD_STRATEGIES_V5: tuple[str, ...] = tuple(
    sorted((*STANDARD_STRATEGIES_V4, "qlearning", "rea-warm", "bananas-warm", "xgb-bo-warm"))
)
#: The strategies of the current protocol version.
STANDARD_STRATEGIES: tuple[str, ...] = STANDARD_STRATEGIES_V5

STANDARD_N_SEEDS = 30


class IncompleteSuiteError(NasbenchError, RuntimeError):
    """A strategy of the standard suite cannot run on this install (a library is missing), so the
    leaderboard would silently differ from everyone else's: it refuses instead."""


STANDARD_WORKERS = 1
#: The main job's benchmark (``nasbench leaderboard`` without ``--bench``) and its further sections:
#: the project's own NB201 table, whose learning curves let the multi-fidelity strategies run.
STANDARD_BENCH = "nb201"
STANDARD_SECTIONS: tuple[str, ...] = ("nb201-cpu",)
#: The budget is this many mean training times of the dataset.
BUDGET_TRAININGS = 150
#: A table holding less than this share of its space's architectures for a dataset is searched
#: over the architectures it holds (``RunConfig.search_pool = "table"``).
POOL_COVERAGE = 0.5
#: Searched over a pool, the budget is at most this share of the pool in mean trainings, so that
#: random search cannot simply train most of the pool (150 trainings of a 250-architecture pool).
POOL_BUDGET_SHARE = 0.2

#: The standard budgets of NB201 (table or surrogate), in simulated seconds: 150 x the
#: mean 200-epoch training time over the 15,625 architectures (1,828 s, 3,656 s and
#: 11,092 s), rounded to two significant figures. Fixed here so that the table and the
#: surrogate benchmark are compared under the same budget.
STANDARD_BUDGETS_S: dict[str, dict[str, float]] = {
    "nb201": {"cifar10-valid": 2.7e5, "cifar100": 5.5e5, "ImageNet16-120": 1.7e6},
}


def standard_budget(bench: Benchmark, dataset: str, pool_size: int | None = None) -> dict[str, float | int]:
    """The standard budget of ``dataset``: ``{"budget_s": S}``, or ``{"budget_evals": N}``.

    A dataset listed in ``STANDARD_BUDGETS_S`` gets its fixed budget (except in a pool search); any other gets
    ``BUDGET_TRAININGS`` times the mean seed-mean training time of the reference
    architectures (two significant figures), or ``BUDGET_TRAININGS`` evaluations when
    the benchmark reports no training time. A search over a pool of ``pool_size``
    architectures (``search_pool = "table"``) gets at most ``POOL_BUDGET_SHARE * pool_size``
    trainings (at least one) instead of ``BUDGET_TRAININGS``.
    """
    # A pool search never takes a fixed budget: a sparse table of one's own runs may share a
    # dataset name with NB201 while its training times (other hardware, other epochs) do not.
    fixed = STANDARD_BUDGETS_S.get(bench.space.name, {}).get(dataset) if pool_size is None else None
    if fixed is not None:
        return {"budget_s": fixed}

    trainings = budget_trainings(pool_size)
    costs = bench.query_batch(bench.reference_archs(dataset), dataset, seed="mean", metrics=[])["cost_s"]
    mean = float(np.nanmean(costs.to_numpy(float))) if costs.notna().any() else math.nan
    if not math.isfinite(mean) or mean <= 0:
        return {"budget_evals": trainings}
    budget = trainings * mean
    digits = 1 - math.floor(math.log10(budget))
    return {"budget_s": float(round(budget, digits))}


def budget_trainings(pool_size: int | None = None) -> int:
    """Mean trainings in a standard budget: ``BUDGET_TRAININGS``, capped for a pool search."""
    if pool_size is None:
        return BUDGET_TRAININGS
    return max(1, min(BUDGET_TRAININGS, math.floor(POOL_BUDGET_SHARE * pool_size)))


def standard_search_pool(bench: Benchmark, dataset: str) -> tuple[str, int]:
    """``("table", n)`` when the benchmark holds ``n`` of its space's architectures for ``dataset`` and
    that is less than ``POOL_COVERAGE`` of the space; else ``("space", n)``. A space of unknown size
    (not enumerable) is searched whole."""
    n = len(bench.reference_archs(dataset)) if bench.space.size else 0
    if bench.space.size and n < POOL_COVERAGE * bench.space.size:
        return "table", n
    return "space", n


def pool_of(configs: Sequence[RunConfig], bench: Benchmark, dataset: str) -> tuple[str, int]:
    """The search pool the runs of ``dataset`` used, and the size of the table's pool."""
    pool = next(c.search_pool for c in configs if c.dataset == dataset)
    return pool, standard_search_pool(bench, dataset)[1]


def budget_rule(bench: Benchmark, dataset: str, search_pool: str, pool_size: int) -> str:
    """One line saying where a dataset's standard budget and search pool come from."""
    if search_pool == "space" and dataset in STANDARD_BUDGETS_S.get(bench.space.name, {}):
        rule = f"fixed for {bench.space.name} (protocol.STANDARD_BUDGETS_S)"
    else:
        rule = f"{budget_trainings(pool_size if search_pool == 'table' else None)} mean full trainings"
    if search_pool == "table":
        space_size = f"{bench.space.size:,}"
        return (
            f"{rule} (at most {POOL_BUDGET_SHARE:g} of the pool); searched over the {pool_size:,} "
            f"architectures the table holds of {space_size}"
        )
    return rule


def standard_suite(
    bench: Benchmark,
    source: str,
    strategies: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    workers: int = STANDARD_WORKERS,
    budgets: dict[str, dict[str, float | int]] | None = None,
    second_objective: str | None = None,
    suspect: str = "include",
    search_pool: str | None = None,
    *,
    budget: dict[str, float | int] | None = None,
    observe_metric: str | None = None,
    report_metric: str | None = None,
    warm_sources: Mapping[str, str] | None = None,
) -> list[RunConfig]:
    """The configs of the standard suite on ``bench`` (opened from ``source``).

    Args:
        bench: the open benchmark (to read datasets and budgets).
        source: what workers open (``RunConfig.bench``).
        strategies: default ``STANDARD_STRATEGIES``, in that order (inapplicable ones
            come back from the runner as "not-applicable"); any registered strategy
            may be named.
        datasets: default every dataset of the benchmark.
        seeds: default ``range(STANDARD_N_SEEDS)``.
        workers: simulated workers per run (W).
        budgets: per-dataset overrides of :func:`standard_budget`.
        second_objective: a minimised second objective for every run (``params_m``,
            ``flops_m``, a latency column): multi-objective strategies then apply, and
            every run reports its hypervolume. None: single-objective runs.
        suspect: ``"include"`` (default) or ``"exclude"`` the entries the table flags.
        search_pool: ``"space"`` or ``"table"`` for every dataset; None (default): per dataset,
            ``"table"`` when the benchmark holds less than ``POOL_COVERAGE`` of its space
            (:func:`standard_search_pool`), with the budget capped to the pool.
        budget: one budget (``{"budget_evals": N}`` or ``{"budget_s": S}``) for every dataset that
            ``budgets`` does not name, instead of the standard one.
        observe_metric, report_metric: overrides of the metric rule for every run (``RunConfig``).
        warm_sources: target dataset -> source dataset of the warm-started strategies' prior
            (``RunConfig.warm_source``), over the default map of ``experiments.warm_start``;
            datasets not named, and datasets the benchmark lacks (another section's), keep it.

    Raises:
        UnknownDatasetError: a dataset the benchmark lacks.
        StrategyError: an unknown strategy.
        UnknownDatasetError, RunConfigError: a warm source the benchmark lacks, or the target itself.
    """
    from nasbench_suite import search
    from nasbench_suite.errors import UnknownDatasetError

    strategies = list(strategies) if strategies is not None else list(STANDARD_STRATEGIES)
    for name in strategies:
        search.strategy_class(name)
    datasets = list(datasets) if datasets is not None else bench.datasets
    for dataset in datasets:
        if dataset not in bench.datasets:
            raise UnknownDatasetError(dataset, bench.datasets)
    seeds = list(seeds) if seeds is not None else list(range(STANDARD_N_SEEDS))
    warm = {
        d: warm_source(bench, d, src) for d, src in (warm_sources or {}).items() if d in datasets
    }  # checked here, in one line, rather than in every run
    warm_started = {name: search.strategy_class(name).warm_started for name in strategies}
    configs = []
    for dataset in datasets:
        pool, n_pool = standard_search_pool(bench, dataset)
        pool = search_pool or pool
        chosen = (budgets or {}).get(dataset) or budget
        chosen = chosen or standard_budget(bench, dataset, n_pool if pool == "table" else None)
        for strategy in strategies:
            for seed in seeds:
                configs.append(
                    RunConfig(
                        strategy,
                        source,
                        dataset,
                        seed=seed,
                        workers=workers,
                        second_objective=second_objective,
                        suspect=suspect,
                        search_pool=pool,
                        observe_metric=observe_metric,
                        report_metric=report_metric,
                        warm_source=warm.get(dataset) if warm_started[strategy] else None,
                        **chosen,  # type: ignore[arg-type]
                    )
                )
    return configs


def check_suite_runs(bench: Benchmark, dataset: str, second_objective: str | None = None) -> None:
    """Refuse to run the standard suite short: every strategy of ``STANDARD_STRATEGIES`` must be
    buildable on this install, except those the protocol itself lists as not applicable
    (multi-fidelity ones on a benchmark without curves, multi-objective ones without a second
    objective, warm-started ones on a benchmark with one dataset), which are not applicable on
    every install alike.

    Raises:
        IncompleteSuiteError: naming the strategy and why it cannot be built (a missing library).
    """
    from nasbench_suite import search
    from nasbench_suite.search.base import SearchContext, StrategyError
    from nasbench_suite.search.prior import TransferPrior

    epochs = tuple(bench.epochs(dataset))
    n_objectives = 1 if second_objective is None else 2
    max_epoch = epochs[-1] if epochs else None
    context = SearchContext(epochs=epochs, max_epoch=max_epoch, n_objectives=n_objectives)
    # What a warm start needs to be built (its real prior is the runner's; here only the libraries count).
    arch = bench.space.key(bench.space.sample(np.random.default_rng(0)))
    warm = replace(context, prior=TransferPrior("source", (arch,), (50.0,)))
    has_source = warm_source(bench, dataset) is not None
    for name in STANDARD_STRATEGIES:
        cls = search.strategy_class(name)
        if (cls.multi_fidelity and not epochs) or (cls.multi_objective and n_objectives == 1):
            continue
        if cls.warm_started and not has_source:
            continue
        try:
            search.get(name, bench.space, seed=0, context=warm if cls.warm_started else context)
        except StrategyError as exc:
            raise IncompleteSuiteError(
                f"the standard suite (protocol v{PROTOCOL_VERSION}) cannot run {name} on this install "
                f"({exc}); a leaderboard without it would differ from the committed one"
            ) from None
