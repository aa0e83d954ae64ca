"""NB201 import, second pass: counted sizes, derived x-test accuracy, suspect entries.

- ``params_m`` / ``flops_m``: the network the string builds, counted in closed form
  (``spaces.nb201_counts``); the per-seed file's ``params_mb`` is kept as
  ``params_m_published`` and the zero-cost files' ``flops`` as ``flops_m_zc``.
- ``xtest_acc`` (cifar100, ImageNet16-120): the benchmark halves the test set into
  x-valid and x-test, so ``ori-test = (x-valid + x-test) / 2`` run by run and
  ``x-test mean = 2 * test_acc mean - valid_acc_mean``. It is derived only where the two
  releases behind those columns agree: the architecture's ``valid_acc_mean`` on
  cifar10-valid equals the seed mean of its per-seed ``valid_acc`` (to the file's
  three decimals); elsewhere it is NaN (missing).
- ``suspect``: 1 where the published ``params_mb`` differs from the count (the result
  may belong to another member of the equivalence class), 0 elsewhere; ``seed_acc_shared``
  is 1 where a seed's accuracy is bit-identical to another member of the architecture's
  equivalence class (common in the benchmark, so evidence, not a flag by itself).
"""

from __future__ import annotations

import numpy as np

from nasbench_suite import spaces
from nasbench_suite.importers._nb201_side import Archs
from nasbench_suite.spaces.nb201_counts import nb201_counts
from nasbench_suite.tabular.model import DatasetData, MetricInfo

#: (classes, input side) of the NB201 datasets' networks.
_SHAPES = {"cifar10-valid": (10, 32), "cifar10": (10, 32), "cifar100": (100, 32), "ImageNet16-120": (120, 16)}
#: Tolerance of "equal" between the valid-mean file (three decimals) and a per-seed mean.
_RELEASE_TOL = 5.1e-4
_PARAMS_TOL = 1e-6


def add_counts_and_flags(archs: Archs, datasets: dict[str, DatasetData]) -> None:
    """Add ``params_m``/``flops_m`` (counted), the published values, ``xtest_acc``,
    ``suspect`` and ``seed_acc_shared`` to every NB201 dataset, with provenance notes."""
    space = spaces.get("nb201")
    parsed = [space.parse(text) for text in archs.texts]
    classes = np.array([space.canonical_key(a) for a in parsed], dtype=object)
    agree = _releases_agree(datasets)
    for name in sorted(datasets):
        ds = datasets[name]
        if name not in _SHAPES:
            continue
        n_classes, side = _SHAPES[name]
        counts = np.array([nb201_counts(a, n_classes, side) for a in parsed], dtype=float)
        if "flops_m" in ds.per_arch:  # the zero-cost files' measurement, another convention
            ds.per_arch["flops_m_zc"] = ds.per_arch.pop("flops_m")
            ds.metrics["flops_m_zc"] = ds.metrics.pop("flops_m")
        published = ds.per_arch.pop("params_m")
        ds.per_arch["params_m"], ds.per_arch["flops_m"] = counts[:, 0] / 1e6, counts[:, 1] / 1e6
        ds.per_arch["params_m_published"] = published
        ds.metrics["params_m_published"] = ds.metrics.pop("params_m")
        ds.metrics["params_m"] = MetricInfo(
            "M", "millions of parameters of the network the string builds (counted)"
        )
        ds.metrics["flops_m"] = MetricInfo("MFLOPs", "forward FLOPs per image of that network (counted)")
        mismatch = np.abs(published - ds.per_arch["params_m"]) > _PARAMS_TOL
        shared = _shared_seed_acc(ds, classes)
        ds.per_arch["suspect"] = mismatch.astype(float)
        ds.per_arch["seed_acc_shared"] = shared.astype(float)
        ds.metrics["suspect"] = MetricInfo(
            "", "1: published params differ from the counted network (see notes)"
        )
        ds.metrics["seed_acc_shared"] = MetricInfo(
            "", "1: a seed's accuracy is bit-identical to another member of the equivalence class"
        )
        ds.provenance["suspect"] = {
            "metric": "suspect",
            "flagged": int(mismatch.sum()),
            "reason": "published params_mb differs from the count of the network the string builds by "
            "whole edge ops; the result may belong to another member of the equivalence class "
            "(NATS-Bench issue 36)",
            "also_seed_acc_shared": int((mismatch & shared).sum()),
            "seed_acc_shared": int(shared.sum()),
        }
        if "test_acc" in ds.per_seed and "valid_acc_mean" in ds.per_arch and agree is not None:
            _add_xtest(ds, agree)


def _releases_agree(datasets: dict[str, DatasetData]) -> np.ndarray | None:
    ds = datasets.get("cifar10-valid")
    if ds is None or "valid_acc" not in ds.per_seed or "valid_acc_mean" not in ds.per_arch:
        return None
    values = np.where(ds.present, ds.per_seed["valid_acc"], np.nan)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(values, axis=1)
    return np.abs(mean - ds.per_arch["valid_acc_mean"]) <= _RELEASE_TOL


def _add_xtest(ds: DatasetData, agree: np.ndarray) -> None:
    values = np.where(ds.present, ds.per_seed["test_acc"], np.nan)
    with np.errstate(invalid="ignore"):
        ori = np.nanmean(values, axis=1)
    xtest = np.where(agree, 2.0 * ori - ds.per_arch["valid_acc_mean"], np.nan)
    ds.per_arch["xtest_acc"] = xtest
    ds.metrics["xtest_acc"] = MetricInfo(
        "%",
        "seed-mean accuracy on x-test (the half of the test set x-valid is not), derived as "
        "2 * mean(test_acc) - valid_acc_mean where the releases agree; NaN elsewhere",
    )
    ds.provenance["xtest"] = {
        "derived": int(np.isfinite(xtest).sum()),
        "missing": int((~np.isfinite(xtest)).sum()),
        "rule": "x-test mean = 2 * ori-test mean - x-valid mean, only where the architecture's cifar10-valid "
        "valid_acc_mean equals its per-seed valid_acc mean (the same release); elsewhere missing",
    }


def _shared_seed_acc(ds: DatasetData, classes: np.ndarray) -> np.ndarray:
    metric = "valid_acc" if "valid_acc" in ds.per_seed else "test_acc"
    values = np.where(ds.present, ds.per_seed[metric], np.nan)
    shared = np.zeros(len(classes), dtype=bool)
    for col in range(values.shape[1]):
        ok = np.isfinite(values[:, col])
        keys = np.array([f"{c}|{v!r}" for c, v in zip(classes[ok], values[ok, col].tolist())], dtype=object)
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        shared[np.flatnonzero(ok)[counts[inverse] > 1]] = True
    return shared
