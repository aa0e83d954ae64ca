"""Regularized evolution (aging evolution).

Real, Aggarwal, Huang & Le, "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019. A population of the most recent results is
kept; each new proposal mutates the best of ``sample_size`` members drawn
uniformly without replacement (a tournament); every told result joins the
population and the *oldest* member leaves (aging), whatever its accuracy.

Defaults are those of the NAS-Bench-201 / NATS-Bench reference runs (Dong &
Yang, ICLR 2020; Dong et al., TPAMI 2021: ``--ea_population 10
--ea_sample_size 3``); Real et al. used 100 and 25 for their much larger budgets.

Asynchronous use (W workers): until ``population_size`` results have been
*told*, every proposal is a random draw, made exactly as
:class:`~nasbench_suite.search.random.RandomSearch` makes it, so that REA with
``population_size = sample_size = budget`` proposes the same sequence as random
search with the same seed. Afterwards each ask runs one tournament on the
population as it stands (results still in flight are not in it). Results join
in the order they are told. Like the published algorithm, REA may re-propose an
architecture it has seen. A failed (NaN) result ages normally but never wins a
tournament against a finite one.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

from nasbench_suite.search._util import fitness, int_option, tournament
from nasbench_suite.search.base import Observation, Strategy, StrategyError
from nasbench_suite.spaces.base import Arch


class RegularizedEvolution(Strategy):
    """Aging evolution with tournament selection and ``space.mutate``.

    Options:
        population_size: number of most recent results kept (P).
        sample_size: tournament size (S), ``1 <= S <= P``.
    """

    name: ClassVar[str] = "rea"
    defaults: ClassVar[dict[str, Any]] = {"population_size": 10, "sample_size": 3}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.population_size = int_option(self, "population_size")
        self.sample_size = int_option(self, "sample_size")
        if self.sample_size > self.population_size:
            raise StrategyError(
                f"strategy 'rea': sample_size ({self.sample_size}) must not exceed "
                f"population_size ({self.population_size})"
            )
        # (arch, fitness) in the order they were told; fitness -inf for a failed run.
        self.population: deque[tuple[Arch, float]] = deque()
        self._filled = False

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        if not self._filled:
            return self.space.sample(self.rng), None
        winner, _ = tournament(self.population, self.sample_size, self.rng)
        return self.space.mutate(winner, self.rng), None

    def _tell(self, observation: Observation) -> None:
        self.population.append((observation.proposal.arch, fitness(observation.observed)))
        if len(self.population) > self.population_size:
            self.population.popleft()
        if len(self.population) >= self.population_size:
            self._filled = True
