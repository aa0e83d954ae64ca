"""Local search: first-improvement hill climbing over ``space.neighbours``, with restarts.

White, Nolen & Savani, "Exploring the Loss Landscape in Neural Architecture
Search", UAI 2021 (arXiv:2005.02960, "Local search is state of the art for NAS
benchmarks"). A climb starts from the best of ``n_init`` random architectures,
evaluates the neighbours of the current architecture in random order and moves
to the first one that is better (``query_full_nbhd=False`` in the authors'
code); when every neighbour has been tried without improvement (a local
optimum) it restarts from new random architectures (``stop_at_minimum=True``).
Defaults are those of the reference implementation (``num_init=10``).

Local search never proposes an architecture twice (identity by ``space.key``):
neighbours already evaluated are skipped, and random draws are redrawn (up to a
bound, beyond which a small space is exhausted and a repeat is accepted).

Asynchronous use (W workers): when a worker is free but the climb has nothing
to offer (its start is still being measured, or all remaining neighbours are in
flight), the worker gets a random unseen architecture, a *spare*. A told result
better than the current architecture of the same climb moves the climb to it,
whichever worker measured it; spares and results of finished climbs seed the
next restart's pool of starting candidates, so no measurement is wasted.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasbench_suite.search._util import fitness, int_option, unseen_sample
from nasbench_suite.search.base import Observation, Strategy
from nasbench_suite.spaces.base import Arch

_INIT, _NEIGHBOUR, _SPARE = "init", "neighbour", "spare"


class LocalSearch(Strategy):
    """First-improvement local search with random restarts.

    Options:
        n_init: random architectures measured to choose the start of each climb.
    """

    name: ClassVar[str] = "local-search"
    defaults: ClassVar[dict[str, Any]] = {"n_init": 10}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.n_init = int_option(self, "n_init")
        self._seen: set[str] = set()  # keys of everything proposed; membership only
        self._roles: dict[int, tuple[str, int]] = {}  # trial id -> (role, climb number)
        self._climb = 0
        self._pool: list[tuple[Arch, float]] = []  # start candidates of the climb
        self._init_left = self.n_init
        self._spares: list[tuple[Arch, float]] = []
        self.current: tuple[Arch, float] | None = None  # None until the climb has started
        self._queue: list[Arch] = []
        self._neighbours_in_flight = 0

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        if self.current is None and self._init_left > 0:
            self._init_left -= 1
            return self._propose(trial_id, self._unseen_random(), _INIT), None
        while self.current is not None and self._queue:
            arch = self._queue.pop()
            if self.space.key(arch) not in self._seen:
                self._neighbours_in_flight += 1
                return self._propose(trial_id, arch, _NEIGHBOUR), None
        return self._propose(trial_id, self._unseen_random(), _SPARE), None

    def _propose(self, trial_id: int, arch: Arch, role: str) -> Arch:
        self._seen.add(self.space.key(arch))
        self._roles[trial_id] = (role, self._climb)
        return arch

    def _unseen_random(self) -> Arch:
        return unseen_sample(self.space, self.rng, self._seen)

    def _tell(self, observation: Observation) -> None:
        role, climb = self._roles.pop(observation.proposal.trial_id)
        result = (observation.proposal.arch, fitness(observation.observed))
        if climb == self._climb and role == _NEIGHBOUR:
            self._neighbours_in_flight -= 1
        if climb == self._climb and role == _INIT and self.current is None:
            self._pool.append(result)
            if len(self._pool) >= self.n_init:
                self._start_climb()
        elif climb == self._climb and self.current is not None and result[1] > self.current[1]:
            self._move_to(result)
        else:
            self._spares.append(result)
        # A restart can start at once from measured spares whose neighbours were all seen
        # already; the second pass then has no spares and waits for new random starts.
        while self.current is not None and not self._queue and self._neighbours_in_flight == 0:
            self._restart()

    def _start_climb(self) -> None:
        best = int(np.argmax([f for _, f in self._pool]))
        self._move_to(self._pool[best])
        self._pool = []

    def _move_to(self, result: tuple[Arch, float]) -> None:
        """Make ``result`` the current architecture; its untried neighbours, shuffled, are next."""
        self.current = result
        untried = [a for a in self.space.neighbours(result[0]) if self.space.key(a) not in self._seen]
        # Popped from the end: the permutation is the order of evaluation.
        self._queue = [untried[i] for i in self.rng.permutation(len(untried))]

    def _restart(self) -> None:
        """At a local optimum: begin a new climb; measured spares are its first candidates."""
        self._climb += 1
        self._neighbours_in_flight = 0
        self.current, self._queue = None, []
        self._pool, self._spares = self._spares, []
        self._init_left = max(0, self.n_init - len(self._pool))
        if self._init_left == 0:
            self._start_climb()
