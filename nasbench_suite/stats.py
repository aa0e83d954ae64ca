"""Statistics the project reports, one copy of each: mean and standard error, ranks, Holm's
correction, Welch's and Wilcoxon's tests, Friedman's test and the Nemenyi critical difference,
rank correlations with bootstrap intervals, and the
seed-vs-seed rank correlation that bounds what any predictor of single runs can reach.

The ground floor: numpy and scipy only (scipy imported where used). Every figure a
leaderboard, surrogate report, validation report or model card shows is computed here,
so two reports never disagree on what "s.e." or "Holm-corrected" means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Literal

import numpy as np

#: Significance level of every test the project reports (leaderboards, model cards).
ALPHA = 0.05


# --- location and spread --------------------------------------------------------------


def mean_se(values: Sequence[float] | np.ndarray, *, in_order: bool = False) -> tuple[float, float]:
    """Mean and standard error of the mean (sample std, ``ddof=1``, over sqrt(n)).

    Non-finite values are left out; the mean is NaN without values, the s.e. NaN
    below two.

    Args:
        values: the sample.
        in_order: sum left to right as Python's ``sum`` does and take the s.e. as
            ``sqrt(sum of squares / (n - 1) / n)``, instead of numpy's pairwise sum and
            ``std / sqrt(n)``. The two agree to the last bit or two; the agreement figures
            of the model cards (``agreement.json``) were published with the first, every
            other report with the second, and each keeps its own so that regenerated
            files do not change.
    """
    if in_order:
        finite = [float(v) for v in values if math.isfinite(v)]
        n = len(finite)
        if n == 0:
            return math.nan, math.nan
        mean = sum(finite) / n
        se = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1) / n) if n > 1 else math.nan
        return mean, se
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan
    se = float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    return float(np.mean(x)), se


def standard_error(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Standard error of the mean along ``axis`` (``ddof=1``); zeros below two values (a plot's band).

    Args:
        values: (n, ...) samples along ``axis``, all finite (a regret curve per run on a grid).
    """
    n = values.shape[axis]
    if n < 2:
        return np.zeros_like(values.mean(axis=axis))
    return values.std(axis=axis, ddof=1) / np.sqrt(n)


def mean_or_nan(values: Sequence[float]) -> float:
    """``np.mean`` of ``values`` (a NaN among them makes it NaN), or NaN for no values."""
    return float(np.mean(values)) if len(values) else math.nan


# --- ranks ----------------------------------------------------------------------------


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


# --- tests ----------------------------------------------------------------------------


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, in the order given (step-down, monotone, capped at 1).

    NaNs stay NaN and do not count towards the family size; ties keep their given order.
    """
    p = np.asarray(p_values, float)
    out = np.full(len(p), np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        # The i-th smallest p is multiplied by (m - i), kept monotone.
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def welch_p(mean_a: float, se_a: float, n_a: int, mean_b: float, se_b: float, n_b: int) -> float:
    """Two-sided p-value of Welch's t-test of two groups given their mean, s.e. and size.

    Identical to ``scipy.stats.ttest_ind(x, y, equal_var=False)`` on the raw values (the
    s.e. times sqrt(n) is the sample std), so saved summaries can be re-tested. NaN when
    either group has fewer than two values or a non-finite s.e.; with no spread in either
    group, 1 for equal means and 0 otherwise.
    """
    from scipy.stats import ttest_ind_from_stats

    if n_a < 2 or n_b < 2 or not (math.isfinite(se_a) and math.isfinite(se_b)):
        return math.nan
    if se_a == 0 and se_b == 0:
        return 1.0 if mean_a == mean_b else 0.0
    result = ttest_ind_from_stats(
        mean_a, se_a * math.sqrt(n_a), n_a, mean_b, se_b * math.sqrt(n_b), n_b, equal_var=False
    )
    return float(result.pvalue)


def wilcoxon_vs_reference(scores: Mapping[str, np.ndarray], reference: str) -> dict[str, tuple[float, float]]:
    """Paired two-sided Wilcoxon signed-rank test of each entry against ``reference``.

    Args:
        scores: name -> (n_seeds,) scores paired by seed (e.g. final regret).
        reference: the entry compared against (e.g. the best strategy, or random search).

    Returns:
        name -> (p-value, Holm-corrected p-value) over the comparisons with
        ``reference`` (``reference`` itself gets NaN). Pairs with a NaN on either side
        are left out; identical samples give p = 1.
    """
    from scipy.stats import wilcoxon

    names = [n for n in scores if n != reference]
    raw = []
    for name in names:
        a, b = np.asarray(scores[name], float), np.asarray(scores[reference], float)
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
    out[reference] = (math.nan, math.nan)
    return out


def nemenyi_critical_difference(k: int, n_blocks: int, alpha: float = ALPHA) -> float:
    """The Nemenyi critical difference of average ranks (Demsar, JMLR 2006, section 3.2.2):
    two of ``k`` entries ranked on ``n_blocks`` blocks differ at level ``alpha`` when their
    average ranks differ by more than ``q_alpha * sqrt(k (k + 1) / (6 n_blocks))``, where
    ``q_alpha`` is the studentized range quantile (infinite degrees of freedom) over sqrt(2)
    (1.960 for k = 2, 2.343 for 3, 3.164 for 10, as Demsar's table). NaN for k < 2 or no block."""
    from scipy.stats import studentized_range

    if k < 2 or n_blocks < 1:
        return math.nan
    q_alpha = float(studentized_range.ppf(1.0 - alpha, k, np.inf)) / math.sqrt(2.0)
    return q_alpha * math.sqrt(k * (k + 1) / (6.0 * n_blocks))


def friedman_p(ranks: np.ndarray) -> float:
    """Friedman's test (scipy's, tie-corrected) that all entries rank alike, from per-block
    ranks or scores ``(n_blocks, k)``; NaN for fewer than 3 entries or 2 blocks, or no spread."""
    from scipy.stats import friedmanchisquare

    ranks = np.asarray(ranks, float)
    if ranks.ndim != 2 or ranks.shape[1] < 3 or ranks.shape[0] < 2:
        return math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(friedmanchisquare(*ranks.T).pvalue)


def critical_difference_groups(avg_ranks: Sequence[float], cd: float) -> list[tuple[int, ...]]:
    """The bars of a critical-difference diagram: maximal runs of entries, in order of average
    rank, whose ranks lie within ``cd`` of each other (no significant difference inside a run).
    Runs of a single entry are left out. Indices refer to ``avg_ranks``."""
    order = [int(i) for i in np.argsort(np.asarray(avg_ranks, float), kind="stable")]
    ranks = [float(avg_ranks[i]) for i in order]
    groups: list[tuple[int, ...]] = []
    furthest = -1
    for start in range(len(order)):
        end = start
        while end + 1 < len(order) and ranks[end + 1] - ranks[start] <= cd:
            end += 1
        if end > start and end > furthest:  # not inside a run already found
            groups.append(tuple(order[start : end + 1]))
            furthest = end
    return groups


# --- rank correlations ----------------------------------------------------------------


def rank_correlations(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_bootstrap: int = 0,
    rng: np.random.Generator | None = None,
    quantiles: tuple[float, float] = (0.05, 0.95),
) -> dict[str, float | tuple[float, float]]:
    """Kendall tau and Spearman rho of ``x`` and ``y``, with a bootstrap interval of tau.

    Args:
        x, y: ``(n,)`` paired values (e.g. trained and predicted accuracy).
        n_bootstrap: resamples (pairs drawn with replacement) of the interval; 0 for none.
        rng: generator of the resamples (needed when ``n_bootstrap > 0``).
        quantiles: of the resampled taus, the interval's ends (default: a 90 % interval).

    Returns:
        ``{"kendall_tau", "spearman", "kendall_tau_interval": (low, high)}``: NaN below two
        pairs (the interval below three, or without resamples); resamples whose tau is
        undefined (all ties) are left out.
    """
    from scipy.stats import kendalltau, spearmanr

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    tau = rho = math.nan
    interval = (math.nan, math.nan)
    if len(x) >= 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            tau = float(kendalltau(x, y).statistic)
            rho = float(spearmanr(x, y).statistic)
    if len(x) >= 3 and n_bootstrap > 0:
        if rng is None:
            raise ValueError("rank_correlations: n_bootstrap > 0 needs rng=numpy.random.Generator")
        draws = []
        for _ in range(n_bootstrap):
            idx = rng.integers(len(x), size=len(x))
            with np.errstate(invalid="ignore", divide="ignore"):
                draws.append(kendalltau(x[idx], y[idx]).statistic)
        finite = np.asarray(draws, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        if len(finite):
            interval = (float(np.quantile(finite, quantiles[0])), float(np.quantile(finite, quantiles[1])))
    return {"kendall_tau": tau, "spearman": rho, "kendall_tau_interval": interval}


def seed_vs_seed(
    values: np.ndarray,
    present: np.ndarray,
    *,
    method: Literal["kendall", "spearman"] = "kendall",
    min_common: int = 2,
    skip_undefined: bool = False,
) -> float:
    """How well one training seed ranks architectures against another: the seed-noise ceiling.

    The rank correlation of every pair of seed columns on the architectures that have
    both, averaged over the pairs. No predictor of single runs can be expected to rank
    better than one run of the same training ranks another.

    Args:
        values: ``(n_archs, n_seeds)`` per-seed results.
        present: ``(n_archs, n_seeds)`` bool, which results count.
        method: Kendall's tau or Spearman's rho.
        min_common: pairs of seeds sharing fewer architectures are left out.
        skip_undefined: leave out pairs whose correlation is undefined (NaN, e.g. all
            ties); otherwise such a pair makes the average NaN.

    Returns:
        The mean over the counted pairs, NaN if none counts.
    """
    from scipy.stats import kendalltau, spearmanr

    correlation = kendalltau if method == "kendall" else spearmanr
    pairs = []
    for a, b in combinations(range(values.shape[1]), 2):
        both = present[:, a] & present[:, b]
        if both.sum() >= min_common:
            with np.errstate(invalid="ignore", divide="ignore"):
                pairs.append(correlation(values[both, a], values[both, b]).statistic)
    if skip_undefined:
        pairs = [p for p in pairs if np.isfinite(p)]
    return mean_or_nan(pairs)
