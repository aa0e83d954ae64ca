"""Regularized evolution warm-started from a source dataset (``rea-warm``).

REA (:mod:`nasbench_suite.search.rea`) fills its population with ``population_size`` random
architectures before its first tournament. Here the initial population is instead the
``population_size`` best architectures of the source dataset (``SearchContext.prior``, the
runner's :class:`~nasbench_suite.search.prior.TransferPrior`), trained on the target like any
other proposal: the initial design of warm-started Bayesian optimisation, taken from the best
configurations of a similar dataset (Feurer, Springenberg & Hutter, "Initializing Bayesian
Hyperparameter Optimization via Meta-Learning", AAAI 2015), here for evolution's population.
The source accuracies never enter the population, which holds target results only; after the
warm start the algorithm is :class:`RegularizedEvolution` unchanged.

Defaults: REA's (population 10, sample 3). Asynchronous use: the first ``population_size``
asks hand out the source's best in order; an ask while those are still in flight goes on down
the source's ranking (the warm start's version of REA's random draws), never repeating one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasbench_suite.search._warm import PriorWalk
from nasbench_suite.search.rea import RegularizedEvolution
from nasbench_suite.spaces.base import Arch


class WarmREA(RegularizedEvolution):
    """REA whose initial population is the source dataset's best architectures."""

    name: ClassVar[str] = "rea-warm"
    defaults: ClassVar[dict[str, Any]] = dict(RegularizedEvolution.defaults)
    warm_started: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.walk = PriorWalk(self.space, self.context.prior)

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        if not self._filled:
            arch = self.walk.next()
            if arch is not None:
                return arch, None
        return super()._ask(trial_id)
