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
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    # Scratch space for the elementwise updates: in place, they round exactly as the library's
    # expressions do (the same operations on the same operands), without an array per operation.
    scratch = [(np.empty_like(p), np.empty_like(p)) for p in params]
    last = len(coefs) - 1
    sample_idx = np.arange(n, dtype=int)
    starts = list(range(0, n, batch_size))
    t = 0
    for _ in range(epochs):
        order = np.arange(n)
        rs.shuffle(order)
        sample_idx = np.take(sample_idx, order, axis=0)
        for start in starts:
            batch_idx = sample_idx[start : min(start + batch_size, n)]
            x_batch = np.take(x, batch_idx, axis=0)
            y_batch = y[batch_idx]
            m = x_batch.shape[0]
            activations = [x_batch]
            for k in range(len(coefs)):
                h = activations[k] @ coefs[k]
                h += intercepts[k]
                if k != last:
                    np.maximum(h, 0, out=h)
                activations.append(h)
            grads: list[np.ndarray] = [None] * len(params)  # type: ignore[list-item]
            delta = activations[-1] - y_batch
            for k in range(last, -1, -1):
                if k != last:
                    delta = delta @ coefs[k + 1].T
                    delta[activations[k + 1] == 0] = 0
                grad = activations[k].T @ delta
                decay = scratch[k][0]
                np.multiply(coefs[k], alpha, out=decay)
                grad += decay
                grad /= m
                grads[k] = grad
                grads[len(coefs) + k] = np.sum(delta, axis=0) / m
            t += 1
            rate = learning_rate * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
            for p, g, mo, v, (a, b) in zip(params, grads, ms, vs, scratch):
                mo *= BETA_1  # mo = BETA_1 * mo + (1 - BETA_1) * g
                np.multiply(g, 1 - BETA_1, out=a)
                mo += a
                v *= BETA_2  # v = BETA_2 * v + (1 - BETA_2) * g**2
                np.square(g, out=a)
                a *= 1 - BETA_2
                v += a
                np.sqrt(v, out=b)  # p += -rate * mo / (sqrt(v) + EPSILON)
                b += EPSILON
                np.multiply(mo, -rate, out=a)
                a /= b
                p += a
    return coefs, intercepts
