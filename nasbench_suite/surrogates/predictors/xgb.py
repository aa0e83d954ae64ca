"""Gradient-boosted trees (XGBoost): the default predictor.

Defaults are tuned for the tiny training sets of NAS (tens to thousands of
architectures): shallow trees, many rounds at a low learning rate and strong
row/column subsampling, on the one-hot encoding with dead ops masked plus
structural features (docs/surrogates.md, "Predictors", has the figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench_suite.surrogates import encodings
from nasbench_suite.surrogates.predictors.base import Predictor, TargetScaler, child_seeds

_MODEL_FILE = "model.ubj"


class XGBPredictor(Predictor):
    """XGBoost regressor on a vector encoding; ``predict_dist``'s std is zero (a single
    model has no spread: use ``get("ensemble", space, base="xgb")`` for one)."""

    name = "xgb"
    defaults: ClassVar[dict[str, Any]] = {
        "encoding": "onehot+features",
        "n_estimators": 600,
        "max_depth": 3,
        "learning_rate": 0.03,
        "subsample": 0.7,
        "colsample_bytree": 0.7,
        "min_child_weight": 1.0,
        "reg_lambda": 1.0,
        "n_jobs": 2,
    }

    def fit(self, archs: Sequence[Any], y: Sequence[float] | np.ndarray) -> XGBPredictor:
        """Fit on architectures and targets (see :meth:`Predictor.fit`)."""
        import xgboost

        values, target = self._check_fit_input(archs, y)
        x = encodings.encode(self.space, values, self.params["encoding"])
        self.scaler_ = TargetScaler.fit(target)
        p = self.params
        booster_params = {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "max_depth": int(p["max_depth"]),
            "learning_rate": float(p["learning_rate"]),
            "subsample": float(p["subsample"]),
            "colsample_bytree": float(p["colsample_bytree"]),
            "min_child_weight": float(p["min_child_weight"]),
            "reg_lambda": float(p["reg_lambda"]),
            "nthread": int(p["n_jobs"]),
            "seed": child_seeds(self.seed, 1)[0],
            "base_score": 0.0,
        }
        data = xgboost.DMatrix(x, label=self.scaler_.transform(target))
        self.booster_ = xgboost.train(booster_params, data, num_boost_round=int(p["n_estimators"]))
        self.fitted_ = True
        return self

    def predict_dist(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted means and zero standard deviations, each ``(n,)``."""
        self._check_fitted()
        values = self._check_archs(archs)
        x = encodings.encode(self.space, values, self.params["encoding"])
        mean = self.scaler_.inverse(self.booster_.inplace_predict(x))
        return mean, np.zeros(len(values))

    def _save(self, directory: Path) -> tuple[list[str], dict[str, Any]]:
        self.booster_.save_model(str(directory / _MODEL_FILE))
        return [_MODEL_FILE], {"scaler": self.scaler_.state()}

    def _load(self, directory: Path, spec: dict[str, Any]) -> None:
        import xgboost

        self.booster_ = xgboost.Booster()
        self.booster_.load_model(str(directory / _MODEL_FILE))
        self.booster_.set_param({"nthread": int(self.params["n_jobs"])})
        self.scaler_ = TargetScaler(**spec["state"]["scaler"])
