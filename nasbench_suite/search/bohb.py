"""BOHB: Hyperband whose new architectures come from a kernel density model.

Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter Optimization at
Scale", ICML 2018, and its reference implementation (hpbandster's ``BOHB`` config
generator). Brackets, rungs and promotions are exactly ``hyperband``'s; only the
architectures that enter a bracket's first rung differ:

- Observations are kept per budget (the epoch a result was measured at) as the
  space's categorical codes (``space.decisions``/``to_codes``).
- The model is that of the largest budget with enough observations: at least
  ``min_points_in_model`` (default: decisions + 1). Its results are split into the best
  ``n_good = max(min_points, top_n_percent% of n)`` and the next
  ``n_bad = max(min_points, (100 - top_n_percent)% of n)``; each part must have more
  points than there are decisions, else that budget has no model.
- Each part gets a product of Aitchison-Aitken kernels (the categorical kernel of
  statsmodels' ``KDEMultivariate``, which BOHB uses): ``1 - bw`` for the same option,
  ``bw / (c - 1)`` for each other of ``c`` options, bandwidths by statsmodels' normal
  reference rule ``1.06 * std * n**(-1 / (4 + d))`` on the codes, clipped to
  ``[min_bandwidth, (c - 1) / c]`` (the upper bound, the uniform kernel, is ours: it keeps
  every kernel a probability that favours its own option, which the rule alone does not).
- A new architecture is, with probability ``random_fraction`` or while no budget has a
  model, a uniform draw; otherwise the best by ``l(x) / g(x)`` (good over bad density) of
  ``num_samples`` candidates, each drawn from the good kernel density with the bandwidths
  multiplied by ``bandwidth_factor``: a random good point whose options are kept with
  probability ``1 - bw`` each and redrawn uniformly otherwise (hpbandster's sampler).

Published defaults: ``top_n_percent = 15``, ``num_samples = 64``, ``random_fraction = 1/3``,
``bandwidth_factor = 3``, ``min_bandwidth = 1e-3``, with Hyperband's ``eta = 3``. Plain
numpy: the density is a few vectorised lines, so no statsmodels dependency. Failed (NaN)
results count as the worst (hpbandster gives them an infinite loss).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from nasbench_suite.search._util import decode, fitness, float_option, int_option
from nasbench_suite.search.base import Observation, StrategyError
from nasbench_suite.search.successive_halving import Hyperband
from nasbench_suite.spaces.base import Arch


class BOHB(Hyperband):
    """Hyperband with new architectures from a TPE-style kernel density model (Falkner et al.).

    Options:
        eta, min_epoch, max_epoch: as ``hyperband``.
        top_n_percent: share (%) of a budget's results that make the good density.
        num_samples: candidates scored by ``l / g`` per model-based proposal.
        random_fraction: share of new architectures drawn uniformly.
        bandwidth_factor: bandwidths are multiplied by it when drawing candidates.
        min_bandwidth: the smallest bandwidth (keeps some exploration when a part agrees).
        min_points_in_model: observations a budget needs for a model; None: decisions + 1.
    """

    name: ClassVar[str] = "bohb"
    defaults: ClassVar[dict[str, Any]] = {
        **Hyperband.defaults,
        "top_n_percent": 15,
        "num_samples": 64,
        "random_fraction": 1 / 3,
        "bandwidth_factor": 3.0,
        "min_bandwidth": 1e-3,
        "min_points_in_model": None,
    }
    model_based: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.top_n_percent = float_option(self, "top_n_percent", 1, 99)
        self.num_samples = int_option(self, "num_samples")
        self.random_fraction = float_option(self, "random_fraction", 0.0, 1.0)
        self.bandwidth_factor = float_option(self, "bandwidth_factor", 0.0, math.inf)
        self.min_bandwidth = float_option(self, "min_bandwidth", 0.0, 1.0)
        self.levels = np.array([len(d.options) for d in self.space.decisions()], dtype=np.int64)
        dims = len(self.levels)
        if self.options["min_points_in_model"] is None:
            self.min_points = dims + 1
        else:
            self.min_points = int_option(self, "min_points_in_model")
            if self.min_points <= dims:
                raise StrategyError(
                    f"strategy {self.name!r}: min_points_in_model must exceed the {dims} decisions"
                )
        self._observed: dict[int, list[tuple[tuple[int, ...], float]]] = {}

    def _tell(self, observation: Observation) -> None:
        super()._tell(observation)
        epoch = observation.proposal.epoch if observation.proposal.epoch is not None else self.max_epoch
        codes = tuple(self.space.to_codes(observation.proposal.arch))
        self._observed.setdefault(epoch, []).append((codes, fitness(observation.observed)))

    def _new_arch(self, epoch: int) -> Arch:
        model = None if self.rng.random() < self.random_fraction else self._model()
        if model is None:
            return self.space.sample(self.rng)
        good, bw_good, bad, bw_bad = model
        return decode(self.space, lambda: self._best_candidate(good, bw_good, bad, bw_bad), self.rng)

    def _model(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(good codes, their bandwidths, bad codes, theirs) of the largest budget that has a model."""
        dims = len(self.levels)
        for epoch in sorted(self._observed, reverse=True):
            results = self._observed[epoch]
            n = len(results)
            if n < self.min_points:
                continue
            n_good = max(self.min_points, int(self.top_n_percent * n // 100))
            n_bad = max(self.min_points, int((100 - self.top_n_percent) * n // 100))
            # Best first; a stable sort keeps the told order among ties.
            order = np.argsort([-f for _, f in results], kind="stable")
            codes = np.array([results[i][0] for i in order], dtype=np.int64)
            good, bad = codes[:n_good], codes[n_good : n_good + n_bad]
            if len(good) <= dims or len(bad) <= dims:
                continue
            return good, self._bandwidths(good), bad, self._bandwidths(bad)
        return None

    def _bandwidths(self, data: np.ndarray) -> np.ndarray:
        """statsmodels' normal reference rule on the codes, clipped (see the module docstring)."""
        n, dims = data.shape
        bw = 1.06 * data.std(axis=0) * n ** (-1.0 / (4 + dims))
        return np.clip(bw, self.min_bandwidth, (self.levels - 1) / np.maximum(self.levels, 1))

    def _density(self, x: np.ndarray, data: np.ndarray, bw: np.ndarray) -> np.ndarray:
        """Aitchison-Aitken product-kernel density of ``data`` at each row of ``x``: ``(m,)``."""
        same = x[:, None, :] == data[None, :, :]
        other = bw / np.maximum(self.levels - 1, 1)
        return np.where(same, 1.0 - bw, other).prod(axis=2).mean(axis=1)

    def _best_candidate(
        self, good: np.ndarray, bw_good: np.ndarray, bad: np.ndarray, bw_bad: np.ndarray
    ) -> tuple[int, ...]:
        rng, m = self.rng, self.num_samples
        centres = good[rng.integers(len(good), size=m)]
        redraw_p = np.maximum(bw_good * self.bandwidth_factor, self.min_bandwidth)
        keep = rng.random(centres.shape) >= redraw_p
        uniform = (rng.random(centres.shape) * self.levels).astype(np.int64)
        candidates = np.where(keep, centres, uniform)
        ratio = np.maximum(self._density(candidates, good, bw_good), 1e-32) / np.maximum(
            self._density(candidates, bad, bw_bad), 1e-32
        )
        return tuple(int(c) for c in candidates[int(np.argmax(ratio))])
