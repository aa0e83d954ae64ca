"""BANANAS warm-started from a source dataset (``bananas-warm``).

BANANAS (:mod:`nasbench_suite.search.bananas`) measures ``num_init`` random architectures
and then fits its ensemble on the target results alone. Warm-started
(:class:`~nasbench_suite.search._warm.WarmGuided`), its initial design is the source
dataset's best architectures (Feurer, Springenberg & Hutter, AAAI 2015: the initial design of
Bayesian optimisation from the best configurations of similar datasets), and its model is the
transferred predictor: the source accuracy as a prior, mapped affinely to the target, plus the
ensemble fitted on the residuals (the ``residual`` method of results/transfer/; the prior mean
of transfer BO, as in Perrone et al., NeurIPS 2018, and Salinas, Shen & Perrone, ICML 2020).
The ensemble's spread stays the uncertainty that independent Thompson sampling draws from.

Defaults: BANANAS's. The source is the runner's (``SearchContext.prior``; docs/protocol.md,
"Warm starts"), charged nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasbench_suite.search._warm import WarmGuided
from nasbench_suite.search.bananas import Bananas


class WarmBananas(WarmGuided, Bananas):
    """BANANAS with the source's best as initial design and the transferred predictor."""

    name: ClassVar[str] = "bananas-warm"
    defaults: ClassVar[dict[str, Any]] = dict(Bananas.defaults)
