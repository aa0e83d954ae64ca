"""Which metric a strategy observes, which one a run reports, regret, anytime AUC, hypervolume.

The rule (``docs/protocol.md``; protocol version 2): a run never reports on data its
strategy observed.

- **observed** (told to the strategy, selects the incumbent): the per-seed
  ``valid_acc`` of one seed drawn at random, when the dataset has it; else the
  per-architecture ``valid_acc_mean`` plus seed noise drawn from a
  :class:`~nasbench_suite.surrogates.noise.SeedNoiseModel` fitted on the
  dataset's per-seed accuracy (NB201 publishes no per-seed validation accuracy
  for cifar100 and ImageNet16-120; a metric named explicitly is observed as
  stored, without noise). Never a test accuracy.
- **report**: ``xtest_acc`` (a split the search never sees) when the dataset has
  it, else ``test_acc``, else ``valid_acc``, else the observed metric. When the
  report is the observed metric itself, a table reports it on a **held-out
  seed** (one seed per architecture and run that is never observed); a
  benchmark with fresh seed noise (a surrogate) reports its seed mean, an
  expectation that shares no noise draw with any observation.
- **biased**: the old (version 1) report, the seed mean of ``test_acc`` else
  ``valid_acc``: selection-biased where it contains the observed split; kept
  under its own name.
- **regret**: the best seed-mean report value over the reference architectures
  minus the incumbent's report value (a held-out seed can beat the best mean:
  a single run's regret can then be slightly negative).
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
    from nasbench_suite.surrogates.noise import SeedNoiseModel

OBSERVE_RULE = ("valid_acc", "valid_acc_mean")
REPORT_RULE = ("xtest_acc", "test_acc", "valid_acc", "valid_acc_mean")
#: The report rule of protocol version 1, kept as the selection-biased figure.
BIASED_RULE = ("test_acc", "test_acc_mean", "valid_acc", "valid_acc_mean")
#: Metric names that are test results: a search that observes one selects on the test set.
TEST_METRIC_PREFIXES = ("test_", "xtest_", "ori_test_", "ori-test_")


def test_selection_warning(observe: str | None) -> str | None:
    """The warning for a search that observes (selects on) a test metric, or None."""
    if observe is None or not observe.lower().startswith(TEST_METRIC_PREFIXES):
        return None
    return (
        f"the search observes {observe!r}, a test metric: the architecture it selects is chosen on the "
        "test set, so a test accuracy reported for it is optimistically biased (docs/protocol.md, "
        "'Tables with test results only')"
    )


#: Per-seed metrics whose seed spread gives the noise of an observed seed-mean metric.
NOISE_SOURCES = ("valid_acc", "test_acc")
#: The per-architecture flag of suspect entries (0: none; see docs/importers.md).
SUSPECT_METRIC = "suspect"
SUSPECT_POLICIES = ("include", "exclude")


class MetricRuleError(NasbenchError, LookupError):
    """The dataset has no metric the rule can observe or report (the message names the candidates)."""


@dataclass(frozen=True)
class MetricPlan:
    """The metrics of one (benchmark, dataset) and the reference figures regret needs.

    Attributes:
        observe: metric told to the strategy.
        report: metric reported for the incumbent.
        second: second objective (minimised) or None.
        best_report: best seed-mean report value over the reference archs.
        worst_report: worst one (regret before any result is ``best - worst``).
        reference_front: for a second objective, the reference archs' points
            ``(report, second)`` as an (n, 2) array; None otherwise.
        report_seed: ``"held-out"`` (the report metric on a seed never observed for that
            architecture in the run) or ``"mean"`` (its seed mean).
        biased: the version-1 report metric (seed mean), the selection-biased figure.
        noise: seed noise added to each observation of a seed-mean metric, or None.
        noise_source: the per-seed metric ``noise`` was fitted on ("" without noise).
        suspect: ``"include"`` or ``"exclude"`` the entries the table flags.
        excluded: keys of the flagged entries left out (``suspect == "exclude"``).
        n_flagged: reference architectures the benchmark flags (-1: it has no flags).
    """

    observe: str
    report: str
    second: str | None
    best_report: float
    worst_report: float
    reference_front: np.ndarray | None = None
    report_seed: str = "mean"
    biased: str = ""
    noise: SeedNoiseModel | None = None
    noise_source: str = ""
    suspect: str = "include"
    excluded: frozenset[str] = frozenset()
    n_flagged: int = -1

    @property
    def max_regret(self) -> float:
        """Regret of the worst reference architecture: the regret charged before any result."""
        return self.best_report - self.worst_report

    def describe(self) -> str:
        """One line for reports: what was observed and reported, and the flagged entries."""
        noise = f" + seed noise fitted on {self.noise_source}" if self.noise is not None else ""
        seed = "held-out seed" if self.report_seed == "held-out" else "seed mean"
        flags = (
            "no suspect flags" if self.n_flagged < 0 else f"{self.n_flagged} flagged entries {self.suspect}d"
        )
        return f"observed {self.observe}{noise}; reported {self.report} ({seed}); {flags}"


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def resolve_metrics(
    bench: Benchmark,
    dataset: str,
    observe: str | None = None,
    report: str | None = None,
    second: str | None = None,
    suspect: str = "include",
) -> MetricPlan:
    """The metric plan of ``dataset`` (cached per benchmark object).

    Args:
        bench: the benchmark.
        dataset: one of ``bench.datasets``.
        observe, report: overrides of the rule (None: apply the rule).
        second: second objective (minimised), or None.
        suspect: ``"include"`` or ``"exclude"`` the entries flagged by the table's
            ``suspect`` metric.

    Raises:
        UnknownDatasetError: unknown dataset.
        MetricRuleError: no metric fits the rule; excluding flags the benchmark lacks.
        UnknownMetricError: an override names a metric the dataset lacks.
    """
    key = (dataset, observe, report, second, suspect)
    cache = _PLANS.setdefault(bench, {})
    plan = cache.get(key)
    if plan is None:
        plan = _build_plan(bench, dataset, observe, report, second, suspect)
        cache[key] = plan
    return plan


def _build_plan(
    bench: Benchmark, dataset: str, observe: str | None, report: str | None, second: str | None, suspect: str
) -> MetricPlan:
    from nasbench_suite.errors import UnknownMetricError

    names = set(bench.metric_names(dataset))
    for override in (observe, report, second):
        if override is not None and override not in names:
            raise UnknownMetricError(override, sorted(names))
    if suspect not in SUSPECT_POLICIES:
        raise MetricRuleError(f"suspect must be one of {SUSPECT_POLICIES}, not {suspect!r}")
    # The seed noise is part of the rule: an explicitly named metric is observed as stored.
    noisy = observe is None
    observe = observe or _first(names, OBSERVE_RULE, dataset, "observe")
    report = report or next((m for m in REPORT_RULE if m in names), observe)
    biased = next((m for m in BIASED_RULE if m in names), observe)
    held_out = report == observe and not bench.fresh_seed_noise
    reference = bench.reference_archs(dataset)
    n_flagged, excluded = _flags(bench, dataset, reference, names, suspect)
    if excluded:
        reference = [k for k in reference if k not in excluded]
    noise, source = _observation_noise(bench, dataset, observe, names, reference) if noisy else (None, "")
    wanted = [report] if second is None else [report, second]
    table = bench.query_batch(reference, dataset, seed="mean", metrics=wanted)
    values = table[report].to_numpy(dtype=float)
    if not np.isfinite(values).any():
        raise MetricRuleError(f"dataset {dataset!r}: no reference architecture has a {report!r} value")
    front = None
    if second is not None:
        points = table[[report, second]].to_numpy(dtype=float)
        front = points[np.isfinite(points).all(axis=1)]
    return MetricPlan(
        observe,
        report,
        second,
        float(np.nanmax(values)),
        float(np.nanmin(values)),
        front,
        report_seed="held-out" if held_out else "mean",
        biased=biased,
        noise=noise,
        noise_source=source,
        suspect=suspect,
        excluded=excluded,
        n_flagged=n_flagged,
    )


def _flags(
    bench: Benchmark, dataset: str, reference: list[str], names: set[str], suspect: str
) -> tuple[int, frozenset[str]]:
    if SUSPECT_METRIC not in names:
        if suspect == "exclude":
            raise MetricRuleError(
                f"dataset {dataset!r} flags no suspect entries (no {SUSPECT_METRIC!r} metric): "
                "re-import the table to exclude them"
            )
        return -1, frozenset()
    flags = bench.query_batch(reference, dataset, seed="mean", metrics=[SUSPECT_METRIC])
    flagged = flags[SUSPECT_METRIC].to_numpy(dtype=float) > 0
    keys = frozenset(np.asarray(reference, dtype=object)[flagged].tolist())
    return int(flagged.sum()), keys if suspect == "exclude" else frozenset()


def _observation_noise(
    bench: Benchmark, dataset: str, observe: str, names: set[str], reference: list[str]
) -> tuple[SeedNoiseModel | None, str]:
    """A seed-mean observed metric (``*_mean``) gets the seed spread of the dataset's per-seed
    accuracy: real training sees one seed, not the mean of three."""
    if not observe.endswith("_mean"):
        return None, ""
    source = next((m for m in NOISE_SOURCES if m in names), None)
    if source is None:
        return None, ""
    from nasbench_suite.surrogates.noise import fit_noise_model

    values = bench.seed_matrix(reference, dataset, source)
    return fit_noise_model(values, np.isfinite(values)), source


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


def trajectory_hypervolume(bench: Benchmark, dataset: str, plan: MetricPlan, trajectory: dict) -> float:
    """Normalised hypervolume of a run's full-budget evaluations' (seed-mean report, second objective)."""
    keys = sorted(set(trajectory["arch"][trajectory["full"] & np.isfinite(trajectory["observed"])].tolist()))
    if not keys:
        return 0.0
    table = bench.query_batch(keys, dataset, seed="mean", metrics=[plan.report, plan.second])
    return normalised_hypervolume(
        plan, table[plan.report].to_numpy(float), table[plan.second].to_numpy(float)
    )
