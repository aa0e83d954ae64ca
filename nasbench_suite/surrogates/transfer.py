"""Transfer of accuracy predictors from a source dataset to a target dataset of one table.

Protocol (docs/surrogates.md, "Transfer across datasets"): the architectures stored
with a finite accuracy on both datasets; the target's splits are the harness's
(:func:`~nasbench_suite.surrogates.evaluation.evaluate_predictors`, train size 0
admitted), so every method is scored on the same held-out architectures and their top
10 %. A method may read the *source* accuracy of every architecture (prior knowledge,
like a published table) but the target's only on its training set.

Methods (``TRANSFER_METHODS``):

- ``target-only``: the harness's default ``xgb`` on the target's training set (none at 0).
- ``zero-shot``: the source accuracy, mapped affinely to the target's scale by least
  squares on the training set (the ranking is the source's whatever the map).
- ``residual``: on the log-error scale (``-log(100.5 - accuracy)``, the scale of ``xgb``'s
  target transform), the affine map of the source as a prior, plus ``xgb`` fitted on the
  target's residuals from it (its own transform off: residuals are not accuracies).
- ``meta``: ABLR-style (Perrone et al., NeurIPS 2018): a representation learned on the
  source task(s), a per-task Bayesian linear head adapted on the target. The
  representation is the last hidden layer of a multi-output MLP trained on every source
  architecture (one output per source dataset). The target head, on the log-error
  scale, is ``a + b * source + phi . delta``: ``a`` and ``b`` fitted freely, ``delta`` a ridge
  shrunk to zero (the prior: the zero-shot ranking), its strength chosen by exact
  leave-one-out error on the training set; with fewer than 4 architectures, the
  strongest shrinkage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates import encodings
from nasbench_suite.surrogates.evaluation import EvaluationError, EvaluationResult, evaluate_predictors

TRANSFER_METHODS = ("target-only", "zero-shot", "residual", "meta")
#: Ridge strengths the meta head chooses from (features standardised, so relative to n).
RIDGE_GRID = tuple(10.0**k for k in range(0, 7))
#: Encoding of the meta representation's network.
META_ENCODING = "onehot+features+path_stats"
#: Hidden layers of the representation's network: the last one is the head's features, few so
#: that 10 target architectures can fit the head.
META_HIDDEN = (64, 8)
#: Epochs of the representation's network over every source architecture.
MLP_EPOCHS = 30


#: The head works on log errors ``-log(cap - accuracy)`` (accuracies in %), as ``xgb``'s target
#: transform does: it spreads the good architectures and squeezes the failures' tail, so
#: least squares weighs the ranking of the good ones (docs/surrogates.md, "Predictors").
LOG_ERROR_CAP = 100.5


def log_error(accuracy: np.ndarray) -> np.ndarray:
    """``-log(LOG_ERROR_CAP - accuracy)``: monotone, for accuracies in percent."""
    return -np.log(LOG_ERROR_CAP - np.minimum(np.asarray(accuracy, dtype=np.float64), LOG_ERROR_CAP - 1e-3))


def affine_map(source: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``(a, b)`` of ``y ~ a + b * source``; the identity below 2 points or
    when the source is constant on them; ``b`` kept >= 0 (the source ranks, it never inverts)."""
    if len(y) < 2 or np.ptp(source) == 0:
        return 0.0, 1.0
    b, a = np.polyfit(source, y, 1)
    return (float(a), float(b)) if b > 0 else (float(np.mean(y) - np.mean(source)), 1.0)


class SourcePrior:
    """The zero-shot method: the source accuracy mapped affinely (see the module docstring).

    Args:
        source: stored key -> source accuracy of every architecture.
    """

    def __init__(self, space: SearchSpace, source: Mapping[str, float]):
        self.space, self.source = space, source
        self.params: dict[str, Any] = {}
        self.map_ = (0.0, 1.0)

    def source_of(self, archs: Sequence[Any]) -> np.ndarray:
        keys = (a if isinstance(a, str) else self.space.key(a) for a in archs)
        return np.array([self.source[k] for k in keys], dtype=np.float64)

    def fit(self, archs: Sequence[Any], y: np.ndarray) -> SourcePrior:
        self.map_ = affine_map(self.source_of(archs), np.asarray(y, dtype=np.float64))
        return self

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        a, b = self.map_
        return a + b * self.source_of(archs)


class ResidualTransfer(SourcePrior):
    """The source prior plus ``xgb`` on the target's residuals from it."""

    def __init__(self, space: SearchSpace, source: Mapping[str, float], seed: int):
        super().__init__(space, source)
        self.seed = seed
        self.params = {"xgb": {"target_transform": "none"}}
        self.model_: Any = None
        self.log_map_ = (0.0, 1.0)

    def fit(self, archs: Sequence[Any], y: np.ndarray) -> ResidualTransfer:
        from nasbench_suite.surrogates import predictors

        super().fit(archs, y)
        y = np.asarray(y, dtype=np.float64)
        self.model_ = None
        if len(y) >= 2:
            self.log_map_ = affine_map(log_error(self.source_of(archs)), log_error(y))
            residual = log_error(y) - self._log_prior(archs)
            self.model_ = predictors.get("xgb", self.space, seed=self.seed, **self.params["xgb"])
            self.model_.fit(list(archs), residual)
        return self

    def _log_prior(self, archs: Sequence[Any]) -> np.ndarray:
        a, b = self.log_map_
        return a + b * log_error(self.source_of(archs))

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        if self.model_ is None:
            return super().predict(archs)
        return LOG_ERROR_CAP - np.exp(-(self._log_prior(archs) + self.model_.predict(list(archs))))


class SourceRepresentation:
    """A multi-output MLP fitted on every architecture's source accuracies; :meth:`features`
    is its last hidden layer, standardised over all architectures (no target label used).

    Args:
        keys: every stored key the features will be asked for.
        sources: ``(n, k)`` source accuracies of ``keys`` (one column per source dataset).
    """

    def __init__(self, space: SearchSpace, keys: Sequence[str], sources: np.ndarray, seed: int = 0):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor

        x = encodings.encode(space, list(keys), META_ENCODING).astype(np.float64)
        self.x_mean, self.x_std = x.mean(axis=0), x.std(axis=0) + 1e-8
        z = np.asarray(sources, dtype=np.float64).reshape(len(keys), -1)
        self.y_mean, self.y_std = z.mean(axis=0), z.std(axis=0) + 1e-8
        self.net = MLPRegressor(
            hidden_layer_sizes=META_HIDDEN,
            batch_size=min(256, len(keys)),
            max_iter=MLP_EPOCHS,
            learning_rate_init=1e-3,
            alpha=1e-4,
            random_state=int(seed) % 2**31,
            tol=0.0,
            n_iter_no_change=MLP_EPOCHS,
        )
        target = (z - self.y_mean) / self.y_std
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed epoch budget, by design
            self.net.fit((x - self.x_mean) / self.x_std, target[:, 0] if target.shape[1] == 1 else target)
        phi = self._hidden((x - self.x_mean) / self.x_std)
        self.phi_mean, self.phi_std = phi.mean(axis=0), phi.std(axis=0) + 1e-8
        self.index = {k: i for i, k in enumerate(keys)}
        self.phi = (phi - self.phi_mean) / self.phi_std

    def _hidden(self, x: np.ndarray) -> np.ndarray:
        h = x
        for w, b in zip(self.net.coefs_[:-1], self.net.intercepts_[:-1]):
            h = np.maximum(h @ w + b, 0.0)
        return h

    def features(self, space: SearchSpace, archs: Sequence[Any]) -> np.ndarray:
        return self.phi[[self.index[a if isinstance(a, str) else space.key(a)] for a in archs]]


class MetaTransfer(SourcePrior):
    """The ABLR-style head on a :class:`SourceRepresentation` (see the module docstring)."""

    def __init__(self, space: SearchSpace, source: Mapping[str, float], representation: SourceRepresentation):
        super().__init__(space, source)
        self.representation = representation
        self.params = {"hidden": list(META_HIDDEN), "encoding": META_ENCODING, "ridge_grid": list(RIDGE_GRID)}
        self.delta_: np.ndarray | None = None
        self.ridge_: float = float("inf")

    def _design(self, archs: Sequence[Any]) -> np.ndarray:
        prior = log_error(self.source_of(archs))
        return np.column_stack([np.ones(len(prior)), prior, self.representation.features(self.space, archs)])

    def fit(self, archs: Sequence[Any], y: np.ndarray) -> MetaTransfer:
        y = np.asarray(y, dtype=np.float64)
        super().fit(archs, y)
        self.delta_ = None
        if len(y) < 4:
            return self
        x, y = self._design(archs), log_error(y)
        best = (np.inf, None, np.inf)
        for ridge in RIDGE_GRID:
            penalty = np.full(x.shape[1], ridge)
            penalty[:2] = 1e-8  # intercept and source scale: free
            inverse = np.linalg.inv(x.T @ x + np.diag(penalty))
            w = inverse @ x.T @ y
            hat = np.einsum("ij,jk,ik->i", x, inverse, x)
            loo = np.mean(((y - x @ w) / np.maximum(1.0 - hat, 1e-6)) ** 2)
            if loo < best[0]:
                best = (loo, w, ridge)
        _, self.delta_, self.ridge_ = best
        return self

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        if self.delta_ is None:
            return super().predict(archs)
        return LOG_ERROR_CAP - np.exp(-(self._design(archs) @ self.delta_))


def transfer_factories(
    space: SearchSpace,
    keys: Sequence[str],
    source: np.ndarray,
    methods: Sequence[str] = TRANSFER_METHODS,
    seed: int = 0,
) -> dict[str, Callable[[SearchSpace, int], Any]]:
    """Harness factories (``factory(space, seed)``) of ``methods`` for one source.

    Args:
        keys: every architecture's stored key; ``source``: ``(n,)`` its source accuracy.

    Raises:
        EvaluationError: an unknown method.
    """
    from nasbench_suite.surrogates import predictors

    unknown = sorted(set(methods) - set(TRANSFER_METHODS))
    if unknown:
        raise EvaluationError(f"unknown transfer method(s) {unknown}; methods: {', '.join(TRANSFER_METHODS)}")
    lookup = dict(zip(keys, np.asarray(source, dtype=np.float64).tolist()))
    out: dict[str, Callable[[SearchSpace, int], Any]] = {}
    for method in methods:
        if method == "target-only":
            out[method] = lambda sp, s: predictors.get("xgb", sp, seed=s)
        elif method == "zero-shot":
            out[method] = lambda sp, s: SourcePrior(sp, lookup)
        elif method == "residual":
            out[method] = lambda sp, s: ResidualTransfer(sp, lookup, s)
        else:
            representation = SourceRepresentation(space, keys, source, seed=seed)
            out[method] = lambda sp, s, r=representation: MetaTransfer(sp, lookup, r)
    return out


def evaluate_transfer(
    space: SearchSpace,
    keys: Sequence[str],
    source: np.ndarray,
    y: np.ndarray,
    *,
    train_sizes: Sequence[int],
    trials: int,
    seed: int = 0,
    methods: Sequence[str] = TRANSFER_METHODS,
    progress: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """The harness on the target ``y`` for every method (``target-only`` from 2 architectures on).

    Raises:
        EvaluationError: from the harness or an unknown method.
    """
    factories = transfer_factories(space, keys, source, methods, seed)
    cold = {k: f for k, f in factories.items() if k == "target-only"}
    warm = {k: f for k, f in factories.items() if k != "target-only"}
    result = EvaluationResult()
    for group, low in ((warm, 0), (cold, 2)):
        sizes = [s for s in train_sizes if s >= low]
        if not group or not sizes:
            continue
        part = evaluate_predictors(
            space,
            keys,
            y,
            group,
            train_sizes=sizes,
            trials=trials,
            seed=seed,
            progress=progress,
            min_train_size=low,
        )
        result.trials += part.trials
        settings = result.settings or part.settings
        result.settings = {**settings, "models": list(factories), "train_sizes": sorted(set(train_sizes))}
        result.settings["model_params"] = {
            **settings.get("model_params", {}),
            **part.settings["model_params"],
        }
    return result
