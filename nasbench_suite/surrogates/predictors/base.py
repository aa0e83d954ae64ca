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
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench_suite._schema import Float, Obj, Schema, SchemaViolation
from nasbench_suite.errors import NasbenchError
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates import encodings


class PredictorError(NasbenchError, ValueError):
    """Bad input to a predictor: empty or mismatched data, use before ``fit``, an
    unknown parameter, or a model that cannot be saved or rebuilt."""


class Predictor(ABC):
    """Base of every accuracy predictor.

    Args:
        space: the search space of the architectures.
        seed: seed of every random choice the predictor makes.
        **params: hyperparameters, names from ``defaults``.
    """

    name: ClassVar[str] = ""
    #: Default hyperparameters (documented in docs/surrogates.md). An ``encoding`` of
    #: ``"auto"`` becomes :attr:`graph_encoding` on a space with a graph view and one-hot
    #: otherwise (``encodings.default_encoding``): :attr:`encoding` is the resolved kind.
    defaults: ClassVar[dict[str, Any]] = {}
    #: The encoding ``"auto"`` stands for on a space with a graph view.
    graph_encoding: ClassVar[str] = "onehot"
    #: Defaults that replace ``defaults`` when the predictor is an ensemble member.
    member_defaults: ClassVar[dict[str, Any]] = {}
    #: Schema of the ``params`` and ``state`` of a saved spec, checked before the spec sizes
    #: anything (:meth:`check_spec`); None leaves them to the predictor's ``_load``.
    spec_schema: ClassVar[Schema | None] = None
    #: What the evaluation harness passes as ``values`` when asked for proxies (``evaluate_table``):
    #: ``"scalar"`` (one proxy per architecture, ``zc``), ``"vector"`` (several, ``xgb-zc``) or
    #: None (the predictor takes none).
    proxy_input: ClassVar[str | None] = None

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

    # --- saving ------------------------------------------------------------------
    #
    # ``save`` writes model files in their library's own format and returns a
    # JSON-able spec; ``predictors.load_predictor(space, directory, spec)`` builds the
    # predictor from ``name``/``seed``/``params`` and hands the rest to ``_load``.

    def save(self, directory: str | Path) -> dict[str, Any]:
        """Write the fitted model into ``directory`` (created if absent).

        Returns:
            A JSON-able spec: ``name``, ``seed``, ``params``, ``files`` (names relative
            to ``directory``) and ``state`` (small fitted values such as target scaling).

        Raises:
            PredictorError: if called before ``fit``, or the model cannot be saved without pickle.
        """
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files, state = self._save(directory)
        return {
            "name": self.name,
            "seed": self.seed,
            "params": self._params_for_spec(),
            "files": sorted(files),
            "state": state,
        }

    def _save(self, directory: Path) -> tuple[list[str], dict[str, Any]]:
        """Write model files; return their names and a JSON-able state (override)."""
        raise PredictorError(f"predictor {self.name!r} cannot be saved")

    @classmethod
    def check_spec(cls, spec: dict[str, Any]) -> None:
        """Check a saved spec's ``params`` and ``state`` against :attr:`spec_schema`.

        Raises:
            PredictorError: naming the field that breaks it.
        """
        if cls.spec_schema is None:
            return
        try:
            cls.spec_schema.check({"params": spec.get("params"), "state": spec.get("state")}, "spec")
        except SchemaViolation as exc:
            raise PredictorError(f"predictor {cls.name!r}: saved {exc}") from None

    @classmethod
    def _rebuild(cls, space: SearchSpace, directory: Path, spec: dict[str, Any]) -> Predictor:
        """A predictor built from ``spec`` with its fitted state restored from ``directory``."""
        predictor = cls(space, seed=spec["seed"], **spec["params"])
        predictor._load(directory, spec)
        predictor.fitted_ = True
        return predictor

    def _load(self, directory: Path, spec: dict[str, Any]) -> None:
        """Restore fitted attributes from ``directory`` and ``spec`` (override with ``_save``)."""
        raise PredictorError(f"predictor {self.name!r} cannot be loaded")

    def _params_for_spec(self) -> dict[str, Any]:
        # The resolved encoding, so that a saved spec says what the model was fitted on.
        return {**self.params, "encoding": self.encoding} if "encoding" in self.params else dict(self.params)

    # --- shared checks -------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise PredictorError(f"predictor {self.name!r} is not fitted: call fit(archs, y) first")

    def _check_archs(self, archs: Sequence[Any]) -> list[Any]:
        """``archs`` as a list of validated architecture values; empty -> PredictorError."""
        if isinstance(archs, str):
            raise PredictorError(
                f"predictor {self.name!r}: expected a sequence of architectures, got a string"
            )
        values = list(archs)
        if not values:
            raise PredictorError(f"predictor {self.name!r}: no architectures given")
        return [self.space.validate(a) for a in values]

    @property
    def encoding(self) -> str | None:
        """The vector encoding in use: ``params["encoding"]`` with ``"auto"`` resolved for the
        space (None for a predictor that takes no encoding)."""
        kind = self.params.get("encoding")
        return None if kind is None else encodings.resolve(self.space, kind, self.graph_encoding)

    def _encode(self, values: Sequence[Any]) -> np.ndarray:
        """The ``self.params["encoding"]`` vectors of validated architectures, each encoded as
        its class's representative (``space.canonical``): architectures the space declares
        equivalent get the same row, hence the same prediction, in fit and predict alike."""
        return encodings.encode(self.space, [self.space.canonical(v) for v in values], str(self.encoding))

    def _encode_for_predict(self, archs: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
        """Checks of ``predict_dist`` (fitted, valid ``archs``), then the validated
        architectures and their ``self.params["encoding"]`` vectors (:meth:`_encode`)."""
        self._check_fitted()
        values = self._check_archs(archs)
        return values, self._encode(values)

    def _check_fit_input(
        self, archs: Sequence[Any], y: Sequence[float] | np.ndarray
    ) -> tuple[list[Any], np.ndarray]:
        """Validated architectures and targets as float64 ``(n,)``."""
        values = self._check_archs(archs)
        try:
            target = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise PredictorError(f"predictor {self.name!r}: targets are not numbers") from None
        if target.ndim != 1 or len(target) != len(values):
            raise PredictorError(
                f"predictor {self.name!r}: {len(values)} architectures but targets of shape {target.shape}"
            )
        bad = np.flatnonzero(~np.isfinite(target))
        if len(bad):
            raise PredictorError(
                f"predictor {self.name!r}: non-finite target {target[bad[0]]} at position {bad[0]} "
                f"({len(bad)} in all)"
            )
        return values, target

    def __repr__(self) -> str:
        return f"{type(self).__name__}(space={self.space.name!r}, seed={self.seed}, params={self.params})"


def child_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent 31-bit seeds derived from ``seed`` (``SeedSequence.spawn``), for
    the parts of a predictor (ensemble members, libraries that take an int seed)."""
    return [int(child.generate_state(1)[0] % 2**31) for child in np.random.SeedSequence(seed).spawn(n)]


#: Schema of a saved :class:`TargetScaler` (its ``state()``).
SCALER_SCHEMA = Obj({"mean": Float(), "scale": Float(lo=1e-300)})


class TargetScaler:
    """Standardises targets (``(y - mean) / std``) so that one set of hyperparameters
    suits accuracies in percent, fractions or log-times alike."""

    def __init__(self, mean: float = 0.0, scale: float = 1.0):
        self.mean, self.scale = float(mean), float(scale)

    @classmethod
    def fit(cls, y: np.ndarray) -> TargetScaler:
        """The scaler of ``y`` (scale 1 when ``y`` is constant)."""
        scale = float(np.std(y))
        return cls(float(np.mean(y)), scale if scale > 0 else 1.0)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Targets in standard units."""
        return (np.asarray(y, dtype=np.float64) - self.mean) / self.scale

    def inverse(self, z: np.ndarray, std: bool = False) -> np.ndarray:
        """Back to target units (``std=True``: a spread, which only scales)."""
        z = np.asarray(z, dtype=np.float64)
        return z * self.scale if std else z * self.scale + self.mean

    def state(self) -> dict[str, float]:
        """JSON-able form (floats round-trip exactly through JSON)."""
        return {"mean": self.mean, "scale": self.scale}
