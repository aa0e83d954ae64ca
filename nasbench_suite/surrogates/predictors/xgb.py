"""Gradient-boosted trees (XGBoost): the default predictor.

Defaults are tuned for the small training sets of NAS (a hundred to a few
thousand architectures) on NB201 ``cifar10-valid``: trees of depth 6, many rounds
at a low learning rate and strong row/column subsampling, on the one-hot encoding
with dead ops masked, the path encoding, structural features and path
statistics, with accuracies fitted as log errors (docs/surrogates.md, "Predictors", has the figures).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite._schema import Float, Int, Obj, Str
from nasbench_suite.surrogates.predictors.base import (
    SCALER_SCHEMA,
    Predictor,
    PredictorError,
    TargetScaler,
    child_seeds,
)

_MODEL_FILE = "model.ubj"
#: Below this many training rows XGBoost trains on one thread whatever ``n_jobs`` says: a
#: boosting round on a few thousand rows is shorter than synchronising threads, and on a
#: busy machine every round waits for a descheduled thread (1,000 NB201 rows on a loaded
#: 2-core VM: 0.4 s on one thread, 1.7 to 13 s on two).
SMALL_DATA_ROWS = 5000


class XGBPredictor(Predictor):
    """XGBoost regressor on a vector encoding; ``predict_dist``'s std is zero (a single
    model has no spread: use ``get("ensemble", space, base="xgb")`` for one)."""

    name = "xgb"
    graph_encoding: ClassVar[str] = "onehot+path+features+path_stats"
    defaults: ClassVar[dict[str, Any]] = {
        "encoding": "auto",
        "n_estimators": 1000,
        "max_depth": 6,
        "learning_rate": 0.02,
        "subsample": 0.7,
        "colsample_bytree": 0.5,
        "min_child_weight": 1.0,
        "reg_lambda": 1.0,
        "target_transform": "auto",
        "top_weight": 0.0,
        "top_power": 4.0,
        "n_jobs": 2,
    }

    spec_schema = Obj(
        {
            "params": Obj(
                {"encoding": Str(max_len=200), "n_jobs": Int(1, 1024)},
                optional={"target_transform": Str(choices=("auto", "log_error", "none"))},
                extra=Float(),  # tree settings: numbers, only recorded (the trees are in the file)
            ),
            "state": Obj(
                {"scaler": SCALER_SCHEMA},
                optional={"transform": Obj({"ceiling": Float(lo=0.0, nullable=True)})},
            ),
        }
    )

    def fit(self, archs: Sequence[Any], y: Sequence[float] | np.ndarray) -> XGBPredictor:
        """Fit on architectures and targets (see :meth:`Predictor.fit`)."""
        import xgboost

        values, target = self._check_fit_input(archs, y)
        x = self._encode_for_fit(values)
        self.transform_ = LogErrorTransform.choose(self.params["target_transform"], target)
        z = self.transform_.forward(target)
        self.scaler_ = TargetScaler.fit(z)
        p = self.params
        booster_params = self.booster_params(len(values))
        data = xgboost.DMatrix(
            x,
            label=self.scaler_.transform(z),
            weight=top_weights(target, p),
            nthread=booster_params["nthread"],
        )
        self.booster_ = boost(booster_params, data, int(p["n_estimators"]))
        # Prediction is one parallel pass over the rows: n_jobs threads pay off there.
        self.booster_.set_param({"nthread": int(p["n_jobs"])})
        self.fitted_ = True
        return self

    def booster_params(self, n_rows: int) -> dict[str, Any]:
        """XGBoost's training parameters for ``n_rows`` rows of data."""
        p = self.params
        return {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "max_depth": int(p["max_depth"]),
            "learning_rate": float(p["learning_rate"]),
            "subsample": float(p["subsample"]),
            "colsample_bytree": float(p["colsample_bytree"]),
            "min_child_weight": float(p["min_child_weight"]),
            "reg_lambda": float(p["reg_lambda"]),
            "nthread": 1 if n_rows < SMALL_DATA_ROWS else int(p["n_jobs"]),
            "seed": child_seeds(self.seed, 1)[0],
            "base_score": 0.0,
        }

    def _encode_for_fit(self, archs: Sequence[Any]) -> np.ndarray:
        """The feature rows of validated architectures (``xgb-zc`` appends proxy values)."""
        return self._encode(archs)

    def predict_dist(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted means and zero standard deviations, each ``(n,)``."""
        values, x = self._encode_for_predict(archs)
        mean = self.transform_.inverse(self.scaler_.inverse(self.booster_.inplace_predict(x)))
        return mean, np.zeros(len(values))

    def _save(self, directory: Path) -> tuple[list[str], dict[str, Any]]:
        # Saved through the atomic writer: XGBoost's own writer reports a full disk as a generic
        # error with a C++ stack trace and no file name.
        _atomic.write_bytes(directory / _MODEL_FILE, self.booster_.save_raw(raw_format="ubj"))
        return [_MODEL_FILE], {"scaler": self.scaler_.state(), "transform": self.transform_.state()}

    def _load(self, directory: Path, spec: dict[str, Any]) -> None:
        import xgboost

        self.booster_ = xgboost.Booster()
        self.booster_.load_model(str(directory / _MODEL_FILE))
        self.booster_.set_param({"nthread": int(self.params["n_jobs"])})
        self.scaler_ = TargetScaler(**spec["state"]["scaler"])
        # Specs written before target transforms existed fitted the targets as they were.
        self.transform_ = LogErrorTransform(**spec["state"].get("transform", {"ceiling": None}))


def top_weights(y: np.ndarray, params: dict[str, Any]) -> np.ndarray | None:
    """Sample weights ``1 + top_weight * q ** top_power``, ``q`` the rank quantile of ``y`` (0 the
    lowest, 1 the highest); None (equal weights) when ``top_weight`` is 0.

    Why: a search ends at the top of the ranking, where a model fitted with equal weights
    spends few splits (the top 1 % is 156 of NB201's 15,625 rows); weighting by rank moves
    the fit there without changing the target's scale. Ranks, not values, so the weights
    do not depend on the unit or on how far the failed architectures spread.

    Raises:
        PredictorError: a negative ``top_weight`` or ``top_power``.
    """
    weight, power = float(params.get("top_weight", 0.0)), float(params.get("top_power", 4.0))
    if weight < 0 or power < 0:
        raise PredictorError(f"predictor 'xgb': top_weight and top_power must be >= 0, got {weight}, {power}")
    if weight == 0 or len(y) < 2:
        return None
    from scipy.stats import rankdata

    q = (rankdata(y, method="average") - 1) / (len(y) - 1)
    return 1.0 + weight * q**power


class LogErrorTransform:
    """Accuracies fitted as log errors: ``z = -log(ceiling - y)``, ``ceiling`` just above 100
    (percent) or 1 (fraction).

    Why: NAS accuracies bunch up below the maximum while the failures spread far
    below; on the log error the trees spend their splits on the near-best
    architectures, whose ranking is what a search needs (Kendall tau +0.006 at 100
    and at 1,000 NB201 training architectures with the defaults, +0.017 with depth
    3). The map is monotone, so ranks are kept, and it is inverted exactly at
    prediction. ``ceiling=None`` is the identity.
    """

    MARGIN = 0.005  # relative headroom above the maximum, so that a perfect score stays finite

    def __init__(self, ceiling: float | None = None):
        self.ceiling = None if ceiling is None else float(ceiling)

    @classmethod
    def choose(cls, kind: str, y: np.ndarray) -> LogErrorTransform:
        """``"none"``; ``"log_error"`` (needs targets in [0, 100]); ``"auto"``: log error when
        the targets look like accuracies (all in [0, 100]), identity otherwise (times, latencies).

        Raises:
            PredictorError: an unknown kind, or ``"log_error"`` with targets outside [0, 100].
        """
        if kind not in ("auto", "log_error", "none"):
            raise PredictorError(
                f"predictor 'xgb': target_transform must be auto, log_error or none, got {kind!r}"
            )
        accuracy_like = bool(np.all((y >= 0) & (y <= 100)))
        if kind == "log_error" and not accuracy_like:
            raise PredictorError("predictor 'xgb': target_transform 'log_error' needs targets in [0, 100]")
        if kind == "none" or not accuracy_like:
            return cls(None)
        top = 1.0 if float(np.max(y)) <= 1.0 else 100.0
        return cls(top * (1.0 + cls.MARGIN))

    def forward(self, y: np.ndarray) -> np.ndarray:
        """Targets to model units."""
        return y if self.ceiling is None else -np.log(self.ceiling - y)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Model units back to targets."""
        return z if self.ceiling is None else self.ceiling - np.exp(-z)

    def state(self) -> dict[str, float | None]:
        """JSON-able form."""
        return {"ceiling": self.ceiling}


def boost(params: dict[str, Any], data: Any, rounds: int) -> Any:
    """``xgboost.train(params, data, rounds)``'s model, byte for byte, by its own loop without the
    callback container: with no evaluation sets that still evaluated an empty list after every
    round (a sixth of a small fit).

    Unlike ``xgboost.train``, it does not ``reset()`` the booster at the end: the reset, which
    only releases the training caches, cost a sixth of a model-based search's fits (200 rounds
    on up to 150 rows); the caches (the binned training data) go with the booster instead.
    """
    import xgboost

    booster = xgboost.Booster(params, [data])
    if rounds:
        booster.update(data, iteration=0)  # checks the data and gives the model its feature names
    one_round = _one_round(booster, data)
    for iteration in range(1, rounds):
        one_round(iteration)
    return booster


def _one_round(booster: Any, data: Any) -> Callable[[int], None]:
    """One boosting round of ``booster`` on ``data``: the library's own C call, which
    ``Booster.update`` makes after checking the data's feature names and types again (a fifth
    of a small fit's time, the same check every round); ``Booster.update`` where the C entry
    point is not where this version of the library keeps it."""
    import ctypes

    try:
        from xgboost.core import _LIB, _check_call

        update_one = _LIB.XGBoosterUpdateOneIter
        handles = (booster.handle, data.handle)
    except (ImportError, AttributeError):
        return lambda iteration: booster.update(data, iteration=iteration)
    return lambda iteration: _check_call(update_one(handles[0], ctypes.c_int(iteration), handles[1]))
