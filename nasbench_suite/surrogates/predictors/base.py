"""The contract every predictor follows (scikit-learn style).

``__init__`` only stores its arguments; ``fit`` validates input, fits, and sets
attributes ending in ``_``; ``predict`` returns a ``(n,)`` float array and
``predict_dist`` a ``(mean, std)`` pair of ``(n,)`` arrays. Architectures are
values (or text forms) of ``space``; the predictor encodes them itself with
``nasbench_suite.surrogates.encodings``. Randomness comes only from ``seed``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nasbench_suite.spaces.base import SearchSpace


class PredictorError(ValueError):
    """Bad input to a predictor: empty or mismatched data, or use before ``fit``."""


class Predictor(ABC):
    """Base of every accuracy predictor.

    Args:
        space: the search space of the architectures.
        seed: seed of every random choice the predictor makes.
        **params: hyperparameters, names from ``defaults``.
    """

    name: ClassVar[str] = ""
    #: Default hyperparameters (documented in docs/surrogates.md).
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, space: SearchSpace, seed: int = 0, **params: Any):
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted(self.defaults)) or "none"
            raise PredictorError(f"predictor {self.name!r}: unknown parameter(s) {unknown}; known: {known}")
        self.space = space
        self.seed = seed
        self.params: dict[str, Any] = {**self.defaults, **params}

    @abstractmethod
    def fit(self, archs: Sequence[Any], y: Sequence[float] | np.ndarray) -> Predictor:
        """Fit on architectures and their targets; returns ``self``.

        Raises:
            PredictorError: no architectures, ``len(archs) != len(y)``, or non-finite targets.
        """

    @abstractmethod
    def predict_dist(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation, each of shape ``(n,)`` (std 0 where
        the model has no uncertainty estimate).

        Raises:
            PredictorError: if called before ``fit``.
        """

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        """Predicted targets, shape ``(n,)``."""
        return self.predict_dist(archs)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(space={self.space.name!r}, seed={self.seed}, params={self.params})"
