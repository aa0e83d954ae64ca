"""Screening by a zero-cost proxy: score a random sample, then hand out its best, best first.

Shared by the training-free strategy (``naswot``) and the proxy warm-starts of REA and
BANANAS (``rea-zc``, ``bananas-zc``). The screen asks the runner for the proxy of
``n_sample`` random architectures (``Proposal.proxy``; the runner charges the proxy's
compute time), and once their scores are told it yields them by decreasing score for
training. Ties keep the order of scoring (a stable sort: no dependence on hashing).

Asynchronous use (W workers): while scores are still in flight, an ask that finds no
scored architecture left to hand out scores one more random architecture rather than
wait, so a worker never idles and the screen never hands out an unscored architecture.
A NaN score (the benchmark holds no proxy value for that architecture, e.g. NB201's
architectures with a dead path, absent from the published proxy files) ranks last.
"""

from __future__ import annotations

import numpy as np

from nasbench_suite.search._util import fitness, int_option
from nasbench_suite.search.base import Observation, Strategy
from nasbench_suite.spaces.base import Arch, SearchSpace


class ProxyScreen:
    """The proxy scores of a random sample and the order it is trained in.

    Args:
        space: where the random architectures come from.
        rng: the strategy's generator (draws the sample).
        proxy: the proxy to ask for (a name the context offers).
        n_sample: random architectures scored (N).
    """

    def __init__(self, space: SearchSpace, rng: np.random.Generator, proxy: str, n_sample: int):
        self.space, self.rng, self.proxy, self.n_sample = space, rng, proxy, n_sample
        self.asked = 0  # proxy proposals made
        self.in_flight: set[int] = set()  # trial ids of proxy proposals not told yet
        self._scored: list[tuple[float, int, Arch]] = []  # (fitness, order told, arch)
        self._handed = 0  # scored architectures handed out for training, best first
        self._sorted = True

    @property
    def sampling(self) -> bool:
        """Whether the sample still has architectures to score."""
        return self.asked < self.n_sample

    def ask_proxy(self, trial_id: int) -> tuple[Arch, None, str]:
        """A proxy proposal for a new random architecture (``_ask``'s three-element form)."""
        self.asked += 1
        self.in_flight.add(trial_id)
        return self.space.sample(self.rng), None, self.proxy

    def owns(self, observation: Observation) -> bool:
        """Take a told proxy score; False for an observation that is not one of the screen's."""
        trial = observation.proposal.trial_id
        if trial not in self.in_flight:
            return False
        self.in_flight.discard(trial)
        self._scored.append((fitness(observation.observed), len(self._scored), observation.proposal.arch))
        self._sorted = False
        return True

    def best_left(self) -> Arch | None:
        """The best-scored architecture not handed out yet (None: none is scored and left)."""
        if not self._sorted:
            # Re-sort only the part not handed out: what was handed out stays handed out.
            rest = sorted(self._scored[self._handed :], key=lambda s: (-s[0], s[1]))
            self._scored[self._handed :] = rest
            self._sorted = True
        if self._handed >= len(self._scored):
            return None
        arch = self._scored[self._handed][2]
        self._handed += 1
        return arch

    def next(self, trial_id: int) -> tuple[Arch, None] | tuple[Arch, None, str]:
        """What the screen asks for next: a proxy of the sample while it lasts, then the
        best scored architecture for training; with nothing scored left, one more proxy."""
        if self.sampling:
            return self.ask_proxy(trial_id)
        arch = self.best_left()
        return (arch, None) if arch is not None else self.ask_proxy(trial_id)


def warm_start_screen(strategy: Strategy, n_init: int) -> ProxyScreen:
    """The screen of a proxy warm start: ``warm_pool`` random architectures (at least
    ``n_init``, the initial set it picks from) scored by the strategy's ``proxy`` option."""
    pool = max(int_option(strategy, "warm_pool"), n_init)
    return ProxyScreen(strategy.space, strategy.rng, strategy.options["proxy"], pool)
