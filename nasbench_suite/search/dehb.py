"""DEHB: Hyperband whose new architectures come from differential evolution, one population per budget.

Awad, Mallik & Hutter, "DEHB: Evolutionary Hyperband for Scalable, Robust and Efficient
Hyperparameter Optimization", IJCAI 2021. Brackets, rungs and promotions are exactly
``hyperband``'s; the architectures that enter a bracket's first rung come from differential
evolution (DE) over the results already measured at that rung's epoch:

- Each architecture is a point of the unit cube, one coordinate per decision of the space
  (``space.decisions``); coordinate ``v`` of a decision with ``c`` options spells option
  ``min(floor(v * c), c - 1)`` (DEHB's encoding of categorical parameters).
- Every budget (epoch) keeps a population of at most ``pop_size`` points: by default the
  largest rung any bracket has at that epoch, as in DEHB, where a budget's subpopulation is
  as large as the most exploratory bracket's rung there.
- A new architecture at epoch ``e``, once the population there holds ``min_population``
  points (3, what ``rand/1`` needs), is a DE trial: mutant ``x_r1 + F (x_r2 - x_r3)`` from three
  distinct random members, coordinates that leave the cube redrawn uniformly (DEHB's boundary
  fix), then binomial crossover with a target member (each coordinate from the mutant with
  probability ``CR``, one forced). Targets cycle through the population. Before that, a uniform draw.
- Selection: a trial told at least as good as its target replaces it. Any other result measured
  at ``e`` (uniform draws, promotions) joins the population while it has room, and otherwise
  replaces the worst member when better, so promoted architectures seed the larger budgets'
  populations as DEHB's promotions do.

Simplification, stated: DEHB also evolves within a bracket (a rung's promotions are DE trials
whose parents come from the rung below); here promotions are successive halving's top
``1 / eta``, so DE acts where architectures enter a bracket. Published defaults: ``F = 0.5``,
``CR = 0.5``, ``rand/1/bin``, with Hyperband's ``eta = 3``. Failed (NaN) results count as the
worst and never replace a member. A new architecture already entered before is drawn again (up to
``MAX_UNSEEN_TRIES`` times): in a small or pooled space DE would otherwise train the same
architectures again and again.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from nasbench_suite.search._util import decode, fitness, float_option, int_option
from nasbench_suite.search.base import Observation
from nasbench_suite.search.successive_halving import Hyperband
from nasbench_suite.spaces.base import Arch


class DEHB(Hyperband):
    """Hyperband with new architectures from differential evolution per budget (Awad et al.).

    Options:
        eta, min_epoch, max_epoch: as ``hyperband``.
        mutation_factor: DE's ``F``.
        crossover_prob: DE's ``CR``.
        pop_size: members per budget; None: the largest rung at that budget over the brackets.
    """

    name: ClassVar[str] = "dehb"
    defaults: ClassVar[dict[str, Any]] = {
        **Hyperband.defaults,
        "mutation_factor": 0.5,
        "crossover_prob": 0.5,
        "pop_size": None,
    }
    #: ``rand/1`` mutation needs three distinct members.
    min_population: ClassVar[int] = 3
    #: Draws of a new architecture before one already entered is accepted again.
    MAX_UNSEEN_TRIES: ClassVar[int] = 50

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.mutation_factor = float_option(self, "mutation_factor", 0.0, 2.0)
        self.crossover_prob = float_option(self, "crossover_prob", 0.0, 1.0)
        self.levels = np.array([len(d.options) for d in self.space.decisions()], dtype=np.int64)
        if self.options["pop_size"] is None:
            self.pop_size: dict[int, int] = {}
            for s in range(self.s_max + 1):
                for epoch, size in zip(*self.bracket(s)):
                    self.pop_size[epoch] = max(self.pop_size.get(epoch, 0), size, self.min_population)
        else:
            size = max(int_option(self, "pop_size"), self.min_population)
            self.pop_size = {epoch: size for epoch in self.offered}
        #: Per epoch: member points (rows) and their fitness.
        self._points: dict[int, list[np.ndarray]] = {}
        self._fitness: dict[int, list[float]] = {}
        self._next_target: dict[int, int] = {}
        #: trial id -> (epoch, target index, point) of a DE trial or a uniform draw (target None).
        self._de_trials: dict[int, tuple[int, int | None, np.ndarray]] = {}
        self._entering: tuple[int, int | None, np.ndarray] | None = None
        self._entered: set[str] = set()

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        self._entering = None
        arch, epoch = super()._ask(trial_id)
        if self._entering is not None:
            self._de_trials[trial_id] = self._entering
        return arch, epoch

    def _new_arch(self, epoch: int) -> Arch:
        members = self._points.get(epoch, [])
        target = None
        if len(members) >= self.min_population:
            target = self._next_target.get(epoch, 0) % len(members)
            self._next_target[epoch] = target + 1
        # An architecture already entered at this budget would be trained again for nothing (a small
        # or pooled space repeats quickly): draw again, and after MAX_UNSEEN_TRIES take a uniform one.
        for _ in range(self.MAX_UNSEEN_TRIES):
            point = self.rng.random(len(self.levels)) if target is None else self._trial(members, target)
            arch = decode(self.space, lambda p=point: self._codes(p), self.rng)
            key = self.space.key(arch)
            if key not in self._entered:
                break
        self._entered.add(key)
        self._entering = (epoch, target, point)
        return arch

    def _trial(self, members: list[np.ndarray], target: int) -> np.ndarray:
        """``rand/1/bin``: a mutant from three distinct members, crossed with the target."""
        rng, dims = self.rng, len(self.levels)
        r1, r2, r3 = rng.choice(len(members), size=3, replace=False)
        mutant = members[r1] + self.mutation_factor * (members[r2] - members[r3])
        outside = (mutant < 0.0) | (mutant > 1.0)
        mutant[outside] = rng.random(int(outside.sum()))
        cross = rng.random(dims) < self.crossover_prob
        cross[rng.integers(dims)] = True
        return np.where(cross, mutant, members[target])

    def _codes(self, point: np.ndarray) -> tuple[int, ...]:
        return tuple(int(c) for c in np.minimum((point * self.levels).astype(np.int64), self.levels - 1))

    def _point(self, arch: Arch) -> np.ndarray:
        """A point of the cube that spells ``arch``: the centre of each option's interval."""
        codes = np.asarray(self.space.to_codes(arch), dtype=float)
        return (codes + 0.5) / self.levels

    def _tell(self, observation: Observation) -> None:
        super()._tell(observation)
        proposal = observation.proposal
        value = fitness(observation.observed)
        epoch, target, point = self._de_trials.pop(
            proposal.trial_id,
            (proposal.epoch if proposal.epoch is not None else self.max_epoch, None, None),
        )
        if point is None:
            point = self._point(proposal.arch)
        members = self._points.setdefault(epoch, [])
        scores = self._fitness.setdefault(epoch, [])
        if target is not None and target < len(members):
            if value >= scores[target]:
                members[target], scores[target] = point, value
            return
        if len(members) < self.pop_size.get(epoch, self.min_population):
            members.append(point)
            scores.append(value)
            return
        worst = int(np.argmin(scores))
        if math.isfinite(value) and value > scores[worst]:
            members[worst], scores[worst] = point, value
