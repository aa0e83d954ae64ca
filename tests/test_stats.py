"""The ground-floor statistics (nasbench_suite.stats) against direct computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp

from nasbench_suite.stats import mean_se, rank_correlations, seed_vs_seed, standard_error, welch_p


def test_mean_se_both_arithmetics_agree_closely_and_share_the_rules():
    rng = np.random.default_rng(0)
    x = rng.random(30) * 3
    fast, ordered = mean_se(x), mean_se(list(x), in_order=True)
    assert fast == pytest.approx(ordered, rel=1e-12)
    assert fast[1] == pytest.approx(np.std(x, ddof=1) / math.sqrt(30))
    for in_order in (False, True):
        assert all(math.isnan(v) for v in mean_se([], in_order=in_order))
        mean, se = mean_se([2.0, math.nan], in_order=in_order)
        assert mean == 2.0 and math.isnan(se)


def test_welch_from_summaries_equals_the_test_on_raw_values():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 12), rng.normal(0.8, 2, 7)
    summary = [(*mean_se(v), len(v)) for v in (a, b)]
    assert welch_p(*summary[0], *summary[1]) == pytest.approx(sp.ttest_ind(a, b, equal_var=False).pvalue)
    assert math.isnan(welch_p(1.0, 0.1, 1, 1.0, 0.1, 5))
    assert welch_p(1.0, 0.0, 3, 1.0, 0.0, 3) == 1.0 and welch_p(1.0, 0.0, 3, 2.0, 0.0, 3) == 0.0


def test_rank_correlations_and_their_bootstrap_interval():
    rng = np.random.default_rng(2)
    x = rng.random(50)
    y = x + rng.normal(0, 0.2, 50)
    r = rank_correlations(x, y, n_bootstrap=200, rng=np.random.default_rng(0))
    assert r["kendall_tau"] == pytest.approx(sp.kendalltau(x, y).statistic)
    assert r["spearman"] == pytest.approx(sp.spearmanr(x, y).statistic)
    low, high = r["kendall_tau_interval"]
    assert low < r["kendall_tau"] < high
    again = rank_correlations(x, y, n_bootstrap=200, rng=np.random.default_rng(0))
    assert again == r  # seeded: the same interval
    assert all(
        math.isnan(v)
        for v in rank_correlations(x[:2], y[:2], n_bootstrap=10, rng=rng)["kendall_tau_interval"]
    )
    with pytest.raises(ValueError, match="rng"):
        rank_correlations(x, y, n_bootstrap=10)


def test_seed_vs_seed_pairs_and_undefined_pairs():
    rng = np.random.default_rng(3)
    truth = rng.random(40)
    values = truth[:, None] + rng.normal(0, 0.05, (40, 3))
    present = np.ones_like(values, dtype=bool)
    pairs = [sp.kendalltau(values[:, a], values[:, b]).statistic for a, b in ((0, 1), (0, 2), (1, 2))]
    assert seed_vs_seed(values, present) == pytest.approx(np.mean(pairs))
    rho = [sp.spearmanr(values[:, a], values[:, b]).statistic for a, b in ((0, 1), (0, 2), (1, 2))]
    assert seed_vs_seed(values, present, method="spearman") == pytest.approx(np.mean(rho))
    # seed 2 is constant where it overlaps seed 0: that pair's tau is undefined
    values[:, 2] = 1.0
    present[:, 1] = False
    assert math.isnan(seed_vs_seed(values, present))
    assert math.isnan(seed_vs_seed(values, present, skip_undefined=True))  # no defined pair left
    present[:3, 1] = True
    assert seed_vs_seed(values, present, min_common=3, skip_undefined=True) == pytest.approx(
        sp.kendalltau(values[:3, 0], values[:3, 1]).statistic
    )
    assert math.isnan(seed_vs_seed(values, present, min_common=4, skip_undefined=True))


def test_standard_error_along_an_axis_matches_mean_se_per_column():
    values = np.random.default_rng(3).normal(size=(7, 4))
    se = standard_error(values, axis=0)
    assert se.shape == (4,)
    for j in range(4):
        assert se[j] == mean_se(values[:, j])[1]
    assert np.array_equal(standard_error(values[:1], axis=0), np.zeros(4))
