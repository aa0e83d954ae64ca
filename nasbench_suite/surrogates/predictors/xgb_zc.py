"""XGBoost on zero-cost proxies as features: with the architecture encoding, or alone.

``get("xgb-zc", space, values={space.key(arch): [proxy values]})`` appends the proxy vector
of each architecture to ``xgb``'s encoding (``features="encoding+proxies"``, the default) or
uses it alone (``features="proxies"``, registered as ``xgb-zc-only``): the comparison of
White et al., "How Powerful are Performance Predictors in NAS?" (NeurIPS 2021) and
NAS-Bench-Suite-Zero (Krishnakumar et al. 2022; Kendall tau about 0.79 on NB201 from the
proxies alone at 400 training architectures). Everything else (trees, target transform,
saving) is :class:`~nasbench_suite.surrogates.predictors.xgb.XGBPredictor`'s.

An architecture without proxy values (absent from ``values``, or a NaN entry: NB201's
architectures with a dead path are not in the published proxy files) gets NaN features,
which XGBoost sends down each split's learnt default branch; the harness
(``evaluate_table(proxies=...)``) evaluates on the architectures that have every proxy, so
that the three feature sets are compared on the same architectures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite._schema import Float, Map, SchemaViolation, Seq, Str, parse_json
from nasbench_suite.surrogates.predictors.base import PredictorError
from nasbench_suite.surrogates.predictors.xgb import XGBPredictor

_VALUES_FILE = "proxy_values.json"
FEATURE_SETS = ("encoding+proxies", "proxies")


class XGBProxyPredictor(XGBPredictor):
    """``xgb`` on the encoding plus a vector of proxy values per architecture (or the vector alone)."""

    name = "xgb-zc"
    defaults: ClassVar[dict[str, Any]] = {
        **XGBPredictor.defaults,
        "values": None,
        "features": FEATURE_SETS[0],
    }
    #: What the evaluation harness passes as ``values``: one vector of proxies per architecture.
    proxy_input: ClassVar[str] = "vector"

    def __init__(self, space: Any, seed: int = 0, **params: Any):
        super().__init__(space, seed, **params)
        if self.params["features"] not in FEATURE_SETS:
            raise PredictorError(
                f"predictor {self.name!r}: features must be one of {', '.join(FEATURE_SETS)}, "
                f"got {self.params['features']!r}"
            )
        values = self.params["values"]
        if not isinstance(values, Mapping) or not values:
            raise PredictorError(
                f"predictor {self.name!r} needs values={{space.key(arch): [proxy values]}} (not empty)"
            )
        try:
            rows = {str(k): np.asarray(v, dtype=np.float64).reshape(-1) for k, v in values.items()}
        except (TypeError, ValueError):
            raise PredictorError(f"predictor {self.name!r}: proxy values must be numbers") from None
        widths = {len(v) for v in rows.values()}
        if len(widths) != 1 or 0 in widths:
            raise PredictorError(f"predictor {self.name!r}: every architecture needs as many proxy values")
        self.values = rows
        self.n_proxies = widths.pop()

    def _proxies(self, archs: Sequence[Any]) -> np.ndarray:
        missing = np.full(self.n_proxies, math.nan)
        return np.stack([self.values.get(self.space.key(a), missing) for a in archs])

    def _features(self, archs: Sequence[Any]) -> np.ndarray:
        proxies = self._proxies(archs)
        if self.params["features"] == "proxies":
            return proxies
        return np.hstack([self._encode(archs), proxies])

    def _encode_for_predict(self, archs: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
        self._check_fitted()
        values = self._check_archs(archs)
        return values, self._features(values)

    def _encode_for_fit(self, archs: Sequence[Any]) -> np.ndarray:
        return self._features(archs)

    def _params_for_spec(self) -> dict[str, Any]:
        # The proxy table goes to its own file; the spec keeps the settings only.
        return {k: v for k, v in self.params.items() if k != "values"}

    def _save(self, directory: Path) -> tuple[list[str], dict[str, Any]]:
        files, state = super()._save(directory)
        # JSON has no NaN: a missing proxy value is written as null.
        table = {k: [None if math.isnan(x) else float(x) for x in v] for k, v in self.values.items()}
        _atomic.write_text(directory / _VALUES_FILE, json.dumps(table, sort_keys=True))
        return [*files, _VALUES_FILE], state

    @classmethod
    def check_spec(cls, spec: dict[str, Any]) -> None:
        params = dict(spec.get("params") or {})
        if params.pop("features", FEATURE_SETS[0]) not in FEATURE_SETS:
            raise PredictorError(f"predictor {cls.name!r}: saved spec: unknown features")
        super().check_spec({**spec, "params": params})

    @classmethod
    def _rebuild(cls, space: Any, directory: Path, spec: dict[str, Any]) -> XGBPredictor:
        try:
            raw = parse_json((directory / _VALUES_FILE).read_bytes(), max_bytes=1 << 30, max_depth=2)
            schema = Map(Seq(Float(nullable=True), max_len=10_000), key=Str(max_len=10_000), max_items=10**8)
            schema.check(raw, _VALUES_FILE)
        except SchemaViolation as exc:
            raise PredictorError(f"predictor {cls.name!r}: {directory / _VALUES_FILE}: {exc}") from None
        values = {k: [math.nan if x is None else x for x in v] for k, v in raw.items()}
        return super()._rebuild(space, directory, {**spec, "params": {**spec["params"], "values": values}})


class XGBProxyOnlyPredictor(XGBProxyPredictor):
    """``xgb-zc`` on the proxies alone (no architecture encoding)."""

    name = "xgb-zc-only"
    defaults: ClassVar[dict[str, Any]] = {**XGBProxyPredictor.defaults, "features": "proxies"}
