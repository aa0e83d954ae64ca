"""Warm starts: the runner reads a source dataset's accuracies and hands them to the strategy.

House rule: strategies never see the table. A warm-started strategy (``Strategy.warm_started``)
is given a :class:`~nasbench_suite.search.prior.TransferPrior` in its context, built here from
the benchmark by the runner, as the proxies a benchmark offers are listed there (docs/protocol.md,
"Warm starts"). Protocol:

- The source is another dataset of the same benchmark: ``RunConfig.warm_source``, else
  :data:`DEFAULT_WARM_SOURCES` for the target, else the first other dataset (datasets that are
  one dataset at other budgets, ``cifar10-valid`` and ``cifar10-valid@12``, are never each
  other's source). A benchmark without another dataset has no source: the warm strategies are
  not applicable there.
- The prior holds every architecture the source holds with a finite value (of the search pool,
  less excluded entries), each with its seed-mean value of the source's observed metric (the
  protocol's metric rule on the source): a published table as prior knowledge, as the transfer
  report assumes (results/transfer/).
- The prior is charged nothing: it is no evaluation, never enters the trajectory, and the
  simulated clock starts at 0 as for every strategy.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np

from nasbench_suite.errors import UnknownDatasetError
from nasbench_suite.experiments.config import RunConfig, RunConfigError
from nasbench_suite.experiments.metrics import resolve_metrics

if TYPE_CHECKING:
    from nasbench_suite.bench.base import Benchmark
    from nasbench_suite.search.prior import TransferPrior

#: The source of each NB201 target: the dataset whose zero-shot ranking of the target is the best
#: in the transfer report (results/transfer/, Kendall tau over all architectures and over the
#: target's top 10 %): cifar100 for cifar10-valid (0.874 / 0.440, against 0.837 / 0.337 from
#: ImageNet16-120), cifar10-valid for cifar100 (0.874 / 0.441, against 0.850 / 0.386) and
#: cifar100 for ImageNet16-120 (0.850 / 0.491, against 0.837 / 0.331).
DEFAULT_WARM_SOURCES: dict[str, str] = {
    "cifar10-valid": "cifar100",
    "cifar100": "cifar10-valid",
    "ImageNet16-120": "cifar100",
}

# benchmark -> (source, metric, suspect) -> its prior: read and sorted once per open benchmark, since a
# worker process runs many runs on one benchmark (a prior is immutable: runs share it).
_SOURCES: weakref.WeakKeyDictionary[Benchmark, dict[tuple[str, str, str], TransferPrior]] = (
    weakref.WeakKeyDictionary()
)


def _base(dataset: str) -> str:
    return dataset.split("@", 1)[0]


def warm_source(bench: Benchmark, dataset: str, requested: str | None = None) -> str | None:
    """The source dataset of ``dataset`` on ``bench``; None when the benchmark has no other dataset.

    Raises:
        UnknownDatasetError: ``requested`` is not a dataset of the benchmark.
        RunConfigError: ``requested`` is the target itself, or the target at another budget.
    """
    if requested is not None:
        if requested not in bench.datasets:
            raise UnknownDatasetError(requested, bench.datasets)
        if _base(requested) == _base(dataset):
            what = "the target dataset" if requested == dataset else f"{dataset!r} at another budget"
            raise RunConfigError(
                f"warm_source {requested!r} is {what}: a warm start transfers from another dataset"
            )
        return requested
    others = [d for d in bench.datasets if _base(d) != _base(dataset)]
    default = DEFAULT_WARM_SOURCES.get(dataset)
    if default in others:
        return default
    return others[0] if others else None


def transfer_prior(
    bench: Benchmark, config: RunConfig, source: str, pool: Collection[str] | None = None
) -> TransferPrior:
    """The prior of a run: every architecture ``source`` holds with a finite seed-mean value of
    its observed metric (in ``pool`` when given: the architectures the run searches).

    Raises:
        RunConfigError: the source holds no architecture with a value (or none of the pool).
        the errors of ``resolve_metrics`` on the source.
    """
    from nasbench_suite.search.prior import TransferPrior

    plan = resolve_metrics(bench, source, config.observe_metric, None, None, config.suspect)
    cache = _SOURCES.setdefault(bench, {})
    cache_key = (source, plan.observe, config.suspect)
    prior = cache.get(cache_key)
    if prior is None:
        archs = [k for k in bench.reference_archs(source) if k not in plan.excluded]
        frame = bench.query_batch(archs, source, seed="mean", metrics=[plan.observe])
        values = frame[plan.observe].to_numpy(float)
        keep = np.flatnonzero(np.isfinite(values))  # NaN: nothing to transfer
        if not len(keep):
            raise RunConfigError(f"warm source {source!r} holds no architecture with a {plan.observe} value")
        archs_found = frame["arch"].to_numpy(object)
        keys = [str(bench.space.key(archs_found[i])) for i in keep]
        prior = cache[cache_key] = TransferPrior(source, keys, values[keep].tolist(), plan.observe)
    if pool is None:
        return prior
    chosen = [i for i, k in enumerate(prior.keys) if k in pool]
    if not chosen:
        raise RunConfigError(f"warm source {source!r} holds none of the architectures searched")
    keys, values = [prior.keys[i] for i in chosen], [prior.accuracy[i] for i in chosen]
    return TransferPrior(source, keys, values, plan.observe)
