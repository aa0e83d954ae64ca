"""What the warm-started strategies share: the source's ranking walked best first, and the
transferred predictor (the source prior plus a model of the target's residuals from it).

The predictor is the ``residual`` method of the transfer report
(:mod:`nasbench_suite.surrogates.transfer`, results/transfer/): on the log-error scale
(``-log(100.5 - accuracy)``), the source accuracy mapped affinely to the target by least squares
on the target results told so far, plus the strategy's own predictor (BANANAS's ensemble,
XGBoost) fitted on the residuals. It is the best transfer method at 50 target architectures on
most dataset pairs of NB201 there. The prior is a lookup, so a warm strategy costs what its cold
counterpart does per step: one fit of the same size, one prediction per candidate batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasbench_suite.errors import NasbenchError
from nasbench_suite.search._guided import GuidedSearch
from nasbench_suite.search.prior import TransferPrior
from nasbench_suite.spaces.base import Arch, SearchSpace


class PriorWalk:
    """The prior's architectures, best first on the source, each handed out once.

    Args:
        space: the space searched (keys are validated by it).
        prior: the source's ranking.
    """

    def __init__(self, space: SearchSpace, prior: TransferPrior | None):
        self.space, self.prior = space, prior
        self.position = 0  # index of the next key in prior.keys

    def next(self, seen: set[str] | frozenset[str] = frozenset()) -> Arch | None:
        """The best architecture not handed out yet and not in ``seen``; None when none is left.
        A key the space refuses (a prior from elsewhere) is passed over."""
        keys = self.prior.keys if self.prior is not None else ()
        while self.position < len(keys):
            key = keys[self.position]
            self.position += 1
            if key in seen:
                continue
            try:
                return self.space.validate(key)
            except NasbenchError:
                continue
        return None


class ResidualOnPrior:
    """The transferred predictor: the source prior plus ``residual`` fitted on what it misses.

    Args:
        space: the space searched (keys of the architectures).
        prior: the source accuracies.
        residual: an unfitted predictor (``fit``, ``predict_dist``) on raw targets (no transform).
    """

    def __init__(self, space: SearchSpace, prior: TransferPrior, residual: Any):
        self.space, self.prior, self.residual = space, prior, residual
        self.map_ = (0.0, 1.0)

    def _prior_of(self, archs: Sequence[Arch]) -> np.ndarray:
        from nasbench_suite.surrogates.transfer import log_error

        a, b = self.map_
        return a + b * log_error(self.prior.source_of([self.space.key(x) for x in archs]))

    def fit(self, archs: Sequence[Arch], y: np.ndarray) -> ResidualOnPrior:
        from nasbench_suite.surrogates.transfer import affine_map, log_error

        target = log_error(y)
        source = log_error(self.prior.source_of([self.space.key(x) for x in archs]))
        self.map_ = affine_map(source, target)
        self.residual.fit(list(archs), target - self._prior_of(archs))
        return self

    def predict_dist(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread on the log-error scale (a monotone map of accuracy: the acquisition
        ranks candidates as it would on accuracies)."""
        mean, std = self.residual.predict_dist(list(archs))
        return self._prior_of(archs) + mean, std


class WarmGuided(GuidedSearch):
    """Predictor-guided search warm-started from ``context.prior`` (a mixin placed before the
    cold strategy: ``class WarmBananas(WarmGuided, Bananas)``).

    - Initial design: the source's best architectures, in order, instead of ``num_init``
      random ones (and while fewer than two results are finite).
    - Model: :class:`ResidualOnPrior` around the cold strategy's predictor.
    - Candidates: the cold strategy's (mutations of the best results, topped up at random) and the
      ``k`` best unseen architectures of the source, so that the model may jump to a region the
      target results have not reached yet.
    """

    warm_started = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.walk = PriorWalk(self.space, self.context.prior)

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        if len(self.history) < self.num_init or len(self._data) < 2:
            arch = self.walk.next(self._seen)
            if arch is not None:
                return self._propose(arch), None
        return super()._ask(trial_id)

    def make_predictor(self, seed: int) -> ResidualOnPrior:
        """The transferred predictor around :meth:`make_residual_predictor` (the cold strategy's
        fit loop calls it, so warm and cold share one fit)."""
        return ResidualOnPrior(self.space, self.context.prior, self.make_residual_predictor(seed))

    def make_residual_predictor(self, seed: int) -> Any:
        """The predictor of the residuals: the cold strategy's, by default."""
        return super().make_predictor(seed)  # type: ignore[misc]

    def _candidates(self) -> list[Arch]:
        out = super()._candidates()
        keys = {self.space.key(a) for a in out}
        walk = PriorWalk(self.space, self.context.prior)  # from the top: the best still unseen
        for _ in range(self.k):
            arch = walk.next(self._seen | keys)
            if arch is None:
                break
            keys.add(self.space.key(arch))
            out.append(arch)
        return out
