"""The MLP predictor's training loop gives scikit-learn's MLPRegressor weights, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite.surrogates.predictors import adam_mlp
from tests.benchmarks.test_model_based_speed import previous_mlp_train


@pytest.mark.parametrize(
    ("n", "d", "hidden", "batch_size", "epochs", "alpha", "learning_rate"),
    [
        (150, 56, [64, 64], 150, 30, 1e-4, 0.03),  # BANANAS's members: full batch
        (40, 4096, [64, 64], 40, 30, 1e-4, 0.03),  # the capped path encoding: mostly zero columns
        (37, 12, [16], 10, 7, 1e-3, 1e-3),  # mini-batches with a shorter last one
        (64, 5, [8, 8, 4], 32, 5, 0.0, 0.01),  # three hidden layers, no weight decay
        (2, 3, [4], 1, 3, 1e-4, 0.1),  # the smallest fit
    ],
)
@pytest.mark.parametrize("seed", [0, 12345])
def test_weights_are_bit_identical_to_mlpregressor(
    n, d, hidden, batch_size, epochs, alpha, learning_rate, seed
):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    x[:, 0] = (rng.random(n) < 0.3).astype(float)  # one-hot-like columns, as encodings give
    x[:, d // 2 :] = 0.0  # columns constant in the training data (standardised to zero)
    y = rng.normal(size=n)
    settings = {
        "alpha": alpha,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "epochs": epochs,
        "seed": seed,
    }
    coefs, intercepts = adam_mlp.train(x, y, hidden, **settings)
    # The reference is the loop the benchmark compares against: MLPRegressor.fit itself.
    ref_coefs, ref_intercepts = previous_mlp_train(x, y, hidden, **settings)
    assert len(coefs) == len(ref_coefs) == len(hidden) + 1
    for got, ref in zip([*coefs, *intercepts], [*ref_coefs, *ref_intercepts]):
        assert got.shape == ref.shape and got.dtype == ref.dtype
        assert np.array_equal(got, ref)  # exactly, not approximately
