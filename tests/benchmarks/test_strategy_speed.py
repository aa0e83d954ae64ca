"""The search strategies' own cost: ask + tell without a benchmark (no table, no queries).

Run the timings with:

    python -m pytest tests/benchmarks/test_strategy_speed.py --benchmark-enable --benchmark-group-by=group

In the fast suite (``--benchmark-disable``) each benchmark runs once, untimed.
Figures go to docs/strategies.md ("Cost of the strategies themselves").
"""

from __future__ import annotations

import pytest

from nasbench_suite import search, spaces
from tests.strategy_support import drive

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
