"""XGBoost-guided search warm-started from a source dataset (``xgb-bo-warm``).

``xgb-bo`` (:mod:`nasbench_suite.search.model_based`) warm-started as ``bananas-warm`` is
(:class:`~nasbench_suite.search._warm.WarmGuided`): the source dataset's best architectures
as initial design (Feurer, Springenberg & Hutter, AAAI 2015), and as model the transferred
predictor of results/transfer/ (``residual``): the source accuracy mapped affinely to the target
on the log-error scale, plus the boosted trees fitted on the residuals (their own log-error
transform off: residuals are not accuracies). The acquisition stays greedy on the predicted mean.

Defaults: ``xgb-bo``'s. The source is the runner's (``SearchContext.prior``; docs/protocol.md,
"Warm starts"), charged nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasbench_suite.search._warm import WarmGuided
from nasbench_suite.search.model_based import XGBoostSearch


class WarmXGBoostSearch(WarmGuided, XGBoostSearch):
    """XGBoost BO with the source's best as initial design and the transferred predictor."""

    name: ClassVar[str] = "xgb-bo-warm"
    defaults: ClassVar[dict[str, Any]] = dict(XGBoostSearch.defaults)

    def make_residual_predictor(self, seed: int) -> Any:
        """The trees on raw residuals (the log-error transform is for accuracies)."""
        return self._predictor("xgb", seed, **{**self.xgb_params, "target_transform": "none"})
