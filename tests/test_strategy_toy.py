"""A quick synthetic check: REA, local search and the model-based strategies beat random
search on average on a toy objective over NB201 (no benchmark, no table)."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import search, spaces
from nasbench_suite.surrogates import encodings
from tests.strategy_support import drive, objective

SPACE = spaces.get("nb201")
# Toy accuracy: a fixed random weight per input-to-output op path (what makes NB201
# cells good or bad) plus the per-edge scores of strategy_support.objective.
_PATH_WEIGHTS = np.random.default_rng(7).normal(0.0, 1.0, encodings.encoding_size(SPACE, "path"))


def toy(space, arch, epoch=None) -> tuple[float, float]:
    path_score = float(encodings.encode(space, [arch], "path")[0] @ _PATH_WEIGHTS)
    return path_score + objective(space, arch)[0] / 20.0, 0.0


def mean_best(name: str, seeds: range, budget: int) -> float:
    """Mean over seeds of the best toy value found within ``budget`` evaluations."""
    best = []
    for seed in seeds:
        proposals = drive(search.get(name, SPACE, seed=seed), budget, workers=1, score=toy)
        best.append(max(toy(SPACE, arch)[0] for arch, _ in proposals))
    return float(np.mean(best))


@pytest.fixture(scope="module")
def random_search() -> float:
    return mean_best("random", range(20), 60)


@pytest.mark.parametrize(
    ("name", "n_seeds"), [("rea", 20), ("local-search", 20), ("bananas", 4), ("xgb-bo", 4)]
)
def test_beats_random_search_on_average(name, n_seeds, random_search):
    assert mean_best(name, range(n_seeds), 60) > random_search
