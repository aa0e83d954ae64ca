"""The conformance suite every accuracy predictor passes (the scikit-learn-style contract).

Each ``check_*`` function takes a :class:`~nasbench_suite.surrogates.predictors.Predictor`
subclass and the hyperparameters to build it with, fits it on a toy chain space of
81 architectures (:data:`TOY_SPACE`) with a learnable synthetic target
(:func:`toy_target`), and raises ``AssertionError`` saying what is wrong. Keep the
hyperparameters small: every check fits afresh.

    from nasbench_suite.testing import check_predictor
    check_predictor(MyPredictor, {"n_estimators": 50})

Nothing here imports torch; a torch predictor imports it when it is built.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from nasbench_suite.surrogates import predictors
from nasbench_suite.surrogates.predictors.base import Predictor, PredictorError
from nasbench_suite.testing._common import Check, bind, expect, global_random_untouched, parametrize_checks
from nasbench_suite.testing._common import run_checks as _run_checks
from nasbench_suite.testing.toy import ToyChainSpace

#: The space of the checks: 4 layers x 3 ops, 81 architectures.
TOY_SPACE = ToyChainSpace(length=4, choices=3)
#: Every architecture of :data:`TOY_SPACE`, in enumeration order.
TOY_ARCHS: list[tuple[int, ...]] = list(TOY_SPACE.enumerate())
#: Per layer and op, what the op adds to the score.
TOY_WEIGHTS = np.array([[0.0, 1.0, 3.0], [0.0, 2.0, 0.5], [1.0, 0.0, 2.0], [0.0, 0.5, 1.5]])
#: Architectures fitted on; the other 21 are held out.
N_TRAIN = 60

Params = Mapping[str, Any] | None


def toy_target(archs: Sequence[Any]) -> np.ndarray:
    """An additive, mildly interacting score of toy chains, in 'percent' (60..90), shape ``(n,)``."""
    codes = np.array([TOY_SPACE.to_codes(a) for a in archs])
    score = TOY_WEIGHTS[np.arange(4), codes].sum(axis=1) + 0.5 * (codes[:, 0] == codes[:, 3])
    return 60.0 + 4.0 * score


TOY_Y = toy_target(TOY_ARCHS)


def fitted(cls: type[Predictor], params: Params = None, seed: int = 0, n: int = N_TRAIN) -> Predictor:
    """``cls`` built on :data:`TOY_SPACE` and fitted on the first ``n`` toy architectures."""
    return cls(TOY_SPACE, seed=seed, **dict(params or {})).fit(TOY_ARCHS[:n], TOY_Y[:n])


def _raises(what: str, call: Callable[[], object], needle: str) -> None:
    """Fail unless ``call()`` raises ``PredictorError`` whose message contains ``needle``."""
    try:
        call()
    except PredictorError as exc:
        expect(needle in str(exc), f"{what} raised PredictorError without saying {needle!r}: {exc}")
    except Exception as exc:
        raise AssertionError(
            f"{what} raised {type(exc).__name__} ({exc}); it must raise PredictorError"
        ) from exc
    else:
        raise AssertionError(f"{what} was accepted; it must raise PredictorError ({needle!r})")


# --- the checks ---------------------------------------------------------------------------


def check_declares_its_settings(cls: type[Predictor], params: Params = None) -> None:
    """``name`` is a non-empty string, ``defaults`` a dict, and the class has a docstring."""
    expect(isinstance(cls.name, str) and cls.name, f"{cls.__qualname__}.name must be a non-empty string")
    expect(isinstance(cls.defaults, dict), f"{cls.__qualname__}.defaults must be a dict")
    expect(cls.__doc__, f"{cls.__qualname__} needs a docstring")


def check_init_only_stores_arguments(cls: type[Predictor], params: Params = None) -> None:
    """``__init__`` stores ``space``, ``seed`` and its parameters over the defaults, and sets
    no fitted attribute (names ending in ``_``), as in scikit-learn. (Parameters outside
    ``defaults``, such as an ensemble's member settings, are the predictor's to pass on.)"""
    given = dict(params or {})
    model = cls(TOY_SPACE, seed=3, **given)
    expect(model.space is TOY_SPACE, "the predictor does not keep the space it was given as .space")
    expect(model.seed == 3, f"the predictor keeps seed {model.seed!r}, not the 3 it was given")
    for name, default in cls.defaults.items():
        value = model.params.get(name, "<missing>")
        want = given.get(name, default)
        expect(value == want, f".params[{name!r}] is {value!r}, expected {want!r}")
    early = sorted(a for a in vars(model) if a.endswith("_") and not a.startswith("_"))
    expect(not early, f"__init__ sets fitted attributes {early}: set them in fit()")


def check_shapes_and_text_forms(cls: type[Predictor], params: Params = None) -> None:
    """``predict_dist`` gives finite ``(n,)`` mean and non-negative std; ``predict`` is the
    mean; text forms predict as their architectures do."""
    model = fitted(cls, params)
    test = TOY_ARCHS[N_TRAIN:]
    mean, std = model.predict_dist(test)
    expect(
        np.shape(mean) == np.shape(std) == (len(test),),
        f"predict_dist gave shapes {np.shape(mean)} and {np.shape(std)}, expected ({len(test)},) each",
    )
    expect(np.isfinite(mean).all() and np.isfinite(std).all(), "predict_dist gave non-finite values")
    expect((std >= 0).all(), "predict_dist gave a negative standard deviation")
    expect(np.array_equal(model.predict(test), mean), "predict differs from predict_dist's mean")
    texts = [TOY_SPACE.format(a) for a in test]
    expect(
        np.array_equal(model.predict(texts), mean), "text forms predict differently from their architectures"
    )


def check_same_seed_same_predictions(cls: type[Predictor], params: Params = None) -> None:
    """Two fits with the same seed give bit-identical means and stds; predicting twice too."""
    first = fitted(cls, params, seed=3)
    a, b = first.predict_dist(TOY_ARCHS), fitted(cls, params, seed=3).predict_dist(TOY_ARCHS)
    expect(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), "two fits with seed 3 predict differently"
    )
    again = first.predict_dist(TOY_ARCHS)
    expect(np.array_equal(a[0], again[0]), "predicting twice with one fitted model gives different means")


def check_learns_better_than_chance(cls: type[Predictor], params: Params = None) -> None:
    """Kendall tau above 0.3 on the 21 held-out toy architectures (chance: 0; p ~ 0.03)."""
    model = fitted(cls, params)
    tau = kendalltau(model.predict(TOY_ARCHS[N_TRAIN:]), TOY_Y[N_TRAIN:])[0]
    expect(tau > 0.3, f"Kendall tau {tau:.3f} on held-out toy architectures (needs > 0.3)")


def check_input_errors(cls: type[Predictor], params: Params = None) -> None:
    """Bad input raises ``PredictorError`` that says what was wrong."""
    params = dict(params or {})
    model = cls(TOY_SPACE, seed=0, **params)
    archs = TOY_ARCHS
    _raises("predict before fit", lambda: model.predict(archs[:3]), "not fitted")
    with tempfile.TemporaryDirectory() as tmp:
        _raises("save before fit", lambda: model.save(tmp), "not fitted")
    _raises("fit on no architectures", lambda: model.fit([], []), "no architectures")
    _raises(
        "3 archs, 2 targets", lambda: model.fit(archs[:3], [1.0, 2.0]), "3 architectures but targets of shape"
    )
    _raises("a NaN target", lambda: model.fit(archs[:3], [1.0, float("nan"), 2.0]), "non-finite target nan")
    _raises("a string for archs", lambda: model.fit("0-1-2-0", [1.0]), "a string")
    _raises("an unknown parameter", lambda: cls(TOY_SPACE, no_such_param=1, **params), "no_such_param")
    model.fit(archs[:20], TOY_Y[:20])
    _raises("predict on no architectures", lambda: model.predict([]), "no architectures")


def check_save_load_round_trip(cls: type[Predictor], params: Params = None) -> None:
    """``save`` writes files (no pickle) and a JSON-able spec; ``load_predictor`` rebuilds a
    predictor with bit-identical predictions. A predictor that cannot be saved must say so
    with ``PredictorError``."""
    model = fitted(cls, params)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "model"
        try:
            spec = model.save(directory)
        except PredictorError as exc:
            expect(
                "cannot be saved" in str(exc), f"save raised PredictorError without 'cannot be saved': {exc}"
            )
            return
        spec = json.loads(json.dumps(spec))  # what a manifest stores
        expect(spec.get("name") == cls.name, f"the spec names {spec.get('name')!r}, not {cls.name!r}")
        files = spec.get("files") or []
        expect(files and all((directory / f).is_file() for f in files), f"spec files {files} not all written")
        pickles = [p.name for p in directory.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]
        expect(not pickles, f"saved pickles {pickles}: save in the model library's own format")
        registered = _registered_class(cls.name)
        expect(
            registered is cls,
            f"load_predictor finds predictors by name, and {cls.name!r} is "
            f"{'not registered' if registered is None else f'registered to {registered.__qualname__}'}: "
            "register the class (predictors.register) or declare its entry point",
        )
        loaded = predictors.load_predictor(TOY_SPACE, directory, spec)
        for before, after in zip(model.predict_dist(TOY_ARCHS), loaded.predict_dist(TOY_ARCHS), strict=True):
            expect(
                np.array_equal(before, after), "the loaded predictor predicts differently from the saved one"
            )


def _registered_class(name: str) -> type[Predictor] | None:
    try:
        return predictors.predictor_class(name)
    except PredictorError:
        return None


def check_no_global_random_state(cls: type[Predictor], params: Params = None) -> None:
    """Building, fitting and predicting never touch ``np.random``'s or ``random``'s global state."""
    # Once unguarded first: importing a library may draw from `random` (xgboost does), and
    # what the predictor imports on first use is not the predictor drawing.
    fitted(cls, params, seed=4).predict_dist(TOY_ARCHS)
    with global_random_untouched(f"predictor {cls.name!r}"):
        fitted(cls, params, seed=4).predict_dist(TOY_ARCHS)


#: Every check, in the order they run.
CHECKS: tuple[Callable[..., None], ...] = (
    check_declares_its_settings,
    check_init_only_stores_arguments,
    check_input_errors,
    check_shapes_and_text_forms,
    check_same_seed_same_predictions,
    check_learns_better_than_chance,
    check_save_load_round_trip,
    check_no_global_random_state,
)


def predictor_checks(cls: type[Predictor], params: Params = None, *, skip: Sequence[str] = ()) -> list[Check]:
    """The checks of ``cls`` built with ``params``, as ``(name, check)`` pairs.

    Args:
        cls: the Predictor subclass.
        params: hyperparameters (names from ``cls.defaults``); keep them small.
        skip: names of checks to leave out.
    """
    return [(c.__name__, bind(c, cls, params)) for c in CHECKS if c.__name__ not in skip]


def check_predictor(cls: type[Predictor], params: Params = None) -> list[str]:
    """Run every predictor check on ``cls``.

    Returns:
        The names of the checks that did not apply (e.g. the fresh-interpreter check on a
        class defined in ``__main__``); every other check passed.

    Raises:
        AssertionError: listing every check that failed and why.
    """
    return _run_checks(predictor_checks(cls, params))


def parametrize_predictor_checks(
    *classes: type[Predictor], params: Params = None, skip: Sequence[str] = ()
) -> Any:
    """A ``pytest.mark.parametrize`` decorator giving a test one ``check`` per (class, check).

    Usage::

        @parametrize_predictor_checks(MyPredictor, params={"n_estimators": 50})
        def test_my_predictor(check):
            check()
    """
    pairs = [
        (f"{cls.__name__}-{name}", c)
        for cls in classes
        for name, c in predictor_checks(cls, params, skip=skip)
    ]
    return parametrize_checks(pairs)
