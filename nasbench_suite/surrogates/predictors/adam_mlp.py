"""scikit-learn's ``MLPRegressor`` training (Adam, ReLU, squared error), step for step in numpy.

BANANAS refits an ensemble of five small networks every ten results: about 2,000
Adam steps a run on 150 rows. In ``MLPRegressor.fit`` most of a step's time is
not arithmetic but the library's per-call checks (array namespaces, data-frame
detection, indexing helpers, configuration lookups): 85% of a BANANAS run. This
loop makes the same numpy calls on the same arrays in the same order (the same
``RandomState`` draws for the initial weights and each epoch's shuffle, the same
matrix products, updates and in-place operations), so the fitted weights are
bit-identical to the library's (``tests/test_adam_mlp.py`` holds it to that on
several shapes, batch sizes and seeds), in a fraction of the time.

What it leaves out never changes the weights: input validation (the caller passes
finite float64 arrays), the loss value (only used for early stopping, which the
caller turns off: ``n_iter_no_change`` equals the epochs) and warnings.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

#: MLPRegressor's Adam defaults.
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-8


def train(
    x: np.ndarray,
    y: np.ndarray,
    hidden: Sequence[int],
    *,
    alpha: float,
    batch_size: int,
    learning_rate: float,
    epochs: int,
    seed: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights and intercepts of ``MLPRegressor(hidden_layer_sizes=hidden, alpha=alpha,
    batch_size=batch_size, learning_rate_init=learning_rate, max_iter=epochs,
    n_iter_no_change=epochs, random_state=seed).fit(x, y)``.

    Args:
        x: ``(n, d)`` float64, C-contiguous.
        y: ``(n,)`` float64.
        hidden: units of each hidden layer.
        batch_size: rows per Adam step, ``1 <= batch_size <= n``.
    """
    rs = np.random.RandomState(seed)
    n = x.shape[0]
    y = y.reshape((-1, 1))
    units = [x.shape[1], *(int(h) for h in hidden), 1]
    coefs: list[np.ndarray] = []
    intercepts: list[np.ndarray] = []
    for fan_in, fan_out in itertools.pairwise(units):
        bound = np.sqrt(6.0 / (fan_in + fan_out))  # Glorot, the factor for ReLU
        coefs.append(rs.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rs.uniform(-bound, bound, fan_out))
    params = coefs + intercepts
    # The Adam state, the gradients and scratch space are each one flat array, with a view per
    # parameter: an elementwise update of the concatenation rounds every element exactly as the
    # library's per-array expressions do (the same operation on the same operands), in one call
    # instead of one per parameter. The parameters stay arrays of their own, as the library's are,
    # so that the matrix products see the same operands.
    bounds = np.cumsum([0, *(p.size for p in params)])
    n_coef = int(bounds[len(coefs)])  # the weights come first: only they take weight decay
    ms, vs, grads, a, b = (np.zeros(int(bounds[-1])) for _ in range(5))
    grad_views = [grads[lo:hi].reshape(p.shape) for p, lo, hi in zip(params, bounds[:-1], bounds[1:])]
    step_views = [a[lo:hi].reshape(p.shape) for p, lo, hi in zip(params, bounds[:-1], bounds[1:])]
    last = len(coefs) - 1
    sample_idx = np.arange(n, dtype=int)
    starts = list(range(0, n, batch_size))
    t = 0
    for _ in range(epochs):
        order = np.arange(n)
        rs.shuffle(order)
        sample_idx = sample_idx.take(order, axis=0)
        for start in starts:
            batch_idx = sample_idx[start : min(start + batch_size, n)]
            x_batch = x.take(batch_idx, axis=0)
            y_batch = y[batch_idx]
            m = x_batch.shape[0]
            activations = [x_batch]
            for k in range(len(coefs)):
                h = activations[k] @ coefs[k]
                h += intercepts[k]
                if k != last:
                    np.maximum(h, 0, out=h)
                activations.append(h)
            delta = activations[-1] - y_batch
            for k in range(last, -1, -1):
                if k != last:
                    delta = delta @ coefs[k + 1].T
                    delta[activations[k + 1] == 0] = 0
                grad_views[k][...] = activations[k].T @ delta
                np.multiply(coefs[k], alpha, out=step_views[k])
                np.divide(delta.sum(axis=0), m, out=grad_views[len(coefs) + k])
            # grad = (A.T @ delta + alpha * W) / m for the weights, sum(delta) / m for the intercepts
            grads[:n_coef] += a[:n_coef]
            grads[:n_coef] /= m
            t += 1
            rate = learning_rate * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
            ms *= BETA_1  # ms = BETA_1 * ms + (1 - BETA_1) * g
            np.multiply(grads, 1 - BETA_1, out=a)
            ms += a
            vs *= BETA_2  # vs = BETA_2 * vs + (1 - BETA_2) * g**2
            np.square(grads, out=a)
            a *= 1 - BETA_2
            vs += a
            np.sqrt(vs, out=b)  # p += -rate * ms / (sqrt(vs) + EPSILON)
            b += EPSILON
            np.multiply(ms, -rate, out=a)
            a /= b
            for p, step in zip(params, step_views):
                p += step
    return coefs, intercepts
