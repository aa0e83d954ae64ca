"""Regularized evolution warm-started by a zero-cost proxy (assisted REA).

Mellor et al., "Neural Architecture Search without Training", ICML 2021, section 5
("assisted regularised evolution"): instead of ``population_size`` random
architectures, REA's initial population is the ``population_size`` best, by a proxy, of
``warm_pool`` random architectures. The proxy scores are measurements the runner makes
and charges (``Proposal.proxy``); they never enter the population, which holds trained
results only. After the warm start the algorithm is :class:`RegularizedEvolution`
unchanged (tournaments, mutation, aging).

Defaults: REA's (population 10, sample 3), the ``nwot`` proxy and a pool of 1,000 (the
paper's N for its assisted variant). Asynchronous use: the population fills from the
screen's best, in order, as :class:`~nasbench_suite.search._proxy.ProxyScreen` hands them
out; an ask that finds the screen scoring still in flight scores one more architecture.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasbench_suite.search._proxy import warm_start_screen
from nasbench_suite.search.base import Observation
from nasbench_suite.search.rea import RegularizedEvolution
from nasbench_suite.spaces.base import Arch


class ProxyWarmREA(RegularizedEvolution):
    """REA whose initial population is the best-by-proxy of a larger random sample.

    Options (besides REA's):
        proxy: the zero-cost proxy (one the benchmark offers; default ``nwot``).
        warm_pool: random architectures scored for the initial population.
    """

    name: ClassVar[str] = "rea-zc"
    defaults: ClassVar[dict[str, Any]] = {
        **RegularizedEvolution.defaults,
        "proxy": "nwot",
        "warm_pool": 1000,
    }
    proxy_guided: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.screen = warm_start_screen(self, self.population_size)
        self._warm_left = self.population_size  # screened architectures still to train

    def _ask(self, trial_id: int) -> tuple[Arch, int | None] | tuple[Arch, None, str]:
        if self._warm_left > 0 and not self._filled:
            step = self.screen.next(trial_id)
            if len(step) == 2:
                self._warm_left -= 1
            return step
        return super()._ask(trial_id)

    def _tell(self, observation: Observation) -> None:
        if not self.screen.owns(observation):
            super()._tell(observation)
