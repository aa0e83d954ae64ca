"""Zero-cost proxy baseline: a proxy value per architecture, mapped affinely to the target.

``get("zc", space, values={key: proxy})`` with keys ``space.key(arch)`` (what a
table stores) and, e.g., a table's ``zc_synflow`` column. ``fit`` learns the
sign (Kendall tau of proxy and target on the training set) and a least-squares
affine map of the signed proxy; nothing else. Architectures without a finite
proxy value predict NaN.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite._schema import Float, Json, Map, Obj, SchemaViolation, Str, parse_json
from nasbench_suite.surrogates.predictors.base import Predictor, PredictorError

_VALUES_FILE = "values.json"


class ZeroCostPredictor(Predictor):
    """Affine map of a zero-cost proxy; std is the residual std of the fit on the
    training set (the same for every architecture)."""

    name = "zc"
    defaults: ClassVar[dict[str, Any]] = {"values": None}
    proxy_input: ClassVar[str | None] = "scalar"
    spec_schema = Obj(
        {
            "params": Map(Json()),
            "state": Obj(
                {"sign": Float(), "slope": Float(), "intercept": Float(), "residual_std": Float(lo=0.0)}
            ),
        }
    )

    def __init__(self, space: Any, seed: int = 0, **params: Any):
        super().__init__(space, seed, **params)
        values = self.params["values"]
        if not isinstance(values, Mapping) or not values:
            raise PredictorError(
                "predictor 'zc' needs values={space.key(arch): proxy value}, a non-empty mapping"
            )
        try:
            self.values = {str(k): float(v) for k, v in values.items()}
        except (TypeError, ValueError):
            raise PredictorError("predictor 'zc': proxy values must be numbers") from None

    def _proxy(self, archs: list[Any]) -> np.ndarray:
        return np.array([self.values.get(self.space.key(a), math.nan) for a in archs], dtype=np.float64)

    def fit(self, archs: Sequence[Any], y: Sequence[float] | np.ndarray) -> ZeroCostPredictor:
        """Learn the sign and the affine map on the architectures that have a proxy value.

        Raises:
            PredictorError: also when fewer than two training architectures have a
                finite proxy value.
        """
        from scipy.stats import kendalltau

        values, target = self._check_fit_input(archs, y)
        proxy = self._proxy(values)
        ok = np.isfinite(proxy)
        if ok.sum() < 2:
            raise PredictorError(
                f"predictor 'zc': {int(ok.sum())} of {len(values)} training architectures have a proxy "
                "value; at least 2 are needed"
            )
        tau = kendalltau(proxy[ok], target[ok])[0]
        self.sign_ = -1.0 if np.isfinite(tau) and tau < 0 else 1.0
        signed = self.sign_ * proxy[ok]
        if np.ptp(signed) > 0:
            slope, intercept = np.polyfit(signed, target[ok], 1)
            # A negative slope would undo the learnt sign; a flat map keeps the ranking honest.
            slope = max(float(slope), 0.0)
            if slope == 0.0:
                intercept = float(np.mean(target[ok]))
        else:
            slope, intercept = 0.0, float(np.mean(target[ok]))
        self.slope_, self.intercept_ = float(slope), float(intercept)
        self.residual_std_ = float(np.std(target[ok] - (self.slope_ * signed + self.intercept_)))
        self.fitted_ = True
        return self

    def predict_dist(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Mapped proxy values (NaN where absent) and the residual std, each ``(n,)``."""
        self._check_fitted()
        proxy = self._proxy(self._check_archs(archs))
        mean = self.slope_ * self.sign_ * proxy + self.intercept_
        std = np.where(np.isfinite(proxy), self.residual_std_, math.nan)
        return mean, std

    def _params_for_spec(self) -> dict[str, Any]:
        # The proxy table goes to its own file; the spec stays small.
        return {}

    def _save(self, directory: Path) -> tuple[list[str], dict[str, Any]]:
        _atomic.write_text(directory / _VALUES_FILE, json.dumps(self.values, sort_keys=True))
        state = {"sign": self.sign_, "slope": self.slope_, "intercept": self.intercept_}
        return [_VALUES_FILE], {**state, "residual_std": self.residual_std_}

    @classmethod
    def _rebuild(cls, space: Any, directory: Path, spec: dict[str, Any]) -> Predictor:
        try:
            values = parse_json((directory / _VALUES_FILE).read_bytes(), max_bytes=1 << 30, max_depth=1)
            Map(Float(), key=Str(max_len=10_000), max_items=10**8).check(values, _VALUES_FILE)
        except SchemaViolation as exc:
            raise PredictorError(f"predictor 'zc': {directory / _VALUES_FILE}: {exc}") from None
        return super()._rebuild(space, directory, {**spec, "params": {**spec["params"], "values": values}})

    def _load(self, directory: Path, spec: dict[str, Any]) -> None:
        state = spec["state"]
        self.sign_, self.slope_ = float(state["sign"]), float(state["slope"])
        self.intercept_, self.residual_std_ = float(state["intercept"]), float(state["residual_std"])
