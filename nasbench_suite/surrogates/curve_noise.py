"""Seed noise of learning curves: how one training run's curve differs from the seed-mean curve.

A run's curve of metric ``m`` is ``mean_m(e) + std_{m,e}(mean_m(e)) * z_m(e)``: the spread at
each epoch is the binned model of :mod:`~nasbench_suite.surrogates.noise` fitted on that
epoch's seed pairs, and ``z_m`` is a standard normal process over the epochs. Two things
make a sampled curve look like a curve rather than independent points:

- **across epochs**, ``z`` is a stationary AR(1) process in the epoch number:
  ``corr(z(e), z(e')) = rho ** |e - e'|`` (a run that is ahead at epoch 5 is still ahead at
  epoch 6, less so at epoch 12). ``rho`` is fitted by least squares to the correlation
  matrix of the table's standardised seed-pair differences;
- **across metrics**, the runs' valid and test accuracies come from the same weights, so
  ``z_m = r_m z_primary + sqrt(1 - r_m^2) z'_m`` with ``r_m`` the correlation of their
  standardised seed-pair differences (pooled over epochs), ``z'_m`` an independent AR(1).

The model is a few hundred numbers, saved inline in the artefact's manifest as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench_suite.surrogates.noise import NoiseModelError, SeedNoiseModel, fit_noise_model

#: Quantile bins per epoch: a table with ~50 seed pairs gets 10 pairs a bin.
CURVE_NOISE_BINS = 5


@dataclass(frozen=True)
class CurveNoiseModel:
    """Per-epoch seed spread of each metric with AR(1) correlation over epochs.

    Attributes:
        epochs: ``(E,)`` the epochs of the curves.
        metrics: metric names; the first is the primary (the others correlate with it).
        per_epoch: metric -> one :class:`SeedNoiseModel` per epoch.
        rho: lag-1 correlation of ``z`` over epochs, in [0, 1).
        correlation: metric -> correlation of its ``z`` with the primary's (1 for the primary).
        check: the figures of the fit (lag correlations, spreads), for the model card.
    """

    epochs: tuple[int, ...]
    metrics: tuple[str, ...]
    per_epoch: dict[str, tuple[SeedNoiseModel, ...]]
    rho: float
    correlation: dict[str, float]
    check: dict[str, Any] = field(default_factory=dict)

    def ar1(self, w: np.ndarray) -> np.ndarray:
        """The AR(1) process of independent standard normals ``w`` (``(..., E)``), same shape;
        each marginal stays standard normal."""
        w = np.asarray(w, dtype=np.float64)
        z = np.empty_like(w)
        z[..., 0] = w[..., 0]
        for k in range(1, w.shape[-1]):
            r = self.rho ** (self.epochs[k] - self.epochs[k - 1])
            z[..., k] = r * z[..., k - 1] + np.sqrt(1.0 - r * r) * w[..., k]
        return z

    def standard_draws(self, w: np.ndarray) -> dict[str, np.ndarray]:
        """Correlated draws per metric from independent normals ``w`` of shape ``(n, M, E)``."""
        primary = self.ar1(w[:, 0])
        out = {self.metrics[0]: primary}
        for j, name in enumerate(self.metrics[1:], start=1):
            r = self.correlation[name]
            out[name] = r * primary + np.sqrt(max(1.0 - r * r, 0.0)) * self.ar1(w[:, j])
        return out

    def sample(self, metric: str, mean: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``mean + std(mean) * z`` per epoch, clipped; ``mean`` and ``z`` are ``(n, E)``."""
        out = np.empty_like(np.asarray(mean, dtype=np.float64))
        for k, model in enumerate(self.per_epoch[metric]):
            out[:, k] = model.sample(mean[:, k], z[:, k])
        return out

    def std(self, metric: str, mean: np.ndarray) -> np.ndarray:
        """Per-seed standard deviation at ``mean`` (``(n, E)``), same shape."""
        return np.stack([m.std(mean[:, k]) for k, m in enumerate(self.per_epoch[metric])], axis=1)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "ar1-binned",
            "epochs": list(self.epochs),
            "metrics": list(self.metrics),
            "rho": float(self.rho),
            "correlation": {k: float(v) for k, v in self.correlation.items()},
            "per_epoch": {m: [model.to_json() for model in models] for m, models in self.per_epoch.items()},
            "check": self.check,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CurveNoiseModel:
        """Inverse of :meth:`to_json` (the manifest schema has checked the types).

        Raises:
            NoiseModelError: inconsistent epochs, metrics or correlations.
        """
        epochs = tuple(int(e) for e in data["epochs"])
        metrics = tuple(data["metrics"])
        per_epoch = {
            m: tuple(SeedNoiseModel.from_json(j) for j in data["per_epoch"].get(m, [])) for m in metrics
        }
        if not metrics or any(len(models) != len(epochs) for models in per_epoch.values()):
            raise NoiseModelError(
                "malformed curve noise model: one spread model per metric and epoch expected"
            )
        if set(data["correlation"]) != set(metrics) or any(abs(r) > 1 for r in data["correlation"].values()):
            raise NoiseModelError(
                "malformed curve noise model: one correlation in [-1, 1] per metric expected"
            )
        if list(epochs) != sorted(set(epochs)) or not 0.0 <= float(data["rho"]) < 1.0:
            raise NoiseModelError("malformed curve noise model: epochs must increase and 0 <= rho < 1")
        return cls(
            epochs, metrics, per_epoch, float(data["rho"]), dict(data["correlation"]), data.get("check", {})
        )


def _pair_differences(curves: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-minus-second present seed at every epoch, and the seed mean, for archs with 2+ runs:
    ``(P, E)`` each."""
    ok = present & np.isfinite(curves).all(axis=2)
    rows = np.flatnonzero(ok.sum(axis=1) >= 2)
    first_two = np.argsort(~ok[rows], axis=1, kind="stable")[:, :2]
    picked = np.take_along_axis(curves[rows], first_two[:, :, None], axis=1)
    mean = np.nanmean(np.where(ok[rows][:, :, None], curves[rows], np.nan), axis=1)
    return picked[:, 0] - picked[:, 1], mean


def fit_curve_noise(
    curves: dict[str, np.ndarray], present: np.ndarray, epochs: tuple[int, ...]
) -> CurveNoiseModel:
    """Fit the model from a table's curves.

    Args:
        curves: metric -> ``(N, S, E)`` per-seed curves (NaN where missing); the first
            metric is the primary.
        present: ``(N, S)`` bool, which runs exist.
        epochs: the ``E`` epochs.

    Raises:
        NoiseModelError: fewer than 10 architectures with two or more complete runs.
    """
    from scipy.optimize import minimize_scalar

    metrics = tuple(curves)
    per_epoch: dict[str, tuple[SeedNoiseModel, ...]] = {}
    standardised: dict[str, np.ndarray] = {}
    check: dict[str, Any] = {"metrics": {}}
    for name in metrics:
        values = curves[name]
        models = tuple(
            fit_noise_model(values[:, :, k], present, n_bins=CURVE_NOISE_BINS) for k in range(len(epochs))
        )
        per_epoch[name] = models
        diff, mean = _pair_differences(values, present)
        if len(diff) < 10:
            raise NoiseModelError(f"curve noise needs 10 archs with 2 complete runs; found {len(diff)}")
        # A difference of two runs has twice the per-run variance.
        scale = np.stack([m.std(mean[:, k]) for k, m in enumerate(models)], axis=1) * np.sqrt(2.0)
        standardised[name] = diff / np.where(scale > 0, scale, np.inf)
        check["metrics"][name] = {
            "n_pairs": len(diff),
            "table_diff_std": np.std(diff, axis=0).tolist(),
        }
    primary = standardised[metrics[0]]
    lags = np.abs(np.subtract.outer(np.asarray(epochs), np.asarray(epochs)))
    with np.errstate(invalid="ignore", divide="ignore"):
        empirical = np.corrcoef(primary, rowvar=False)
    upper = np.triu_indices(len(epochs), 1)
    ok = np.isfinite(empirical[upper])
    if ok.any():
        result = minimize_scalar(
            lambda r: float(np.sum((empirical[upper][ok] - r ** lags[upper][ok]) ** 2)),
            bounds=(0.0, 0.999),
            method="bounded",
        )
        rho = float(result.x)
    else:
        rho = 0.0
    correlation = {metrics[0]: 1.0}
    for name in metrics[1:]:
        a, b = primary.ravel(), standardised[name].ravel()
        both = np.isfinite(a) & np.isfinite(b)
        r = float(np.corrcoef(a[both], b[both])[0, 1]) if both.sum() > 2 else 0.0
        correlation[name] = float(np.clip(np.nan_to_num(r), -1.0, 1.0))
    by_lag = []
    for lag in sorted(set(lags[upper].tolist())):
        at = (lags[upper] == lag) & ok
        if at.any():
            model_r = float(np.mean(rho ** lags[upper][at]))
            by_lag.append({"lag": lag, "table": float(np.mean(empirical[upper][at])), "model": model_r})
    check["lag_correlation"] = by_lag
    return CurveNoiseModel(epochs, metrics, per_epoch, rho, correlation, check)
