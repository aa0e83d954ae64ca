"""The search strategies' own cost: ask + tell without a benchmark (no table, no queries).

Run the timings with:

    python -m pytest tests/benchmarks/test_strategy_speed.py --benchmark-enable --benchmark-group-by=group

In the fast suite (``--benchmark-disable``) each benchmark runs once, untimed.
Figures go to docs/strategies.md ("Cost of the strategies themselves").
"""

from __future__ import annotations

import pytest

from nasbench_suite import search, spaces
from nasbench_suite.search import SearchContext, TransferPrior
from tests.strategy_support import drive, objective

SPACE = spaces.get("nb201")


def ask_tell(name: str, n: int) -> None:
    strategy = search.get(name, SPACE, seed=0)
    for i in range(n):
        proposal = strategy.ask()
        strategy.tell(proposal, float(i % 97), 1.0)


@pytest.mark.benchmark(group="strategy: 1,000 ask + tell on NB201")
@pytest.mark.parametrize("name", ["random", "rea", "ga", "local-search", "reinforce"])
def test_ask_tell_1000(benchmark, name):
    benchmark(ask_tell, name, 1_000)


@pytest.mark.benchmark(group="strategy: 150 evaluations on NB201 (model-based)")
@pytest.mark.parametrize("name", ["bananas", "xgb-bo", "optuna-tpe"])
def test_model_based_150(benchmark, name):
    proposals = benchmark.pedantic(
        lambda: drive(search.get(name, SPACE, seed=0), 150), rounds=3, iterations=1, warmup_rounds=1
    )
    assert len(proposals) == 150


def _full_prior() -> TransferPrior:
    """A source dataset holding every NB201 architecture (the size of the runner's prior on NB201),
    scored by the driver's synthetic objective."""
    archs = list(SPACE.enumerate())
    return TransferPrior("synthetic", [SPACE.key(a) for a in archs], [objective(SPACE, a)[0] for a in archs])


@pytest.mark.benchmark(group="strategy: 150 evaluations on NB201, cold and warm-started")
@pytest.mark.parametrize("name", ["bananas", "bananas-warm", "xgb-bo", "xgb-bo-warm", "rea", "rea-warm"])
def test_warm_start_adds_no_per_step_cost(benchmark, name):
    """A warm start's prior is a lookup: its per-step cost is its cold counterpart's."""
    context = SearchContext(prior=_full_prior()) if search.strategy_class(name).warm_started else None
    proposals = benchmark.pedantic(
        lambda: drive(search.get(name, SPACE, seed=0, context=context), 150),
        rounds=3,
        iterations=1,
        warmup_rounds=1,
    )
    assert len(proposals) == 150
