"""A steady-state genetic algorithm: tournament parents, uniform crossover, per-decision mutation.

The architecture is read as its vector of categorical decisions
(``space.decisions()`` / ``to_codes`` / ``from_codes``), so the GA runs on any
space. Each child takes every decision from one of two parents chosen by
tournament (uniform crossover, Syswerda 1989), then each decision is redrawn to
another option with probability ``mutation_rate``. A child that spells no valid
architecture (an NB101 cell without a path) is bred again (bounded; then a
random architecture). A child identical to a parent is mutated once more with
``space.mutate``, so no evaluation is spent re-measuring a parent.

Defaults: population 20 as in Genetic CNN (Xie & Yuille, ICCV 2017, the first
GA for cell-based NAS); binary tournaments (Goldberg & Deb 1991); crossover for
every child (``crossover_prob = 1``); mutation rate ``1 / n_decisions``
(Mühlenbein 1992: one changed decision per child on average).

Survivors (steady state, De Jong): the population holds the best
``population_size`` results told so far; a told child replaces the worst member
when it is at least as good. Asynchronous use: until ``population_size``
results are told, proposals are random draws; after, each ask breeds from the
population as it stands. The GA may re-propose an architecture evaluated
earlier (a child equal to a past, non-parent result), as the classic algorithm does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasbench_suite.search._util import decode, fitness, float_option, int_option, tournament
from nasbench_suite.search.base import Observation, Strategy, StrategyError
from nasbench_suite.spaces.base import Arch


class GeneticAlgorithm(Strategy):
    """Steady-state GA over the space's categorical decisions.

    Options:
        population_size: results kept (the best so far).
        tournament_size: members drawn (without replacement) to pick each parent.
        crossover_prob: probability that a child is bred by crossover (else it copies
            its first parent before mutation).
        mutation_rate: per-decision probability of a change; None: ``1 / n_decisions``.
    """

    name: ClassVar[str] = "ga"
    defaults: ClassVar[dict[str, Any]] = {
        "population_size": 20,
        "tournament_size": 2,
        "crossover_prob": 1.0,
        "mutation_rate": None,
    }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.population_size = int_option(self, "population_size", minimum=2)
        self.tournament_size = int_option(self, "tournament_size")
        if self.tournament_size > self.population_size:
            raise StrategyError(
                f"strategy 'ga': tournament_size ({self.tournament_size}) must not exceed "
                f"population_size ({self.population_size})"
            )
        self.crossover_prob = float_option(self, "crossover_prob", 0.0, 1.0)
        self.n_options = np.array([len(d.options) for d in self.space.decisions()])
        if self.options["mutation_rate"] is None:
            self.mutation_rate = 1.0 / len(self.n_options)
        else:
            self.mutation_rate = float_option(self, "mutation_rate", 0.0, 1.0)
        # (arch, fitness) of the best results; order of arrival among equals.
        self.population: list[tuple[Arch, float]] = []

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        if len(self.population) < self.population_size:
            return self.space.sample(self.rng), None
        first, second = self._select(), self._select()
        codes_a = np.array(self.space.to_codes(first))
        codes_b = np.array(self.space.to_codes(second))
        child = decode(self.space, lambda: self._breed(codes_a, codes_b), self.rng)
        parents = {self.space.key(first), self.space.key(second)}
        if self.space.key(child) in parents:
            child = self.space.mutate(child, self.rng)
        return child, None

    def _select(self) -> Arch:
        """The best of ``tournament_size`` members drawn without replacement."""
        return tournament(self.population, self.tournament_size, self.rng)[0]

    def _breed(self, codes_a: np.ndarray, codes_b: np.ndarray) -> tuple[int, ...]:
        """Uniform crossover (with probability ``crossover_prob``), then mutation."""
        if self.rng.random() < self.crossover_prob:
            child = np.where(self.rng.random(len(codes_a)) < 0.5, codes_a, codes_b)
        else:
            child = codes_a.copy()
        mutate = self.rng.random(len(child)) < self.mutation_rate
        # A shift in 1..n-1 picks one of the other options uniformly.
        shifts = self.rng.integers(1, np.maximum(self.n_options, 2))
        child = np.where(mutate & (self.n_options > 1), (child + shifts) % self.n_options, child)
        return tuple(int(c) for c in child)

    def _tell(self, observation: Observation) -> None:
        entry = (observation.proposal.arch, fitness(observation.observed))
        if len(self.population) < self.population_size:
            self.population.append(entry)
            return
        # argmin takes the first of equal worsts: a fixed rule, independent of hashing.
        worst = int(np.argmin([f for _, f in self.population]))
        if entry[1] >= self.population[worst][1]:
            self.population[worst] = entry
