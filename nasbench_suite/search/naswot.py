"""NASWOT: training-free search by a zero-cost proxy (score N random architectures, train the best).

Mellor, Turner, Storkey & Crowley, "Neural Architecture Search without Training",
ICML 2021, Algorithm 1: draw ``N`` random architectures, score each untrained network
with a proxy (theirs: ``nwot``, the log-determinant of the binary activation-code
kernel), and train only the best. Published on NB201 CIFAR-10 (test accuracy): 92.44,
92.81 and 92.96 at N = 10, 100 and 1,000.

The proxy reaches the strategy as a measurement the runner makes and charges
(``Proposal.proxy``): the strategy never sees a table. With a budget larger than one
round (N proxies and ``n_train`` trainings), rounds repeat with fresh samples, so the
strategy keeps spending a leaderboard's budget the way the paper spends one round; the
incumbent is then the best trained architecture, as for every strategy. With
``budget_evals = N + 1`` a run is exactly the published algorithm (proxy
measurements count as evaluations).
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasbench_suite.search._proxy import ProxyScreen
from nasbench_suite.search._util import int_option
from nasbench_suite.search.base import Observation, Strategy
from nasbench_suite.spaces.base import Arch


class Naswot(Strategy):
    """Rounds of: score ``n_sample`` random architectures by ``proxy``, train the best ``n_train``.

    Options:
        proxy: the zero-cost proxy (one the benchmark offers; default ``nwot``).
        n_sample: architectures scored per round (N).
        n_train: best-scored architectures trained per round.
    """

    name: ClassVar[str] = "naswot"
    defaults: ClassVar[dict[str, Any]] = {"proxy": "nwot", "n_sample": 100, "n_train": 1}
    proxy_guided: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.n_sample = int_option(self, "n_sample")
        self.n_train = min(int_option(self, "n_train"), self.n_sample)
        self.screen = self._new_round()

    def _new_round(self) -> ProxyScreen:
        self._trained_this_round = 0
        return ProxyScreen(self.space, self.rng, self.options["proxy"], self.n_sample)

    def _ask(self, trial_id: int) -> tuple[Arch, int | None] | tuple[Arch, None, str]:
        if self._trained_this_round >= self.n_train:
            self.screen = self._new_round()
        step = self.screen.next(trial_id)
        if len(step) == 2:
            self._trained_this_round += 1
        return step

    def _tell(self, observation: Observation) -> None:
        # Proxy scores of an earlier round's screen may still arrive (W > 1): the new round
        # ranks only its own sample, as the published algorithm does per round.
        self.screen.owns(observation)
