"""Successive halving and Hyperband on the epoch axis."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from nasbench_suite import search, spaces
from nasbench_suite.search import SearchContext, StrategyError
from tests.strategy_support import CURVE_CONTEXT, drive, objective


def test_hyperband_brackets_follow_li_et_al():
    hb = search.get("hyperband", "nb201", context=CURVE_CONTEXT)
    # R = 200, eta = 3, r_min = 1: s_max = 4; bracket s starts ceil(5 / (s + 1) * 3**s)
    # architectures at 200 * 3**-s epochs (rounded to the nearest epoch on a log scale).
    assert hb.s_max == 4
    assert hb.bracket(4) == ([3, 7, 22, 67, 200], [81, 27, 9, 3, 1])
    assert hb.bracket(2) == ([22, 67, 200], [15, 5, 1])
    assert hb.bracket(0) == ([200], [5])


def test_one_worker_runs_the_sequential_algorithm():
    hb = search.get("hyperband", "nb201", context=CURVE_CONTEXT)
    epochs = [e for _, e in drive(hb, 121 + 34)]
    # The whole first bracket (s = 4), then the first rung of the next one (s = 3, 34 at epoch 7).
    assert Counter(epochs[:121]) == {3: 81, 7: 27, 22: 9, 67: 3, 200: 1}
    assert epochs[121:] == [7] * 34


def test_promotions_are_the_best_of_the_rung():
    space = spaces.get("nb201")
    sh = search.get("sh", space, seed=2, context=CURVE_CONTEXT)
    proposals = drive(sh, 81 + 27)
    rung0 = sorted(proposals[:81], key=lambda p: -objective(space, p[0], p[1])[0])
    assert [space.key(a) for a, _ in proposals[81:]] == [space.key(a) for a, _ in rung0[:27]]
    assert all(e == 7 for _, e in proposals[81:])


def test_failed_results_are_never_promoted():
    space = spaces.get("nb201")
    sh = search.get("sh", space, seed=0, context=CURVE_CONTEXT)
    first = [sh.ask() for _ in range(81)]
    failed = {space.key(p.arch) for p in first[::2]}
    for i, p in enumerate(first):
        sh.tell(p, math.nan if i % 2 == 0 else objective(space, p.arch, p.epoch)[0], 1.0)
    promoted = [sh.ask() for _ in range(27)]
    assert all(p.epoch == 7 and space.key(p.arch) not in failed for p in promoted)


def test_rungs_snap_to_the_epochs_the_benchmark_offers():
    context = SearchContext(epochs=(1, 4, 12, 50, 200), max_epoch=200)
    sh = search.get("sh", "nb201", context=context)
    epochs, _ = sh.bracket(sh.s_max)
    assert set(epochs) <= set(context.epochs)
    assert epochs == sorted(set(epochs)) and epochs[-1] == 200


def test_waiting_brackets_make_a_new_bracket_start():
    sh = search.get("sh", "nb201", seed=0, context=SearchContext(epochs=(1, 3, 9), max_epoch=9))
    epochs, sizes = sh.bracket(sh.s_max)
    first = [sh.ask() for _ in range(sizes[0])]
    assert {p.epoch for p in first} == {epochs[0]}
    # Every rung-0 job of the first bracket is in flight: the next ask opens a second bracket.
    assert sh.ask().epoch == epochs[0]
    assert sh._brackets_opened == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [({"eta": 1}, "eta must be a number"), ({"min_epoch": 500}, "exceeds max_epoch")],
)
def test_bad_settings_are_refused(options, message):
    with pytest.raises(StrategyError, match=message):
        search.get("hyperband", "nb201", context=CURVE_CONTEXT, **options)
