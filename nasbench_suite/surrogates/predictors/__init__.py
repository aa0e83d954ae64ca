"""Accuracy predictors by name.

``get("xgb", space, seed=0, **params)`` builds a predictor; ``available()`` lists
the names; ``register(name, cls)`` adds one. Built-in predictors are imported on
first use, so naming ``"gin"`` is what loads torch, and nothing here loads the
table modules. ``load_predictor(space, directory, spec)`` rebuilds a predictor
that ``Predictor.save(directory)`` wrote.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates.predictors.base import Predictor, PredictorError

#: The default predictor (what a surrogate uses when none is named).
DEFAULT = "xgb"

_BUILTINS: dict[str, tuple[str, str]] = {
    "xgb": ("nasbench_suite.surrogates.predictors.xgb", "XGBPredictor"),
    "rf": ("nasbench_suite.surrogates.predictors.forest", "RandomForestPredictor"),
    "mlp": ("nasbench_suite.surrogates.predictors.mlp", "MLPPredictor"),
    "gin": ("nasbench_suite.surrogates.predictors.gin", "GINPredictor"),
    "ensemble": ("nasbench_suite.surrogates.predictors.ensemble", "EnsemblePredictor"),
    "zc": ("nasbench_suite.surrogates.predictors.zero_cost", "ZeroCostPredictor"),
}
_REGISTERED: dict[str, type[Predictor]] = {}


def register(name: str, cls: type[Predictor], *, replace: bool = False) -> None:
    """Make ``cls`` available as ``get(name, ...)``.

    Raises:
        PredictorError: if ``name`` is taken and ``replace`` is false, or ``cls`` is
            not a :class:`Predictor` subclass.
    """
    if not (isinstance(cls, type) and issubclass(cls, Predictor)):
        raise PredictorError(f"cannot register {cls!r} as predictor {name!r}: not a Predictor subclass")
    if (name in _REGISTERED or name in _BUILTINS) and not replace:
        raise PredictorError(f"a predictor named {name!r} is already registered")
    _REGISTERED[name] = cls


def available() -> list[str]:
    """Names of the registered predictors, sorted.

    A built-in whose module is not installed is left out (found without importing it,
    so listing never loads torch); one whose library is missing still fails in :func:`get`.
    """
    present = {
        name for name, (module, _) in _BUILTINS.items() if importlib.util.find_spec(module) is not None
    }
    return sorted({*present, *_REGISTERED})


def predictor_class(name: str) -> type[Predictor]:
    """The class registered as ``name``.

    Raises:
        PredictorError: if no predictor has that name.
    """
    cls = _REGISTERED.get(name)
    if cls is None and name in _BUILTINS:
        module_name, class_name = _BUILTINS[name]
        cls = getattr(importlib.import_module(module_name), class_name)
        _REGISTERED[name] = cls
    if cls is None:
        raise PredictorError(f"unknown predictor {name!r}; known: {', '.join(available())}")
    return cls


def get(name: str, space: SearchSpace, seed: int = 0, **params: Any) -> Predictor:
    """A new, unfitted predictor ``name`` for ``space``.

    Args:
        name: one of :func:`available`.
        space: the search space of the architectures it will see.
        seed: seed of every random choice of the predictor.
        **params: hyperparameters (see the predictor's ``defaults`` and docs/surrogates.md).

    Raises:
        PredictorError: unknown name or parameter.
    """
    return predictor_class(name)(space, seed=seed, **params)


def load_predictor(space: SearchSpace, directory: str | Path, spec: dict[str, Any]) -> Predictor:
    """Rebuild a fitted predictor from the ``spec`` that ``save(directory)`` returned.

    Predictions of the rebuilt predictor are bit-identical to the saved one's.

    Raises:
        PredictorError: a spec without name/seed/params, an unknown name or parameter,
            or model files that are missing.
    """
    if not isinstance(spec, dict) or not {"name", "seed", "params"} <= set(spec):
        raise PredictorError(f"not a predictor spec (needs name, seed, params): {spec!r}"[:300])
    directory = Path(directory)
    missing = [f for f in spec.get("files", []) if not (directory / f).is_file()]
    if missing:
        raise PredictorError(f"predictor files missing from {directory}: {', '.join(missing)}")
    return predictor_class(spec["name"])._rebuild(space, directory, spec)


__all__ = ["DEFAULT", "Predictor", "PredictorError", "available", "get", "load_predictor", "register"]
