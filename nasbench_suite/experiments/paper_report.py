"""Run a paper-protocol preset and put its figures beside the published ones (``nasbench reproduce``).

Each (search, method) pair runs ``runs`` seeds through the runner with the preset's budget and
options, under the project's metric rule (``experiments/metrics.py``): on ``cifar10-valid`` the
strategy observes the 200-epoch validation accuracy of one seed and the runner reports the
found architecture on a held-out seed; on cifar100 and ImageNet16-120 it observes the
validation seed mean with seed noise and reports x-test. Beside the held-out figure, every
published column is filled the way the papers fill it: the seed-mean 200-epoch accuracy of
the run's final incumbent on that column's dataset and split (``np.mean`` and ``np.std`` over
the runs, as ``draw-table.py`` computes them; the standard error beside them). A column the
table cannot fill (CIFAR-10 test: the ``cifar10`` training is not in the imported file) stays
empty with the reason, and so does a method the table cannot run (BOHB needs the 12-epoch
learning curves that the imported table lacks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasbench_suite.experiments.config import RunConfig
from nasbench_suite.experiments.paper_presets import COST_EPOCHS, FULL_EPOCHS, PaperPreset
from nasbench_suite.experiments.runner import RunResult


def preset_configs(preset: PaperPreset, source: str, seeds: Sequence[int]) -> list[RunConfig]:
    """The runs of ``preset`` on the benchmark ``source``: every search x method x seed."""
    return [
        RunConfig(
            method.strategy,
            source,
            search.dataset,
            seed=seed,
            budget_s=search.budget_s,
            strategy_options=dict(method.options),
        )
        for search in preset.searches
        for method in preset.methods
        for seed in seeds
    ]


def reproduce(
    preset: PaperPreset,
    source: str,
    seeds: Sequence[int],
    executor: str = "serial",
    processes: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run the preset on ``source`` and return the report (JSON-able).

    Raises:
        UnknownDatasetError: the benchmark lacks a searched or reported dataset.
        NasbenchError: it lacks a reported metric (checked before any run).
        the runner's errors.
    """
    from datetime import datetime, timezone

    from nasbench_suite.errors import NasbenchError, UnknownDatasetError
    from nasbench_suite.experiments.executors import run_many
    from nasbench_suite.experiments.runner import open_cached
    from nasbench_suite.provenance import provenance

    bench = open_cached(source)
    for search in preset.searches:
        for dataset, metric, label in [
            (search.dataset, "", ""),
            *((c.dataset, c.metric, c.label) for c in search.columns),
        ]:
            if dataset and dataset not in bench.datasets:
                raise UnknownDatasetError(dataset, bench.datasets)
            if metric and metric not in bench.metric_names(dataset):  # checked before hundreds of runs
                raise NasbenchError(
                    f"{source}: preset {preset.name} reports {metric} of {dataset} ({label}), which this "
                    "benchmark does not store: it needs the NB201 table imported from the published files "
                    "(nasbench import nb201 ...)"
                )
    configs = preset_configs(preset, source, seeds)
    results = run_many(configs, executor, processes, tolerate_strategy_errors=False, on_progress=on_progress)
    by_pair: dict[tuple[str, str], list[RunResult]] = {}
    for result in results:
        by_pair.setdefault((result.config.dataset, result.config.strategy), []).append(result)
    searches = []
    for search in preset.searches:
        rows = [
            _method_row(bench, preset, search, m, by_pair[(search.dataset, m.strategy)])
            for m in preset.methods
        ]
        searches.append(
            {
                "label": search.label,
                "dataset": search.dataset,
                "paper_budget_s": search.paper_budget_s,
                "budget_s": search.budget_s,
                "columns": [
                    {"label": c.label, "dataset": c.dataset, "metric": c.metric, "split": c.split}
                    for c in search.columns
                ],
                "optimum": {c.label: _optimum(bench, c) for c in search.columns},
                "published_optimum": {
                    c.label: (preset.published_figure(search.label, "optimal", c.label) or (math.nan,))[0]
                    for c in search.columns
                },
                "rows": rows,
            }
        )
    cheap = None
    if preset.cheap_signal is not None:
        from nasbench_suite.experiments.paper_cheap_signal import cheap_signal_check

        table, cheap_dataset, dataset = preset.cheap_signal
        cheap = cheap_signal_check(bench, open_cached(table), dataset, cheap_dataset)
    return {
        "preset": preset.name,
        "title": preset.title,
        "source": preset.source,
        "published_note": preset.published_note,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "provenance": provenance(bench.identity()),
        "bench": source,
        "runs": len(seeds),
        "published_runs": preset.runs,
        "cost_epochs": COST_EPOCHS,
        "full_epochs": FULL_EPOCHS,
        "searches": searches,
        "cheap_signal": cheap,
    }


def _method_row(
    bench: Any, preset: PaperPreset, search: Any, method: Any, results: list[RunResult]
) -> dict[str, Any]:
    ok = [r for r in results if r.ok]
    row: dict[str, Any] = {
        "method": method.label,
        "strategy": method.strategy,
        "options": dict(method.options),
        "reference": method.reference,
        "runs": len(ok),
        "status": "ok" if ok else "not-applicable",
        "message": "" if ok else results[0].message,
        "rule": ok[0].rule if ok else "",
        "columns": {},
    }
    published = {
        c.label: preset.published_figure(search.label, method.label, c.label) for c in search.columns
    }
    if not ok:
        row["columns"] = {label: _cell(np.array([]), fig) for label, fig in published.items()}
        return row
    incumbents = [str(r.trajectory["incumbent"][-1]) if len(r.trajectory["incumbent"]) else "" for r in ok]
    row["n_evals"] = float(np.mean([r.summary["n_evals"] for r in ok]))
    row["held_out"] = _stats(np.array([r.summary["final_report"] for r in ok], dtype=float))
    row["held_out_metric"] = ok[0].rule
    for column in search.columns:
        values = _seed_means(bench, column, incumbents) if column.dataset else np.array([])
        row["columns"][column.label] = _cell(values, published[column.label])
    # Only cifar10-valid reports on a held-out seed of the split the strategy observed.
    searched = next(
        (c for c in search.columns if c.dataset == search.dataset and c.metric == "valid_acc"), None
    )
    if searched is not None:
        # What reporting the seed mean on the searched split costs in selection bias: the seed mean
        # contains the seed the strategy observed, the held-out figure does not.
        row["seed_mean_minus_held_out"] = row["columns"][searched.label]["mean"] - row["held_out"]["mean"]
    return row


def _seed_means(bench: Any, column: Any, incumbents: list[str]) -> np.ndarray:
    keys = sorted({k for k in incumbents if k})
    if not keys:
        return np.full(len(incumbents), np.nan)
    table = bench.query_batch(keys, column.dataset, seed="mean", metrics=[column.metric])
    value = dict(zip(keys, table[column.metric].to_numpy(dtype=float), strict=True))
    return np.array([value.get(k, np.nan) for k in incumbents], dtype=float)


def _stats(values: np.ndarray) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    n = len(finite)
    if n == 0:
        return {"mean": math.nan, "std": math.nan, "se": math.nan, "n": 0, "missing": len(values)}
    std = float(np.std(finite))  # ddof 0, as the papers' np.std
    se = float(np.std(finite, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return {"mean": float(np.mean(finite)), "std": std, "se": se, "n": n, "missing": int(len(values) - n)}


def _cell(values: np.ndarray, published: tuple[float, float] | None) -> dict[str, Any]:
    cell = _stats(values)
    cell["published_mean"], cell["published_std"] = published if published else (math.nan, math.nan)
    cell["difference"] = cell["mean"] - cell["published_mean"]
    # The published mean over 500 runs has its own standard error (std / sqrt(500)); the
    # difference is read in units of the two standard errors combined.
    if published and cell["n"] > 1:
        se = math.hypot(cell["se"], published[1] / math.sqrt(500))
        cell["difference_in_se"] = cell["difference"] / se if se > 0 else math.nan
    else:
        cell["difference_in_se"] = math.nan
    return cell


def _optimum(bench: Any, column: Any) -> float:
    """The best seed-mean value of the column over the table's architectures (the "optimal" row)."""
    if not column.dataset:
        return math.nan
    keys = bench.reference_archs(column.dataset)
    values = bench.query_batch(keys, column.dataset, seed="mean", metrics=[column.metric])[column.metric]
    return float(np.nanmax(values.to_numpy(dtype=float)))
