"""The final figures of one run: regret and biased-report columns, and the summary.

Split from the runner's event loop (``runner.py``), which calls :func:`summarise` once per run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.experiments.config import RunConfig
from nasbench_suite.experiments.metrics import MetricPlan, anytime_auc, trajectory_hypervolume

if TYPE_CHECKING:
    from nasbench_suite.bench.base import Benchmark


def summarise(
    config: RunConfig,
    bench: Benchmark,
    plan: MetricPlan,
    trajectory: dict[str, np.ndarray],
    report_of: dict[str, float],
) -> dict[str, float]:
    """Fill the regret and biased columns (a query per distinct incumbent) and the final figures."""
    incumbents = trajectory["incumbent"].tolist()
    biased_of: dict[str, float] = {"": math.nan}
    for key in dict.fromkeys(incumbents):
        if key not in biased_of:
            biased_of[key] = bench.query(key, config.dataset, "mean", metrics=(plan.biased,)).metrics[
                plan.biased
            ]
    report = np.array([report_of[k] for k in incumbents], dtype=float)
    biased = np.array([biased_of[k] for k in incumbents], dtype=float)
    regret = plan.best_report - report
    trajectory["incumbent_report"] = report
    trajectory["regret"] = regret
    trajectory["incumbent_report_biased"] = biased
    n = len(report)
    if config.budget_s is not None:
        times, budget = trajectory["time_s"], config.budget_s
    else:
        times, budget = trajectory["eval"].astype(float) + 1.0, float(config.budget_evals)
    summary = {
        "n_evals": float(n),
        "time_s": float(trajectory["time_s"][-1]) if n else 0.0,
        "final_report": float(report[-1]) if n else math.nan,
        "final_regret": float(regret[-1]) if n else math.nan,
        "final_report_biased": float(biased[-1]) if n else math.nan,
        "auc_regret": anytime_auc(times, regret, budget, plan.max_regret),
        "best_report": plan.best_report,
        "initial_regret": plan.max_regret,
        "hypervolume": math.nan,
    }
    if plan.second is not None:
        summary["hypervolume"] = trajectory_hypervolume(bench, config.dataset, plan, trajectory)
    return summary
