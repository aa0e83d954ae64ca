"""Speed of the encodings and of fitting the default predictor (figures in docs/surrogates.md).

    python -m pytest tests/benchmarks/test_predictor_speed.py --benchmark-enable

In the fast suite (``--benchmark-disable``) every benchmark runs once, untimed.
"""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.surrogates import encodings, predictors

SPACE = spaces.get("nb201")
ARCHS = list(SPACE.enumerate())


@pytest.mark.benchmark(group="encode")
def test_encode_all_nb201_cold(benchmark):
    """All 15,625 architectures, caches emptied before each round (the first encoding of a run)."""

    def setup():
        encodings.clear_caches()

    x = benchmark.pedantic(
        encodings.encode, args=(SPACE, ARCHS, "onehot+path+features+path_stats"), setup=setup, rounds=3
    )
    assert x.shape == (15_625, 147)


@pytest.mark.benchmark(group="fit")
@pytest.mark.parametrize("n_train", [100, 1000])
def test_fit_default_predictor(benchmark, n_train):
    """``predictors.get("xgb", space).fit`` on ``n_train`` random NB201 architectures (synthetic targets)."""
    rng = np.random.default_rng(0)
    archs = [ARCHS[i] for i in rng.choice(len(ARCHS), n_train, replace=False)]
    y = rng.uniform(80, 92, n_train)
    # Time the model, not the first encoding (of the class representatives the predictor encodes).
    encoding = str(predictors.get("xgb", SPACE).encoding)
    encodings.encode(SPACE, [SPACE.canonical(a) for a in archs], encoding)
    model = benchmark.pedantic(lambda: predictors.get("xgb", SPACE).fit(archs, y), rounds=3)
    assert model.predict(archs[:5]).shape == (5,)
