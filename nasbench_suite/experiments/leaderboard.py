"""The leaderboard: the standard suite run, summarised, and written as Markdown, HTML, PNG and Parquet.

Per dataset and strategy: final report accuracy and final regret (mean +- s.e.,
median with inter-quartile range), anytime regret AUC (mean +- s.e.), average
rank by final regret (mean +- s.e. of the per-seed ranks) and a paired two-sided
Wilcoxon signed-rank test of final regret against the strategy with the lowest
mean final regret and another against random search, each Holm-corrected over
the comparisons of that dataset. The files are written by
``experiments.report.write_leaderboard``, which reads these summaries (the arrow runs
one way: this module never imports the writer).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.errors import UnknownDatasetError
from nasbench_suite.experiments.mixed_runs import MixedRunsError, check_one_protocol
from nasbench_suite.experiments.runner import RunResult
from nasbench_suite.stats import mean_se, ranks_per_seed, wilcoxon_vs_reference

#: The strategy every other one is also tested against.
BASELINE = "random"
#: Expected cost of a model-based run in model-free runs, for cutting the sweep into tasks
#: (the committed leaderboards' compute sections: about 1.2 s against 0.03 s a run).
MODEL_BASED_WEIGHT = 40.0


@dataclass
class DatasetBoard:
    """The summary of one dataset: one row per applicable strategy, best first.

    Attributes:
        dataset: dataset name.
        budget: ``"2.7e+05 s"`` or ``"150 evaluations"``.
        rows: per strategy, a dict of figures (see ``_row``).
        best: the strategy with the lowest mean final regret.
        curves: strategy -> [(times, regrets)] per seed, for the plot.
        budget_value: the budget in the unit of the curves' times.
        initial_regret: regret before any result.
        time_unit: ``"s"`` or ``"evals"``.
        rule: what the runs observed and reported, and the flagged entries (``MetricPlan.describe``).
        curves_evals: strategy -> [(evaluations, regrets)] per seed (regret against evaluations).
        seeds: the seeds every strategy ran (the blocks of the ranks).
        final_regrets: strategy -> (len(seeds),) final regret per seed, what the ranks rank.
    """

    dataset: str
    budget: str
    rows: list[dict[str, Any]]
    best: str
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]]
    budget_value: float
    initial_regret: float
    time_unit: str
    rule: str = "not recorded"
    curves_evals: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    final_regrets: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Leaderboard:
    """Every run of a leaderboard and its per-dataset summaries."""

    bench: str
    results: list[RunResult]
    boards: list[DatasetBoard] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)
    compute_s: dict[str, float] = field(default_factory=dict)
    model_based: dict[str, bool] = field(default_factory=dict)
    elapsed_s: float = math.nan
    settings: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] | None = None
    #: Further sections on other benchmarks (each a whole leaderboard), written into the same report.
    sections: list[Leaderboard] = field(default_factory=list)


@dataclass(frozen=True)
class Section:
    """A further leaderboard section: the same suite on another benchmark.

    Attributes:
        source: the benchmark (table path or shipped name).
        datasets: its datasets to run (None: every one).
        budgets: per-dataset overrides of its standard budgets (None: ``protocol.standard_budget``).
    """

    source: str
    datasets: tuple[str, ...] | None = None
    budgets: dict[str, dict[str, float | int]] | None = None


def run_leaderboard(
    source: str = "nb201",
    strategies: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    workers: int = 1,
    executor: str = "local",
    processes: int | None = None,
    ray_address: str | None = None,
    budgets: dict[str, dict[str, float | int]] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    second_objective: str | None = None,
    suspect: str = "include",
    sections: Sequence[Section] = (),
    search_pool: str | None = None,
    **overrides: Any,
) -> Leaderboard:
    """Run the standard suite (``protocol.standard_suite``) and summarise it.

    Args:
        source: benchmark (table path or shipped name).
        strategies, datasets, seeds, workers, budgets, second_objective, suspect, search_pool: see
            ``protocol.standard_suite``.
        executor, processes, ray_address: see ``executors.run_many``.
        on_progress: called with (runs finished so far, total runs), per section.
        sections: further benchmarks to run the same suite on (same strategies, seeds, workers,
            objectives and executor; each with its own datasets, standard budgets and rule lines);
            their leaderboards are in ``Leaderboard.sections``, written into the same report.
        overrides: ``budget``, ``observe_metric``, ``report_metric`` of ``protocol.standard_suite``,
            for every section.

    Raises:
        IncompleteSuiteError: the standard suite (``strategies`` None) would run short here.
        the errors of ``open_benchmark``, ``standard_suite`` and ``run_many``.
    """
    from nasbench_suite import search
    from nasbench_suite.experiments.executors import run_many
    from nasbench_suite.experiments.protocol import budget_rule, check_suite_runs, pool_of, standard_suite
    from nasbench_suite.experiments.runner import open_cached
    from nasbench_suite.provenance import provenance

    bench = open_cached(source)
    for target in overrides.get("warm_sources") or {}:  # a section may lack them; the main one may not
        if target not in bench.datasets:
            raise UnknownDatasetError(target, bench.datasets)
    configs = standard_suite(
        bench,
        source,
        strategies,
        datasets,
        seeds,
        workers,
        budgets,
        second_objective,
        suspect,
        search_pool,
        **overrides,
    )
    if strategies is None and configs:
        check_suite_runs(bench, configs[0].dataset, second_objective)
    model_based = {name: search.strategy_class(name).model_based for name in {c.strategy for c in configs}}
    # Longest jobs first, so that a slow model-based chunk does not straggle at the end; tasks cut by
    # weight, so that the model-based runs come in small tasks and the processes end together.
    order = sorted(range(len(configs)), key=lambda i: not model_based[configs[i].strategy])
    weights = [MODEL_BASED_WEIGHT if model_based[configs[i].strategy] else 1.0 for i in order]
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if on_progress:
            on_progress(done, len(configs))

    start = time.perf_counter()
    ordered = run_many(
        [configs[i] for i in order],
        executor,
        processes,
        ray_address,
        tolerate_strategy_errors=True,
        on_progress=progress,
        weights=weights,
    )
    elapsed = time.perf_counter() - start
    results: list[RunResult] = [None] * len(configs)  # type: ignore[list-item]
    for i, result in zip(order, ordered):
        results[i] = result
    # A table path is shown by its file name: written reports should not depend on where it lay.
    board = summarise(results, bench=Path(source).name if Path(source).exists() else source)
    board.provenance = provenance(bench.identity())
    board.model_based = model_based
    board.elapsed_s = elapsed
    board.settings = {
        "executor": executor,
        "processes": processes if processes is not None else os.cpu_count(),
        "workers": workers,
        "seeds": sorted({c.seed for c in configs}),
        "second_objective": second_objective,
        "budget_rules": {
            d: "given"
            if (budgets or {}).get(d) or overrides.get("budget")
            else budget_rule(bench, d, *pool_of(configs, bench, d))
            for d in dict.fromkeys(c.dataset for c in configs)
        },
    }
    for section in sections:
        board.sections.append(
            run_leaderboard(
                section.source,
                strategies,
                section.datasets,
                seeds,
                workers,
                executor,
                processes,
                ray_address,
                section.budgets,
                on_progress,
                second_objective,
                suspect,
                search_pool=search_pool,
                **overrides,
            )
        )
    return board


def summarise(
    results: Sequence[RunResult], bench: str = "", provenance: dict[str, Any] | None = None
) -> Leaderboard:
    """Per-dataset summaries of ``results`` (e.g. read back with ``trajectory.read_runs``).

    Args:
        results: runs of one protocol (see :func:`check_one_protocol`).
        bench: the benchmark's name for the report.
        provenance: the record of the sweep (``trajectory.read_provenance`` of a runs file).

    Raises:
        MixedRunsError: the runs differ in budget, workers, seeds, metrics or benchmark.
    """
    check_one_protocol(results)
    board = Leaderboard(bench=bench, results=list(results), provenance=provenance)
    by_dataset: dict[str, dict[str, list[RunResult]]] = {}
    for r in results:
        board.compute_s[r.config.strategy] = board.compute_s.get(r.config.strategy, 0.0) + r.summary.get(
            "wall_s", 0.0
        )
        if not r.ok:
            board.not_applicable.setdefault(r.config.strategy, r.message)
            continue
        by_dataset.setdefault(r.config.dataset, {}).setdefault(r.config.strategy, []).append(r)
    for dataset in sorted(by_dataset):
        board.boards.append(_dataset_board(dataset, by_dataset[dataset]))
    return board


def _dataset_board(dataset: str, runs: dict[str, list[RunResult]]) -> DatasetBoard:
    names = sorted(runs)
    seeds = sorted(set.intersection(*({r.config.seed for r in runs[n]} for n in names)))
    by_seed = {n: {r.config.seed: r for r in runs[n]} for n in names}
    # Ranks and tests pair strategies by seed, over the seeds every strategy ran.
    regret = np.array([[by_seed[n][s].summary["final_regret"] for n in names] for s in seeds], float)
    ranks = ranks_per_seed(regret) if len(seeds) else np.zeros((0, len(names)))
    mean_regret = {n: mean_se([r.summary["final_regret"] for r in runs[n]])[0] for n in names}
    best = min(names, key=lambda n: (np.inf if math.isnan(mean_regret[n]) else mean_regret[n], n))
    by_name = {n: regret[:, j] for j, n in enumerate(names)}
    tests = wilcoxon_vs_reference(by_name, best) if len(seeds) else {}
    # Random search is the reference every NAS comparison needs: each strategy is also tested against it.
    tests_rs = wilcoxon_vs_reference(by_name, BASELINE) if len(seeds) and BASELINE in names else {}
    first = runs[names[0]][0]
    config = first.config
    if config.budget_s is not None:
        budget, budget_value, unit = f"{config.budget_s:.3g} s", config.budget_s, "s"
    else:
        budget, budget_value, unit = f"{config.budget_evals} evaluations", float(config.budget_evals), "evals"
    initial = first.summary["initial_regret"]
    rows = []
    for j, n in enumerate(names):
        summaries = [r.summary for r in runs[n]]
        row = _row(n, summaries, ranks[:, j] if len(seeds) else np.array([]), tests.get(n), tests_rs.get(n))
        rows.append(row)
    rows.sort(
        key=lambda row: (math.inf if math.isnan(row["regret_mean"]) else row["regret_mean"], row["strategy"])
    )
    curves = {
        n: [
            (
                r.trajectory["time_s"] if unit == "s" else r.trajectory["eval"].astype(float) + 1,
                r.trajectory["regret"],
            )
            for r in runs[n]
        ]
        for n in names
    }
    rule = _board_rule([r.rule for n in names for r in runs[n] if r.rule])
    curves_evals = {
        n: [(r.trajectory["eval"].astype(float) + 1, r.trajectory["regret"]) for r in runs[n]] for n in names
    }
    return DatasetBoard(
        dataset, budget, rows, best, curves, budget_value, initial, unit, rule, curves_evals, seeds, by_name
    )


def _row(
    name: str,
    summaries: list[dict[str, float]],
    ranks: np.ndarray,
    test: tuple | None,
    test_rs: tuple | None,
) -> dict[str, Any]:
    def figures(key: str) -> tuple[float, float, float, float, float]:
        values = np.array([s[key] for s in summaries], float)
        mean, se = mean_se(values)
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            return mean, se, math.nan, math.nan, math.nan
        q25, median, q75 = np.percentile(finite, [25, 50, 75])
        return mean, se, float(median), float(q25), float(q75)

    acc = figures("final_report")
    for s in summaries:
        s.setdefault("final_report_biased", math.nan)
    bias = mean_se(np.array([s["final_report_biased"] - s["final_report"] for s in summaries], float))
    reg = figures("final_regret")
    auc = figures("auc_regret")
    rank_mean, rank_se = mean_se(ranks) if len(ranks) else (math.nan, math.nan)
    hv = figures("hypervolume")
    return {
        "strategy": name,
        "runs": len(summaries),
        "evals_mean": float(np.mean([s["n_evals"] for s in summaries])),
        "acc_mean": acc[0],
        "acc_se": acc[1],
        "acc_median": acc[2],
        "acc_q25": acc[3],
        "acc_q75": acc[4],
        "regret_mean": reg[0],
        "regret_se": reg[1],
        "regret_median": reg[2],
        "regret_q25": reg[3],
        "regret_q75": reg[4],
        "auc_mean": auc[0],
        "auc_se": auc[1],
        "rank_mean": rank_mean,
        "rank_se": rank_se,
        "p_value": test[0] if test else math.nan,
        "p_holm": test[1] if test else math.nan,
        "p_rs": test_rs[0] if test_rs else math.nan,
        "p_rs_holm": test_rs[1] if test_rs else math.nan,
        "bias_mean": bias[0],
        "bias_se": bias[1],
        "hv_mean": hv[0],
        "hv_se": hv[1],
    }


__all__ = [
    "BASELINE",
    "DatasetBoard",
    "Leaderboard",
    "MixedRunsError",
    "Section",
    "check_one_protocol",
    "run_leaderboard",
    "summarise",
]


_WARM = "; warm start from "


def _board_rule(rules: list[str]) -> str:
    """One rule line for a dataset's board: the cold runs' rule, and the source of the warm-started
    rows when there are any (their own rule is the cold one plus where the prior came from)."""
    cold = next((r for r in rules if _WARM not in r), rules[0].split(_WARM)[0] if rules else "not recorded")
    warm = next((r.split(_WARM, 1)[1] for r in rules if _WARM in r), None)
    return cold if warm is None else f"{cold}; the warm-started rows start from {warm}"
