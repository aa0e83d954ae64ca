"""Random forest (scikit-learn): std is the spread of the trees' predictions.

A fitted forest exists only as Python objects, and scikit-learn saves those only
by pickle, which this project never uses: ``save`` raises and names the
predictors that can be saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench_suite.surrogates.predictors.base import Predictor, PredictorError, child_seeds


class RandomForestPredictor(Predictor):
    """``RandomForestRegressor`` on a vector encoding; std across trees (ddof 0)."""

    name = "rf"
    graph_encoding: ClassVar[str] = "onehot+features+path_stats"
    defaults: ClassVar[dict[str, Any]] = {
        "encoding": "auto",
        "n_estimators": 200,
        "max_features": 0.5,
        "min_samples_leaf": 1,
        "n_jobs": 2,
    }

    def fit(self, archs: Sequence[Any], y: Sequence[float] | np.ndarray) -> RandomForestPredictor:
        """Fit the forest on architectures and targets."""
        from sklearn.ensemble import RandomForestRegressor

        values, target = self._check_fit_input(archs, y)
        x = self._encode(values)
        p = self.params
        self.forest_ = RandomForestRegressor(
            n_estimators=int(p["n_estimators"]),
            max_features=p["max_features"],
            min_samples_leaf=int(p["min_samples_leaf"]),
            n_jobs=int(p["n_jobs"]),
            random_state=child_seeds(self.seed, 1)[0],
        ).fit(x, target)
        self.fitted_ = True
        return self

    def predict_dist(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Mean over trees and their standard deviation, each ``(n,)``."""
        _, x = self._encode_for_predict(archs)
        per_tree = np.stack([tree.predict(x) for tree in self.forest_.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def _save(self, directory: Path) -> tuple[list[str], dict[str, Any]]:
        raise PredictorError(
            "predictor 'rf' cannot be saved: scikit-learn forests can only be pickled, and this "
            "project never pickles; use 'xgb' (XGBoost .ubj), 'mlp' or an 'ensemble' of them instead"
        )
