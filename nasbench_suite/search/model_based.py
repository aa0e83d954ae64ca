"""Model-based search with a gradient-boosted-tree predictor (``xgb-bo``).

The predictor-guided loop of BANANAS (:class:`~nasbench_suite.search._guided.GuidedSearch`:
random start, refit every ``k`` results, candidates from mutations of the best,
no repeats) with the surrogates package's XGBoost predictor in place of the
neural ensemble, as in White et al., "How Powerful are Performance Predictors in
NAS?" (NeurIPS 2021), whose predictor-guided search runs every predictor in the
BANANAS framework and found tree-based predictors competitive. A single
boosted model has no spread, so the acquisition is greedy on the predicted mean
(``acquisition="mean"``); exploration comes from the random start and from the
candidates being fresh mutations each batch.

The trees are the predictor's defaults on the one-hot-plus-features encoding
(one-hot alone on spaces without a graph view),
with fewer, faster rounds (``n_estimators=200, learning_rate=0.1``) and one
thread: the model is refitted every ``k`` results and a fit must stay well
under a second.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasbench_suite.search._guided import GuidedSearch
from nasbench_suite.search.base import StrategyError

#: XGBoost settings (``nasbench_suite.surrogates.predictors.xgb``) used by default.
XGB_PARAMS: dict[str, Any] = {"n_estimators": 200, "learning_rate": 0.1, "n_jobs": 1}


class XGBoostSearch(GuidedSearch):
    """Predictor-guided search with XGBoost, greedy acquisition.

    Options (besides those of :class:`GuidedSearch`):
        encoding: architecture encoding of the trees (``"auto"``: one-hot plus structural
            features on a space with a graph view, one-hot otherwise; any vector kind of
            ``nasbench_suite.surrogates.encodings``).
        xgb_params: XGBoost predictor settings overriding :data:`XGB_PARAMS`.
    """

    name: ClassVar[str] = "xgb-bo"
    graph_encoding: ClassVar[str] = "onehot+features"
    defaults: ClassVar[dict[str, Any]] = {
        **GuidedSearch.shared_defaults,
        "acquisition": "mean",
        "encoding": "auto",
        "xgb_params": None,
    }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        extra = self.options["xgb_params"] or {}
        if not isinstance(extra, dict):
            raise StrategyError(f"strategy 'xgb-bo': xgb_params must be a mapping, got {extra!r}")
        self.xgb_params = {**XGB_PARAMS, **extra}
        # Built once now so that a bad setting fails at construction, not at the first fit.
        self.make_predictor(0)

    def make_predictor(self, seed: int) -> Any:
        """A new XGBoost predictor."""
        return self._predictor("xgb", seed, **self.xgb_params)
