"""Which metric a strategy observes, which one a run reports, regret, anytime AUC, hypervolume.

The rule (``docs/protocol.md``):

- **observed** (told to the strategy, selects the incumbent): the per-seed
  ``valid_acc`` of one stored seed drawn at random, when the dataset has it; else
  the per-architecture ``valid_acc_mean`` (NB201 publishes no per-seed validation
  accuracy for cifar100 and ImageNet16-120, so there is no seed noise to draw
  there). Never the test accuracy.
- **report**: the seed mean of ``test_acc`` when the dataset has it, else of
  ``valid_acc``, else of the observed metric.
- **regret**: the best report value over the benchmark's reference architectures
  minus the incumbent's report value (>= 0).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.errors import NasbenchError

if TYPE_CHECKING:
    from nasbench_suite.bench.base import Benchmark

OBSERVE_RULE = ("valid_acc", "valid_acc_mean")
REPORT_RULE = ("test_acc", "test_acc_mean", "valid_acc", "valid_acc_mean")


class MetricRuleError(NasbenchError, LookupError):
    """The dataset has no metric the rule can observe or report (the message names the candidates)."""


@dataclass(frozen=True)
class MetricPlan:
    """The metrics of one (benchmark, dataset) and the reference figures regret needs.

    Attributes:
        observe: metric told to the strategy.
        report: metric reported (seed mean) for the incumbent.
        second: second objective (minimised) or None.
        best_report: best seed-mean report value over the reference archs.
        worst_report: worst one (regret before any result is ``best - worst``).
        reference_front: for a second objective, the reference archs' points
            ``(report, second)`` as an (n, 2) array; None otherwise.
    """

    observe: str
    report: str
    second: str | None
    best_report: float
    worst_report: float
    reference_front: np.ndarray | None = None

    @property
    def max_regret(self) -> float:
        """Regret of the worst reference architecture: the regret charged before any result."""
        return self.best_report - self.worst_report


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def resolve_metrics(
    bench: Benchmark,
    dataset: str,
    observe: str | None = None,
    report: str | None = None,
    second: str | None = None,
) -> MetricPlan:
    """The metric plan of ``dataset`` (cached per benchmark object).

    Args:
        bench: the benchmark.
        dataset: one of ``bench.datasets``.
        observe, report: overrides of the rule (None: apply the rule).
        second: second objective (minimised), or None.

    Raises:
        UnknownDatasetError: unknown dataset.
        MetricRuleError: no metric fits the rule.
        UnknownMetricError: an override names a metric the dataset lacks.
    """
    key = (dataset, observe, report, second)
    cache = _PLANS.setdefault(bench, {})
    plan = cache.get(key)
    if plan is None:
        plan = _build_plan(bench, dataset, observe, report, second)
        cache[key] = plan
    return plan


def _build_plan(
    bench: Benchmark, dataset: str, observe: str | None, report: str | None, second: str | None
) -> MetricPlan:
    from nasbench_suite.errors import UnknownMetricError

    names = set(bench.metric_names(dataset))
    for override in (observe, report, second):
        if override is not None and override not in names:
            raise UnknownMetricError(override, sorted(names))
    observe = observe or _first(names, OBSERVE_RULE, dataset, "observe")
    report = report or next((m for m in REPORT_RULE if m in names), observe)
    wanted = [report] if second is None else [report, second]
    table = bench.query_batch(bench.reference_archs(dataset), dataset, seed="mean", metrics=wanted)
    values = table[report].to_numpy(dtype=float)
    if not np.isfinite(values).any():
        raise MetricRuleError(f"dataset {dataset!r}: no reference architecture has a {report!r} value")
    front = None
    if second is not None:
        points = table[[report, second]].to_numpy(dtype=float)
        front = points[np.isfinite(points).all(axis=1)]
    return MetricPlan(observe, report, second, float(np.nanmax(values)), float(np.nanmin(values)), front)


def _first(names: set[str], rule: Sequence[str], dataset: str, what: str) -> str:
    for name in rule:
        if name in names:
            return name
    raise MetricRuleError(
        f"dataset {dataset!r} has none of the metrics a run can {what} ({', '.join(rule)}); "
        f"name one with --{what}-metric"
    )


def anytime_auc(times: np.ndarray, regrets: np.ndarray, budget: float, initial_regret: float) -> float:
    """Time-averaged regret over ``[0, budget]`` (same unit as regret; lower is better).

    The regret curve is a step function: ``initial_regret`` until the first result,
    then the incumbent's regret after each recorded result. Time is linear and
    normalised to the budget, so the figure is the mean regret over the run.

    Args:
        times: (n,) non-decreasing times (simulated seconds, or evaluation counts) of the results.
        regrets: (n,) regret after each result (NaN: no incumbent yet).
        budget: the run's budget in the unit of ``times``.
        initial_regret: regret charged before the first incumbent.
    """
    if budget <= 0:
        return math.nan
    t = np.concatenate([[0.0], np.minimum(np.asarray(times, float), budget), [budget]])
    r = np.concatenate([[initial_regret], np.asarray(regrets, float)])
    r = np.where(np.isnan(r), initial_regret, r)
    return float(np.sum(r * np.diff(t)) / budget)


def pareto_front_2d(points: np.ndarray) -> np.ndarray:
    """The non-dominated rows of ``points`` (n, 2), both columns minimised, sorted by the first."""
    points = np.asarray(points, float)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) == 0:
        return points.reshape(0, 2)
    order = np.lexsort((points[:, 1], points[:, 0]))
    sorted_points = points[order]
    best_second = np.minimum.accumulate(sorted_points[:, 1])
    keep = np.concatenate([[True], sorted_points[1:, 1] < best_second[:-1]])
    return sorted_points[keep]


def hypervolume_2d(points: np.ndarray, reference: Sequence[float]) -> float:
    """Area dominated by ``points`` (n, 2; both minimised) and bounded by ``reference``."""
    front = pareto_front_2d(points)
    ref_x, ref_y = float(reference[0]), float(reference[1])
    front = front[(front[:, 0] < ref_x) & (front[:, 1] < ref_y)]
    if len(front) == 0:
        return 0.0
    xs = np.append(front[1:, 0], ref_x)
    return float(np.sum((xs - front[:, 0]) * (ref_y - front[:, 1])))


def normalised_hypervolume(plan: MetricPlan, report_values: np.ndarray, second_values: np.ndarray) -> float:
    """Hypervolume of (report accuracy maximised, second objective minimised) in [0, 1].

    Both objectives are scaled to [0, 1] by the reference architectures' range
    (accuracy as ``(best - acc) / (best - worst)``), and the reference point is
    (1, 1): the worst accuracy with the largest second objective. The reference
    front's hypervolume is ``normalised_hypervolume(plan, *plan.reference_front.T)``.
    """
    if plan.reference_front is None:
        raise MetricRuleError("hypervolume needs a second objective")
    low, high = np.min(plan.reference_front[:, 1]), np.max(plan.reference_front[:, 1])
    span_acc = max(plan.best_report - plan.worst_report, 1e-12)
    span_second = max(float(high - low), 1e-12)
    points = np.column_stack(
        [
            (plan.best_report - np.asarray(report_values, float)) / span_acc,
            (np.asarray(second_values, float) - low) / span_second,
        ]
    )
    return hypervolume_2d(points, (1.0, 1.0))
