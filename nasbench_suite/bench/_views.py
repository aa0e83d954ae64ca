"""Stacked views of a table: the columns one (dataset, epoch, metric set) needs, read and
checked once, stacked into one (N, S, M) array with its seed mean, and the simulated
training cost of every answer. TabularBenchmark caches one per key and indexes into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench_suite.errors import UnknownEpochError, UnknownMetricError
from nasbench_suite.tabular.reader import DatasetInfo, Table

COST_METRIC = "train_time_s"
EPOCH_COST_METRIC = "epoch_train_time_s"


@dataclass
class View:
    """Stacked arrays of one (dataset, epoch, metric set): what queries index into."""

    seed_names: list[str]  # metrics that vary by seed, columns of `per_seed`
    arch_names: list[str]  # per-arch and static metrics, columns of `per_arch`
    per_seed: np.ndarray  # (N, S, M) float64
    per_seed_mean: np.ndarray  # (N, M)
    per_arch: np.ndarray  # (N, K)
    cost: np.ndarray  # (N, S) seconds
    cost_mean: np.ndarray  # (N,)
    present: np.ndarray  # (N, S) bool
    names: list[str]  # seed_names + arch_names
    batch: dict[str, Any] = field(default_factory=dict)  # contiguous columns for batch queries


def build_view(t: Table, info: DatasetInfo, epoch: int | None, metrics: Sequence[str] | str | None) -> View:
    """Read, check and stack the columns one (dataset, epoch, metric set) needs."""
    n, s = t.n_archs, len(info.seeds)
    epoch_index = epoch_index_of(info, epoch)
    seed_source = info.curves if epoch_index is not None else info.per_seed
    if metrics is None:
        seed_names = sorted(seed_source) if (s or not info.per_arch) else []
        arch_names = [] if seed_names else sorted(info.per_arch)
    elif metrics == "all":
        seed_names = sorted(seed_source)
        arch_names = sorted(info.per_arch) + sorted(t.static_metrics)
    else:
        if isinstance(metrics, str):
            known = sorted({*info.metric_names(), *t.static_metrics})
            raise UnknownMetricError(metrics, ["all", *known])
        seed_names, arch_names = [], []
        for m in metrics:
            if m in seed_source:
                seed_names.append(m)
            elif m in info.per_arch or m in t.static_metrics:
                arch_names.append(m)
            else:
                known = sorted({*seed_source, *info.per_arch, *t.static_metrics})
                raise UnknownMetricError(m, known)

    def seed_column(name: str) -> np.ndarray:
        if epoch_index is None:
            return t.metric(info.name, name, "per_seed")
        return t.metric(info.name, name, "curves")[:, :, epoch_index]

    per_seed = np.empty((n, s, len(seed_names)))
    for j, name in enumerate(seed_names):
        per_seed[:, :, j] = seed_column(name)
    per_arch = np.empty((n, len(arch_names)))
    for j, name in enumerate(arch_names):
        per_arch[:, j] = t.metric(info.name, name, "per_arch") if name in info.per_arch else t.static(name)
    present = t.present(info.name)
    cost = cost_of(t, info, epoch_index)
    return View(
        seed_names=seed_names,
        arch_names=arch_names,
        per_seed=per_seed,
        per_seed_mean=_nanmean(per_seed, axis=1),
        per_arch=per_arch,
        cost=cost,
        cost_mean=_nanmean(cost, axis=1),
        present=present,
        names=seed_names + arch_names,
    )


def epoch_index_of(info: DatasetInfo, epoch: int | None) -> int | None:
    """The index of ``epoch`` in the dataset's curves; None for final results."""
    if epoch is None:
        return None
    if isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, (int, np.integer)):
        raise UnknownEpochError(epoch, "an epoch is a positive integer")
    if info.epochs:
        if int(epoch) not in info.epochs:
            raise UnknownEpochError(
                epoch, f"dataset {info.name!r} stores epochs {info.epochs[0]}..{info.epochs[-1]}"
            )
        return info.epochs.index(int(epoch))
    final = info.protocol.get("epochs")
    if final is not None and int(epoch) == int(final):
        return None
    raise UnknownEpochError(
        epoch, f"dataset {info.name!r} stores only final results (epoch {final}), no per-epoch curves"
    )


def cost_of(t: Table, info: DatasetInfo, epoch_index: int | None) -> np.ndarray:
    """Simulated training seconds of every (architecture, seed) at ``epoch_index``."""
    shape = (t.n_archs, len(info.seeds))
    if epoch_index is not None and COST_METRIC in info.curves:
        # A cumulative training time per epoch point (NB101's halfway evaluation).
        return t.metric(info.name, COST_METRIC, "curves")[:, :, epoch_index]
    if epoch_index is not None and EPOCH_COST_METRIC in info.curves:
        per_epoch = t.metric(info.name, EPOCH_COST_METRIC, "curves")[:, :, : epoch_index + 1]
        total = per_epoch.sum(axis=2)  # NaN if any epoch's time is missing: not imputed
        return total
    if COST_METRIC in info.per_seed:
        final = t.metric(info.name, COST_METRIC, "per_seed")
        if epoch_index is not None:
            # Only a final time is stored: charge the fraction of epochs run.
            return final * (info.epochs[epoch_index] / info.epochs[-1])
        return final
    return np.full(shape, np.nan)


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    count = np.sum(~np.isnan(values), axis=axis)
    total = np.nansum(values, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
