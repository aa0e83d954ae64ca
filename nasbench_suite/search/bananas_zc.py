"""BANANAS warm-started by a zero-cost proxy.

BANANAS (:mod:`nasbench_suite.search.bananas`) measures ``num_init`` random architectures
before its first fit. Here they are the ``num_init`` best, by a proxy, of ``warm_pool``
random architectures, as in the zero-cost warm-start of White et al., "How Powerful are
Performance Predictors in NAS?" (NeurIPS 2021) and NAS-Bench-Suite-Zero (Krishnakumar
et al., NeurIPS 2022 Datasets and Benchmarks). The proxy scores are measurements the
runner makes and charges (``Proposal.proxy``); they are not training results and never
enter the predictor's data. After the warm start the loop is BANANAS unchanged.

Defaults: BANANAS's, the ``nwot`` proxy and a pool of 1,000.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasbench_suite.search._proxy import warm_start_screen
from nasbench_suite.search.bananas import Bananas
from nasbench_suite.search.base import Observation
from nasbench_suite.spaces.base import Arch


class ProxyWarmBananas(Bananas):
    """BANANAS whose initial architectures are the best-by-proxy of a larger random sample.

    Options (besides BANANAS's):
        proxy: the zero-cost proxy (one the benchmark offers; default ``nwot``).
        warm_pool: random architectures scored for the initial set.
    """

    name: ClassVar[str] = "bananas-zc"
    defaults: ClassVar[dict[str, Any]] = {**Bananas.defaults, "proxy": "nwot", "warm_pool": 1000}
    proxy_guided: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.screen = warm_start_screen(self, self.num_init)
        self._warm_left = self.num_init  # screened architectures still to train
        self._trained = 0  # training results told (proxy scores excluded)

    def _ask(self, trial_id: int) -> tuple[Arch, int | None] | tuple[Arch, None, str]:
        if self._warm_left > 0:
            step = self.screen.next(trial_id)
            if len(step) == 2 and self.space.key(step[0]) not in self._seen:
                self._warm_left -= 1
                return self._propose(step[0]), None
            if len(step) == 3:
                return step
            return self._ask(trial_id)  # a screened duplicate: BANANAS never proposes twice
        if self._trained < self.num_init:
            return self._propose(self._unseen_random()), None  # warm start still in flight
        return super()._ask(trial_id)

    def _tell(self, observation: Observation) -> None:
        if not self.screen.owns(observation):
            self._trained += 1
            super()._tell(observation)
