"""Statistics of a leaderboard: mean and standard error, average ranks, Wilcoxon tests with Holm.

Strategies are compared on the same seeds, so tests are paired by seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def mean_se(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean (NaNs ignored; s.e. NaN below two values)."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan
    se = float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    return float(np.mean(x)), se


def ranks_per_seed(scores: np.ndarray) -> np.ndarray:
    """Rank of each column within each row (seed); rank 1 = lowest score, ties share, NaN last.

    Args:
        scores: (n_seeds, n_strategies), lower is better (regret).
    """
    from scipy.stats import rankdata

    scores = np.where(np.isnan(scores), np.inf, np.asarray(scores, float))
    return rankdata(scores, axis=1)


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """Average over the rows (seeds) of :func:`ranks_per_seed`: one figure per strategy."""
    return ranks_per_seed(scores).mean(axis=0)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaN stays NaN."""
    p = np.asarray(p_values, float)
    out = np.full(len(p), np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def wilcoxon_vs_best(scores: Mapping[str, np.ndarray], best: str) -> dict[str, tuple[float, float]]:
    """Paired two-sided Wilcoxon signed-rank test of each strategy against ``best``.

    Args:
        scores: strategy -> (n_seeds,) scores paired by seed (e.g. final regret).
        best: the strategy compared against.

    Returns:
        strategy -> (p-value, Holm-corrected p-value) over the comparisons with
        ``best`` (``best`` itself gets NaN). Identical samples give p = 1.
    """
    from scipy.stats import wilcoxon

    names = [n for n in scores if n != best]
    raw = []
    for name in names:
        a, b = np.asarray(scores[name], float), np.asarray(scores[best], float)
        ok = np.isfinite(a) & np.isfinite(b)
        diff = a[ok] - b[ok]
        if len(diff) == 0:
            raw.append(math.nan)
        elif np.all(diff == 0):
            raw.append(1.0)
        else:
            raw.append(float(wilcoxon(a[ok], b[ok], zero_method="wilcox").pvalue))
    adjusted = holm(raw)
    out = {name: (raw[i], float(adjusted[i])) for i, name in enumerate(names)}
    out[best] = (math.nan, math.nan)
    return out
