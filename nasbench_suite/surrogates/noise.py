"""Seed noise: how much one training run differs from the seed mean, as a function of that mean.

The spread of NB201 runs is heteroscedastic: architectures that do not train
(about 10 % accuracy) barely vary, mid-range ones vary by a point or more, the
best ones by a few tenths. :class:`SeedNoiseModel` stores the per-seed standard
deviation in quantile bins of the seed mean and interpolates between bin
centres; a run is ``mean + std(mean) * z`` with ``z`` standard normal, clipped
to the metric's range. The model is a few dozen numbers, saved inline in the
surrogate manifest as JSON.

:func:`keyed_normals` gives the fixed draws a surrogate's answers use (keyed by dataset,
canonical architecture and seed or tag). :func:`noise_check` compares sampled seed-to-seed
differences with the table's (two-sample KS statistic and the std per accuracy bin): the
figures model cards show.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench_suite.errors import NasbenchError


class NoiseModelError(NasbenchError, ValueError):
    """Too few multi-seed architectures to fit a noise model, or a malformed saved model."""


@dataclass(frozen=True)
class SeedNoiseModel:
    """Per-seed standard deviation as a piecewise-linear function of the seed mean.

    Attributes:
        centres: ``(B,)`` increasing bin centres (median seed mean of each bin), metric units.
        stds: ``(B,)`` per-seed standard deviation in each bin (root of the mean unbiased
            per-architecture variance), metric units.
        low, high: range the sampled values are clipped to (``[0, 100]`` for accuracies in %).
    """

    centres: np.ndarray
    stds: np.ndarray
    low: float = 0.0
    high: float = 100.0

    def std(self, mean: np.ndarray | float) -> np.ndarray:
        """Per-seed standard deviation at ``mean`` (any shape), constant beyond the end bins."""
        return np.interp(np.asarray(mean, dtype=np.float64), self.centres, self.stds)

    def sample(self, mean: np.ndarray | float, z: np.ndarray | float) -> np.ndarray:
        """``mean + std(mean) * z`` clipped to ``[low, high]``; ``z`` standard normal draws
        broadcastable against ``mean``."""
        mean = np.asarray(mean, dtype=np.float64)
        return np.clip(mean + self.std(mean) * np.asarray(z, dtype=np.float64), self.low, self.high)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (floats as written by ``float.__repr__``: round-trips exactly)."""
        return {
            "kind": "binned-std",
            "centres": [float(c) for c in self.centres],
            "stds": [float(s) for s in self.stds],
            "low": float(self.low),
            "high": float(self.high),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SeedNoiseModel:
        """Inverse of :meth:`to_json`.

        Raises:
            NoiseModelError: unknown kind, or centres/stds of different lengths or not increasing.
        """
        if not isinstance(data, dict) or data.get("kind") != "binned-std":
            raise NoiseModelError(f"unknown noise model {data!r:.80}; expected kind 'binned-std'")
        try:
            centres = np.asarray(data["centres"], dtype=np.float64)
            stds = np.asarray(data["stds"], dtype=np.float64)
            low, high = float(data["low"]), float(data["high"])
        except (KeyError, TypeError, ValueError) as exc:
            raise NoiseModelError(f"malformed noise model: {exc}") from None
        if centres.ndim != 1 or centres.shape != stds.shape or len(centres) == 0:
            raise NoiseModelError("malformed noise model: centres and stds must be equal-length lists")
        if np.any(np.diff(centres) < 0) or np.any(stds < 0) or not np.all(np.isfinite(stds)):
            raise NoiseModelError("malformed noise model: centres must increase and stds be finite, >= 0")
        return cls(centres, stds, low, high)


def seed_stats(per_seed: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed mean, unbiased seed variance and run count per architecture.

    Args:
        per_seed: ``(N, S)`` metric values, NaN where missing.
        present: ``(N, S)`` bool, which runs exist.

    Returns:
        ``(mean, var, count)``, each ``(N,)``; ``var`` is NaN where fewer than 2 runs.
    """
    ok = present & np.isfinite(per_seed)
    values = np.where(ok, per_seed, 0.0)
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, values.sum(axis=1) / np.maximum(count, 1), np.nan)
        squares = np.where(ok, (per_seed - mean[:, None]) ** 2, 0.0).sum(axis=1)
        var = np.where(count >= 2, squares / np.maximum(count - 1, 1), np.nan)
    return mean, var, count


def fit_noise_model(
    per_seed: np.ndarray,
    present: np.ndarray,
    *,
    n_bins: int = 20,
    low: float = 0.0,
    high: float = 100.0,
) -> SeedNoiseModel:
    """Fit the binned per-seed spread from a table's per-seed array.

    Architectures with at least two runs are sorted by seed mean and split into
    ``n_bins`` bins of equal count; each bin's std is the root of the mean
    unbiased variance (unbiased for the bin's per-run variance whatever the
    number of seeds per architecture).

    Args:
        per_seed: ``(N, S)`` metric values (NaN where missing).
        present: ``(N, S)`` bool.
        n_bins: number of quantile bins (fewer when there are few architectures).
        low, high: clip range of sampled values.

    Raises:
        NoiseModelError: fewer than 10 architectures with two or more runs.
    """
    mean, var, _ = seed_stats(per_seed, present)
    ok = np.isfinite(var)
    if ok.sum() < 10:
        raise NoiseModelError(
            f"a noise model needs at least 10 architectures with 2 or more seeds; found {int(ok.sum())}"
        )
    order = np.argsort(mean[ok], kind="stable")
    m, v = mean[ok][order], var[ok][order]
    bins = np.array_split(np.arange(len(m)), max(1, min(n_bins, len(m) // 5)))
    centres = np.array([np.median(m[b]) for b in bins])
    stds = np.array([np.sqrt(np.mean(v[b])) for b in bins])
    return SeedNoiseModel(centres, stds, float(low), float(high))


def fit_decoupling_noise(
    value: np.ndarray,
    reference: np.ndarray,
    fitted_value: np.ndarray,
    fitted_reference: np.ndarray,
    *,
    n_bins: int = 20,
    low: float = 0.0,
    high: float = 100.0,
) -> SeedNoiseModel | None:
    """Per-architecture noise that gives a per-architecture metric back its independence from
    the reference metric.

    In a table, a per-architecture metric (``valid_acc_mean``, measured on another split
    or release) follows the reference accuracy (``test_acc``'s seed mean) only loosely;
    two models fitted on the same architectures predict both as smooth functions of the
    architecture, so their predictions agree far more closely, and a search that observes
    one and is scored on the other does better on the surrogate than on the table. The
    residual of ``value`` against a linear fit on ``reference`` has a larger spread in the
    table than in the fitted values; the missing spread, per quantile bin of
    ``fitted_value``, is this model's std (0 where the fitted values already spread as much).

    Args:
        value, reference: ``(N,)`` the table's values of the metric and of the reference.
        fitted_value, fitted_reference: ``(N,)`` the surrogate's fitted values of both.
        n_bins: number of quantile bins of ``fitted_value``.
        low, high: clip range of the perturbed values.

    Returns:
        The model, or None with fewer than 50 architectures where all four are finite.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in (value, reference, fitted_value, fitted_reference)]
    ok = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    if ok.sum() < 50:
        return None
    v, r, fv, fr = (a[ok] for a in arrays)
    slope, intercept = np.polyfit(r, v, 1)
    table_residual = v - (intercept + slope * r)
    fitted_residual = fv - (intercept + slope * fr)
    bins = np.array_split(np.argsort(fv, kind="stable"), max(1, min(n_bins, len(fv) // 25)))
    centres = np.array([np.median(fv[b]) for b in bins])
    stds = np.array([np.sqrt(max(np.var(table_residual[b]) - np.var(fitted_residual[b]), 0.0)) for b in bins])
    return SeedNoiseModel(centres, stds, float(low), float(high))


def fit_roughness(
    value: np.ndarray,
    fitted: np.ndarray,
    mean_var: np.ndarray | None = None,
    *,
    in_sample: np.ndarray | None = None,
    n_bins: int = 20,
    low: float = 0.0,
    high: float = 100.0,
) -> SeedNoiseModel | None:
    """Per-architecture roughness: the spread of the table around a surrogate's smooth fit.

    A tree ensemble predicts a smoother landscape than the table's (whose values also
    hold what no feature explains), so a model-guided search finds the optimum more
    easily on the surrogate. The spread of ``value - fitted`` per quantile bin of
    ``fitted``, less the part that is seed noise of the seed mean (``mean_var``: the
    surrogate adds seed noise to every run already), is the roughness; one fixed draw per
    architecture gives the landscape that roughness back without moving its expectation.

    The shipped model is fitted on every architecture, so its own predictions
    (``in_sample``) already hold part of that roughness: they depart from the held-out
    ones where the table does. With ``in_sample`` the draw gets only the part they lack
    (the variance of ``in_sample - fitted`` is subtracted per bin), so that the answers
    spread around the held-out fit as much as the table does, not more.

    Args:
        value: ``(N,)`` the table's values (seed means for per-seed metrics).
        fitted: ``(N,)`` the surrogate's predictions of them.
        mean_var: ``(N,)`` variance of each seed mean from seed noise (the per-seed
            variance over the number of runs; NaN counts as 0), or None.
        in_sample: ``(N,)`` the shipped model's predictions of the same architectures (fitted
            on them), or None to add the whole held-out roughness.
        n_bins: number of quantile bins of ``fitted``.
        low, high: clip range of the perturbed values.

    Returns:
        The model, or None with fewer than 50 architectures where all are finite.
    """
    v, f = (np.asarray(a, dtype=np.float64) for a in (value, fitted))
    fi = f if in_sample is None else np.asarray(in_sample, dtype=np.float64)
    mv = np.zeros_like(v) if mean_var is None else np.nan_to_num(np.asarray(mean_var, dtype=np.float64))
    ok = np.isfinite(v) & np.isfinite(f) & np.isfinite(fi)
    if ok.sum() < 50:
        return None
    v, f, mv, fi = v[ok], f[ok], mv[ok], fi[ok]
    bins = np.array_split(np.argsort(f, kind="stable"), max(1, min(n_bins, len(f) // 25)))
    centres = np.array([np.median(f[b]) for b in bins])
    stds = np.array(
        [np.sqrt(max(np.var(v[b] - f[b]) - np.mean(mv[b]) - np.var(fi[b] - f[b]), 0.0)) for b in bins]
    )
    return SeedNoiseModel(centres, stds, float(low), float(high))


def roughness_check(
    value: np.ndarray,
    held_out: np.ndarray,
    mean_var: np.ndarray,
    in_sample: np.ndarray,
    answers: np.ndarray,
    *,
    top: float = 0.05,
) -> dict[str, float]:
    """How far the table, the shipped fit and the answers spread around the held-out fit.

    ``table`` is the std of ``value - held_out`` less the seed noise of the seed mean (what
    :func:`fit_roughness` matches), ``fitted`` that of ``in_sample - held_out``, ``answers``
    that of ``answers - held_out`` (the fit plus its roughness draws); over every
    architecture, and ``top_*`` over the top ``top`` fraction by ``held_out``.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in (value, held_out, mean_var, in_sample, answers)]
    ok = np.logical_and.reduce([np.isfinite(a) for a in arrays[:2] + arrays[3:]])
    v, h, mv, fi, a = (x[ok] for x in arrays)
    mv = np.nan_to_num(mv)
    best = np.argsort(h, kind="stable")[-max(1, round(top * len(h))) :]
    out: dict[str, float] = {}
    for prefix, idx in (("", slice(None)), ("top_", best)):
        out[prefix + "table"] = float(np.sqrt(max(np.var(v[idx] - h[idx]) - np.mean(mv[idx]), 0.0)))
        out[prefix + "fitted"] = float(np.std(fi[idx] - h[idx]))
        out[prefix + "answers"] = float(np.std(a[idx] - h[idx]))
    return out


def noise_check(
    model: SeedNoiseModel,
    per_seed: np.ndarray,
    present: np.ndarray,
    rng: np.random.Generator,
    *,
    means: np.ndarray | None = None,
    n_bins: int = 5,
) -> dict[str, Any]:
    """Compare the model's seed-to-seed differences with the table's.

    For every architecture with two or more runs, the table's difference is its
    first present seed minus its second; the model's is the difference of two
    independent draws at the architecture's mean (``means``: e.g. the surrogate's
    predicted means; default the table's seed means).

    Returns:
        ``ks_statistic`` and ``ks_pvalue`` of the two-sample KS test on the
        absolute differences, ``n_archs``, and ``bins``: per quantile bin of the
        table's seed mean, its range and the std of the differences in the table
        and in the model.
    """
    from scipy.stats import ks_2samp

    table_mean, var, _ = seed_stats(per_seed, present)
    ok = np.flatnonzero(np.isfinite(var))
    first_two = np.argsort(~present[ok], axis=1, kind="stable")[:, :2]
    picked = np.take_along_axis(per_seed[ok], first_two, axis=1)
    table_diff = picked[:, 0] - picked[:, 1]
    at = (table_mean if means is None else np.asarray(means, dtype=np.float64))[ok]
    z = rng.standard_normal((len(ok), 2))
    model_diff = model.sample(at, z[:, 0]) - model.sample(at, z[:, 1])
    ks = ks_2samp(np.abs(table_diff), np.abs(model_diff))
    order = np.argsort(table_mean[ok], kind="stable")
    bins = []
    for b in np.array_split(order, n_bins):
        bins.append(
            {
                "mean_from": float(table_mean[ok][b].min()),
                "mean_to": float(table_mean[ok][b].max()),
                "table_diff_std": float(np.std(table_diff[b])),
                "model_diff_std": float(np.std(model_diff[b])),
            }
        )
    return {
        "n_archs": len(ok),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "table_diff_std": float(np.std(table_diff)),
        "model_diff_std": float(np.std(model_diff)),
        "bins": bins,
    }


def keyed_normals(
    canonical: Callable[[str], str], dataset: str, keys: list[str], seed: int | str
) -> np.ndarray:
    """One standard normal per key, a function of (dataset, canonical key, seed or tag) only.

    Args:
        canonical: the space's ``canonical_key`` (isomorphic architectures draw alike).
        dataset: dataset name.
        keys: stored keys of the space.
        seed: a training seed, or a tag naming a fixed per-architecture draw.
    """
    # A draw keyed by (dataset, canonical key, seed or tag) must not depend on which other
    # queries came first, so it is a hash of the key rather than a generator's stream:
    # 53 bits of BLAKE2b give a uniform in (0, 1), the normal quantile makes it Gaussian.
    from scipy.special import ndtri

    prefix = f"{dataset}\x00{seed}\x00".encode()
    bits = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(prefix + canonical(k).encode(), digest_size=8).digest(), "big")
            >> 11
            for k in keys
        ),
        dtype=np.float64,
        count=len(keys),
    )
    return ndtri((bits + 0.5) / float(1 << 53))
