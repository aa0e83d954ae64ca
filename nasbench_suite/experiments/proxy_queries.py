"""Zero-cost proxies as measurements the runner makes and charges, like a training at a fidelity.

A proxy-guided strategy asks for a proxy (``Proposal.proxy``) as a multi-fidelity one asks
for an epoch; the runner answers from the benchmark's ``zc_<proxy>`` metric (per
architecture: NB201 tables imported with the published proxy files, or a table written by
``nasbench proxies``) and charges the proxy's compute time on the simulated clock. The
strategy sees the proxy value and the cost, never the table.

Cost charged per proxy measurement: the benchmark's ``zc_time_s`` of the architecture when
it holds one (``nasbench proxies`` records the wall-clock time of all the proxies it
computed), else :data:`DEFAULT_PROXY_COST_S`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from nasbench_suite.errors import UnknownArchError, UnknownSeedError

if TYPE_CHECKING:
    from nasbench_suite.bench.base import Benchmark

PROXY_PREFIX = "zc_"
#: ``zc_*`` metrics that are not proxies: the compute time and the hardware it was measured on.
TIME_METRIC = "zc_time_s"
NOT_PROXIES = frozenset({TIME_METRIC, "zc_hardware_id"})
#: Seconds charged for one proxy measurement where the benchmark records no compute time: the
#: median time of all nine proxies of one NB201 architecture (C=16, N=5, 32x32, batch 64) over
#: the 1,000 architectures of results/proxies/nb201-cifar10-valid-zc.h5 (``zc_time_s``; 2-core
#: AMD EPYC VM, one torch thread, shared with other jobs; 2026-12-03). One proxy alone costs less:
#: this charge is an upper bound for it.
DEFAULT_PROXY_COST_S = 5.3
#: The trajectory's ``epoch`` of a proxy measurement: the untrained network (full runs are -1).
PROXY_EPOCH = 0


def offered_proxies(bench: Benchmark, dataset: str) -> tuple[str, ...]:
    """The proxies ``bench`` holds for ``dataset`` (``zc_<name>`` metrics), by name, sorted."""
    return tuple(
        sorted(
            name[len(PROXY_PREFIX) :]
            for name in bench.metric_names(dataset)
            if name.startswith(PROXY_PREFIX) and name not in NOT_PROXIES
        )
    )


class ProxyMeter:
    """Measures proxies of architectures on one dataset of a benchmark, with their cost."""

    def __init__(self, bench: Benchmark, dataset: str):
        self.bench, self.dataset = bench, dataset
        self.timed = TIME_METRIC in bench.metric_names(dataset)

    def measure(self, arch: Any, proxy: str) -> tuple[str, float, float]:
        """``(stored key, proxy value, seconds charged)`` of ``arch``.

        An architecture the benchmark does not hold is a failed measurement (NaN, nothing
        charged), as a failed training is; one it holds without a value of this proxy (NB201's
        architectures with a dead path, absent from the published files) is NaN, charged: the
        proxy would have been computed.

        Raises:
            UnknownMetricError: ``proxy`` is not one the benchmark offers for the dataset.
        """
        metric = PROXY_PREFIX + proxy
        metrics = (metric, TIME_METRIC) if self.timed else (metric,)
        try:
            result = self.bench.query(arch, self.dataset, "mean", metrics=metrics)
        except (UnknownArchError, UnknownSeedError):
            return self.bench.space.key(arch), math.nan, 0.0
        cost = result.metrics[TIME_METRIC] if self.timed else math.nan
        if not math.isfinite(cost):
            cost = DEFAULT_PROXY_COST_S
        return result.arch, float(result.metrics[metric]), float(cost)
