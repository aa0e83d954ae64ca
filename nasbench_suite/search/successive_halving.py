"""Successive halving and Hyperband on the epoch axis.

Successive halving (Jamieson & Talwalkar, AISTATS 2016; Karnin et al. 2013)
measures ``n`` random architectures at a small number of epochs, keeps the best
``1 / eta`` of them, measures those at ``eta`` times more epochs, and so on up to
the full training length. Hyperband (Li et al., JMLR 2018) loops over brackets
of successive halving that trade the number of architectures against their
starting epochs: bracket ``s`` (``s_max`` down to 0) starts
``ceil((s_max + 1) / (s + 1) * eta**s)`` architectures at ``R * eta**-s``
epochs, where ``R`` is the full length and ``s_max = floor(log_eta(R / r_min))``.
``sh`` repeats Hyperband's most exploratory bracket (``s = s_max``).

Defaults: ``eta = 3`` and a minimum of 1 epoch, as in Li et al.; ``R`` is the
context's ``max_epoch`` (the largest epoch offered when it has none). Rung epochs
are the ideal ones moved to the nearest epoch (on a log scale) the context offers
(``context.epochs``), and ``r_min`` is raised to the smallest epoch offered; a rung
that lands on the same epoch as the previous one is dropped (the bracket keeps the
earlier, larger rung instead of narrowing without new information).

Both need per-epoch results and refuse to start without them (the base class
says so). A promoted architecture is proposed again at the next rung's epoch;
the runner charges only the extra epochs (training resumes from a checkpoint).

Asynchronous use (W workers): brackets are synchronous, but several can run at
once. An ask takes the next job of the oldest bracket that has one (a rung's
next architecture, or a promotion once the whole rung has been told); when every
open bracket is waiting for results, a new bracket starts. With one worker this
is exactly the sequential algorithm. Failed (NaN) results are never promoted;
a rung with fewer finite results than promotion slots promotes fewer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from nasbench_suite.search._util import fitness, float_option, int_option
from nasbench_suite.search.base import Observation, Strategy, StrategyError
from nasbench_suite.spaces.base import Arch


@dataclass
class _Bracket:
    """One run of successive halving: rung epochs and sizes, and where it stands."""

    epochs: list[int]
    sizes: list[int]
    rung: int = 0
    new_left: int = 0  # rung 0: random architectures still to propose
    promoted: list[Arch] = field(default_factory=list)  # later rungs: still to propose
    results: list[tuple[Arch, float]] = field(default_factory=list)  # told at this rung
    expected: int = 0  # results this rung waits for

    def has_job(self) -> bool:
        return self.new_left > 0 or bool(self.promoted)


class SuccessiveHalving(Strategy):
    """Successive halving, repeated bracket after bracket (asynchronous brackets when W > 1).

    Options:
        eta: keep the best ``1 / eta`` at each rung; epochs grow by ``eta``.
        min_epoch: the fewest epochs an architecture is trained for (``r_min``).
        max_epoch: the full training length ``R``; None: the context's.
    """

    name: ClassVar[str] = "sh"
    defaults: ClassVar[dict[str, Any]] = {"eta": 3, "min_epoch": 1, "max_epoch": None}
    multi_fidelity: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.eta = float_option(self, "eta", 1.5, math.inf)
        self.min_epoch = int_option(self, "min_epoch")
        offered = sorted(set(self.context.epochs))
        if self.options["max_epoch"] is None:
            self.max_epoch = self.context.max_epoch or offered[-1]
        else:
            self.max_epoch = int_option(self, "max_epoch")
        if self.min_epoch > self.max_epoch:
            raise StrategyError(
                f"strategy {self.name!r}: min_epoch ({self.min_epoch}) exceeds max_epoch ({self.max_epoch})"
            )
        self.offered = sorted(
            {e for e in offered if self.min_epoch <= e <= self.max_epoch} | {self.max_epoch}
        )
        self.min_epoch = self.offered[0]
        # A small tolerance keeps R / eta**s from missing an exact power by rounding.
        self.s_max = math.floor(math.log(self.max_epoch / self.min_epoch, self.eta) + 1e-9)
        self._brackets: list[_Bracket] = []
        self._brackets_opened = 0
        self._trials: dict[int, _Bracket] = {}

    def bracket(self, s: int) -> tuple[list[int], list[int]]:
        """Epochs and sizes of the rungs of bracket ``s`` (``0 <= s <= s_max``)."""
        n = math.ceil((self.s_max + 1) / (s + 1) * self.eta**s)
        epochs, sizes = [], []
        for i in range(s + 1):
            ideal = self.max_epoch * self.eta ** (i - s)
            # The offered epoch nearest on a log scale (rungs are geometric).
            epoch = min(self.offered, key=lambda e: (abs(math.log(e / ideal)), e))
            if epochs and epochs[-1] == epoch:
                continue  # no new epoch: keep the earlier, larger rung rather than narrow for nothing
            epochs.append(epoch)
            sizes.append(max(1, math.floor(n * self.eta**-i + 1e-9)))
        return epochs, sizes

    def _next_bracket_s(self) -> int:
        """Successive halving always runs the most exploratory bracket."""
        return self.s_max

    def _new_arch(self, epoch: int) -> Arch:
        """A new architecture for a bracket's first rung, at ``epoch``: a uniform draw (BOHB and DEHB
        draw from their models)."""
        return self.space.sample(self.rng)

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        bracket = next((b for b in self._brackets if b.has_job()), None)
        if bracket is None:
            epochs, sizes = self.bracket(self._next_bracket_s())
            bracket = _Bracket(epochs, sizes, new_left=sizes[0], expected=sizes[0])
            self._brackets.append(bracket)
            self._brackets_opened += 1
        if bracket.new_left > 0:
            bracket.new_left -= 1
            arch = self._new_arch(bracket.epochs[0])
        else:
            arch = bracket.promoted.pop(0)
        self._trials[trial_id] = bracket
        return arch, bracket.epochs[bracket.rung]

    def _tell(self, observation: Observation) -> None:
        bracket = self._trials.pop(observation.proposal.trial_id)
        bracket.results.append((observation.proposal.arch, fitness(observation.observed)))
        if len(bracket.results) < bracket.expected:
            return
        if bracket.rung + 1 == len(bracket.epochs):
            self._brackets.remove(bracket)
            return
        # Best first; a stable sort keeps the order told among equal results.
        order = np.argsort([-f for _, f in bracket.results], kind="stable")
        finite = [bracket.results[i][0] for i in order if math.isfinite(bracket.results[i][1])]
        keep = finite[: bracket.sizes[bracket.rung + 1]]
        if not keep:
            self._brackets.remove(bracket)
            return
        bracket.rung += 1
        bracket.promoted, bracket.results, bracket.expected = keep, [], len(keep)


class Hyperband(SuccessiveHalving):
    """Hyperband: successive-halving brackets ``s = s_max, ..., 0``, cycled.

    Options: as :class:`SuccessiveHalving`.
    """

    name: ClassVar[str] = "hyperband"

    def _next_bracket_s(self) -> int:
        return self.s_max - self._brackets_opened % (self.s_max + 1)
