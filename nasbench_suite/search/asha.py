"""ASHA: asynchronous successive halving on the epoch axis.

Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020
(Algorithm 2); the default scheduler of Ray Tune and syne-tune. Rungs are those of
successive halving's most exploratory bracket (``sh``): epochs ``r_min * eta**k`` up to
the full length ``R``, moved to the epochs the benchmark offers. There is no bracket to
wait for: every ask looks at the rungs from the top down and promotes to rung ``k + 1``
the best architecture of rung ``k`` that is among the top ``floor(n_k / eta)`` of the
``n_k`` results told there and has not been promoted yet; when no rung has one, it
starts a new random architecture at the bottom rung. So a worker never idles waiting
for a rung to fill, which is the point of ASHA with W workers.

Defaults as ``sh`` (``eta = 3``, ``min_epoch = 1``, ``max_epoch`` from the context), the
paper's (early-stopping rate ``s = 0``). A promoted architecture resumes its training
run (the runner charges the extra epochs only). Failed (NaN) results are never
promoted. Ties among equal results go to the one told first.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from nasbench_suite.search._util import fitness
from nasbench_suite.search.base import Observation
from nasbench_suite.search.successive_halving import SuccessiveHalving
from nasbench_suite.spaces.base import Arch


class ASHA(SuccessiveHalving):
    """Asynchronous successive halving (promote as soon as a result is in its rung's top 1/eta).

    Options:
        eta: promote the top ``1 / eta`` of a rung; rung epochs grow by ``eta``.
        min_epoch: the bottom rung's epochs (``r_min``).
        max_epoch: the top rung (full training, ``R``); None: the context's.
    """

    name: ClassVar[str] = "asha"
    defaults: ClassVar[dict[str, Any]] = dict(SuccessiveHalving.defaults)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.rung_epochs = self.bracket(self.s_max)[0]
        # Per rung, the results told there as (fitness, told order, lineage, arch); a lineage
        # is one architecture's training run, kept across its promotions.
        self._rungs: list[list[tuple[float, int, int, Arch]]] = [[] for _ in self.rung_epochs]
        self._promoted: list[set[int]] = [set() for _ in self.rung_epochs]
        self._asha_trials: dict[int, tuple[int, int]] = {}  # trial -> (rung, lineage)
        self._lineages = 0

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        for k in reversed(range(len(self.rung_epochs) - 1)):
            rung = self._rungs[k]
            top = math.floor(len(rung) / self.eta + 1e-9)
            for value, _order, lineage, arch in sorted(rung, key=lambda r: (-r[0], r[1]))[:top]:
                if lineage not in self._promoted[k] and math.isfinite(value):
                    self._promoted[k].add(lineage)
                    self._asha_trials[trial_id] = (k + 1, lineage)
                    return arch, self.rung_epochs[k + 1]
        self._asha_trials[trial_id] = (0, self._lineages)
        self._lineages += 1
        return self.space.sample(self.rng), self.rung_epochs[0]

    def _tell(self, observation: Observation) -> None:
        k, lineage = self._asha_trials.pop(observation.proposal.trial_id)
        rung = self._rungs[k]
        rung.append((fitness(observation.observed), len(rung), lineage, observation.proposal.arch))
