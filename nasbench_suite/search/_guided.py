"""The loop shared by predictor-guided strategies (BANANAS, XGBoost BO).

White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search", AAAI 2021, Algorithm 1; the same
loop with other predictors plugged in is the "predictor-guided search" of White
et al., "How Powerful are Performance Predictors in NAS?", NeurIPS 2021.

1. Measure ``num_init`` random architectures.
2. Fit a predictor (from :mod:`nasbench_suite.surrogates.predictors`) on every
   finite result told so far.
3. Make ``n_candidates`` unseen candidates by mutating the ``num_arches_to_mutate``
   best architectures (1 to ``max_mutations`` successive ``space.mutate`` each);
   top up with random unseen architectures when the neighbourhood is exhausted.
4. Score them with the acquisition function and propose the best ``k``;
   back to 2 once those are told.

Asynchronous use (W workers): proposals come from a queue holding the last
batch. When an ask finds the queue empty, the predictor is refitted if anything
was told since the last fit (otherwise the current model scores a fresh batch),
so the model is refitted at most once per ``k`` proposals; with one worker this
is exactly the sequential algorithm (a refit every ``k`` results). Until
``num_init`` results are told (and while fewer than two are finite), proposals
are random unseen architectures.

No architecture is proposed twice (identity by ``space.key``): candidates,
random draws and queued proposals all skip what was already proposed (random
draws give up after a bound, beyond which a nearly exhausted space may repeat).
A failed (NaN) result counts as told but is left out of the predictor's data.
"""

from __future__ import annotations

import functools
import math
from abc import abstractmethod
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import ThreadpoolController

from nasbench_suite.search._util import UNSEEN_DRAWS, choice_option, float_option, int_option, unseen_sample
from nasbench_suite.search.base import Observation, Strategy, StrategyError
from nasbench_suite.spaces.base import Arch

#: Mutation attempts per wanted candidate before topping up with random ones.
_PATIENCE = 5

ACQUISITIONS = ("its", "ucb", "mean")


@functools.cache
def _thread_pools() -> ThreadpoolController:
    """The process's BLAS and OpenMP libraries, found once: finding them scans every loaded
    library (tens of milliseconds, paid at each refit before)."""
    return ThreadpoolController()


def _one_thread() -> AbstractContextManager[Any]:
    """BLAS and OpenMP limited to one thread for the model work.

    The predictors' matrices are small: extra threads only contend, and on a loaded
    machine they make a fit several times slower. The libraries are those loaded at the
    first fit of the process (numpy's BLAS; XGBoost sets its own thread count).
    """
    return _thread_pools().limit(limits=1)


class GuidedSearch(Strategy):
    """Base of predictor-guided search; subclasses say which predictor to fit.

    Options (shared):
        num_init: random architectures measured before the first fit.
        k: proposals per fitted model (the batch size).
        n_candidates: candidates scored per batch.
        num_arches_to_mutate: best architectures whose mutations are the candidates.
        max_mutations: most successive mutations making one candidate.
        acquisition: ``"its"`` (independent Thompson sampling: one draw from
            ``N(mean, std)`` per candidate), ``"ucb"`` (``mean + ucb_beta * std``) or
            ``"mean"`` (greedy on the prediction).
        ucb_beta: weight of the spread for ``"ucb"``.
    """

    model_based: ClassVar[bool] = True
    #: What an ``encoding`` option of ``"auto"`` (the default) means on a space with a graph
    #: view; one-hot on chain and categorical spaces (``surrogates.encodings.default_encoding``).
    graph_encoding: ClassVar[str] = "onehot"
    shared_defaults: ClassVar[dict[str, Any]] = {
        "num_init": 10,
        "k": 10,
        "n_candidates": 100,
        "num_arches_to_mutate": 2,
        "max_mutations": 2,
        "acquisition": "its",
        "ucb_beta": 0.5,
    }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.num_init = int_option(self, "num_init")
        self.k = int_option(self, "k")
        self.n_candidates = int_option(self, "n_candidates")
        self.num_arches_to_mutate = int_option(self, "num_arches_to_mutate")
        self.max_mutations = int_option(self, "max_mutations")
        self.acquisition = choice_option(self, "acquisition", ACQUISITIONS)
        self.ucb_beta = float_option(self, "ucb_beta", 0.0, math.inf)
        # Each fit gets its own child seed: the same run refits the same models.
        self._fit_seeds = self.seed_sequence.spawn(1)[0]
        self._seen: set[str] = set()  # keys of everything proposed; membership only
        self._data: list[tuple[Arch, float]] = []  # finite results, in the order told
        self._queue: list[Arch] = []  # the current batch, best first
        self._told_since_fit = 0
        self.model_: Any = None
        self.n_fits_ = 0
        if self.options.get("encoding") == "auto":
            from nasbench_suite.surrogates import encodings

            # The space's default, resolved once, so that the options the run records name it.
            self.options["encoding"] = encodings.default_encoding(self.space, self.graph_encoding)

    @abstractmethod
    def make_predictor(self, seed: int) -> Any:
        """A new, unfitted predictor (``fit(archs, y)``, ``predict_dist(archs)``) seeded by ``seed``."""

    def _predictor(self, kind: str, seed: int, **params: Any) -> Any:
        """``predictors.get(kind, space, seed=seed, encoding=<option encoding>, **params)``; a bad
        encoding or setting is a :class:`StrategyError` naming the strategy."""
        from nasbench_suite.surrogates import encodings, predictors
        from nasbench_suite.surrogates.predictors.base import PredictorError

        try:
            encodings.encoding_size(self.space, self.options["encoding"])
            return predictors.get(kind, self.space, seed=seed, encoding=self.options["encoding"], **params)
        except (PredictorError, encodings.EncodingError) as exc:
            raise StrategyError(f"strategy {self.name!r}: {exc}") from None

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        if len(self.history) < self.num_init or len(self._data) < 2:
            return self._propose(self._unseen_random()), None
        while self._queue:
            arch = self._queue.pop(0)
            if self.space.key(arch) not in self._seen:
                return self._propose(arch), None
        with _one_thread():
            if self.model_ is None or self._told_since_fit > 0:
                self._fit()
            self._queue = self._next_batch()
        return self._propose(self._queue.pop(0)), None

    def _tell(self, observation: Observation) -> None:
        self._told_since_fit += 1
        if not math.isnan(observation.observed):
            self._data.append((observation.proposal.arch, observation.observed))

    def _propose(self, arch: Arch) -> Arch:
        self._seen.add(self.space.key(arch))
        return arch

    def _unseen_random(self) -> Arch:
        return unseen_sample(self.space, self.rng, self._seen)

    def _fit(self) -> None:
        seed = int(self._fit_seeds.spawn(1)[0].generate_state(1)[0] % 2**31)
        model = self.make_predictor(seed)
        model.fit([a for a, _ in self._data], np.array([y for _, y in self._data]))
        self.model_, self._told_since_fit = model, 0
        self.n_fits_ += 1

    def _candidates(self) -> list[Arch]:
        """Unseen mutations of the best results (distinct), topped up with random unseen ones."""
        order = sorted(range(len(self._data)), key=lambda i: -self._data[i][1])  # stable: ties by age
        parents = [self._data[i][0] for i in order[: self.num_arches_to_mutate]]
        keys: set[str] = set()
        out: list[Arch] = []

        def offer(arch: Arch) -> None:
            key = self.space.key(arch)
            if key not in self._seen and key not in keys:
                keys.add(key)
                out.append(arch)

        for attempt in range(_PATIENCE * self.n_candidates):
            if len(out) >= self.n_candidates:
                break
            arch = parents[attempt % len(parents)]
            for _ in range(int(self.rng.integers(1, self.max_mutations + 1))):
                arch = self.space.mutate(arch, self.rng)
            offer(arch)
        for _ in range(UNSEEN_DRAWS):
            if len(out) >= self.n_candidates:
                break
            offer(self.space.sample(self.rng))
        return out or [self._unseen_random()]

    def _next_batch(self) -> list[Arch]:
        """The ``k`` candidates the acquisition function ranks highest, best first."""
        candidates = self._candidates()
        mean, std = self.model_.predict_dist(candidates)
        if self.acquisition == "its":
            score = self.rng.normal(mean, std)
        elif self.acquisition == "ucb":
            score = mean + self.ucb_beta * std
        else:
            score = mean
        # A stable sort keeps equal scores in candidate order: no dependence on hashing.
        best = np.argsort(-score, kind="stable")[: self.k]
        return [candidates[i] for i in best]
