"""Accuracy predictors by name.

``get("xgb", space, seed=0, **params)`` builds a predictor; ``available()`` lists
the names; ``register(name, cls)`` adds one (``unregister`` and the ``registered``
context manager undo it), and installed packages can declare predictors under the
entry-point group ``nasbench_suite.predictors``. Built-in predictors are imported on
first use, so naming ``"gin"`` is what loads torch, and nothing here loads the
table modules. ``load_predictor(space, directory, spec)`` rebuilds a predictor
that ``Predictor.save(directory)`` wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nasbench_suite._registry import ENTRY_POINT_GROUPS, LazyRegistry
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates.predictors.base import Predictor, PredictorError

#: The default predictor (what a surrogate uses when none is named).
DEFAULT = "xgb"

_REGISTRY: LazyRegistry[type[Predictor]] = LazyRegistry(
    "predictor",
    {
        "xgb": ("nasbench_suite.surrogates.predictors.xgb", "XGBPredictor"),
        "rf": ("nasbench_suite.surrogates.predictors.forest", "RandomForestPredictor"),
        "mlp": ("nasbench_suite.surrogates.predictors.mlp", "MLPPredictor"),
        "gin": ("nasbench_suite.surrogates.predictors.gin", "GINPredictor"),
        "ensemble": ("nasbench_suite.surrogates.predictors.ensemble", "EnsemblePredictor"),
        "zc": ("nasbench_suite.surrogates.predictors.zero_cost", "ZeroCostPredictor"),
        "xgb-zc": ("nasbench_suite.surrogates.predictors.xgb_zc", "XGBProxyPredictor"),
        "xgb-zc-only": ("nasbench_suite.surrogates.predictors.xgb_zc", "XGBProxyOnlyPredictor"),
    },
    error=PredictorError,
    unknown=lambda name, known: PredictorError(f"unknown predictor {name!r}; known: {', '.join(known)}"),
    base=Predictor,
    entry_point_group=ENTRY_POINT_GROUPS["predictors"],
)


def register(name: str, cls: type[Predictor], *, replace: bool = False) -> None:
    """Make ``cls`` available as ``get(name, ...)``.

    Raises:
        PredictorError: if ``name`` is taken and ``replace`` is false, or ``cls`` is
            not a :class:`Predictor` subclass.
    """
    _REGISTRY.register(name, cls, replace=replace)


def unregister(name: str) -> None:
    """Forget the predictor registered as ``name`` (a built-in of that name comes back)."""
    _REGISTRY.unregister(name)


@contextmanager
def registered(name: str, cls: type[Predictor], *, replace: bool = False) -> Iterator[type[Predictor]]:
    """``register(name, cls)`` for the duration of a ``with`` block, undone on exit.

    Raises:
        PredictorError: as :func:`register`.
    """
    with _REGISTRY.registered(name, cls, replace=replace):
        yield cls


def available() -> list[str]:
    """Names of the predictors (built in, registered, installed plugins), sorted.

    Listing never imports them (no torch) and never loads a plugin.

    ``gin`` is listed without torch installed; :func:`get` then says how to install it.
    """
    return _REGISTRY.names()


def predictor_class(name: str) -> type[Predictor]:
    """The class registered as ``name``.

    Raises:
        PredictorError: if no predictor has that name.
        PluginError: the installed plugin of that name failed to load.
    """
    return _REGISTRY.lookup(name)


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
    cls = predictor_class(spec["name"])
    cls.check_spec(spec)
    return cls._rebuild(space, directory, spec)


__all__ = [
    "DEFAULT",
    "Predictor",
    "PredictorError",
    "available",
    "get",
    "load_predictor",
    "register",
    "registered",
    "unregister",
]
