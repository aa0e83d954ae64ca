"""In-memory form of a table: what importers build and the writer stores.

A table holds N architectures (their stored ``keys``, as the space formats them)
and, per dataset, three kinds of metric arrays:

- ``per_seed[name]``: shape (N, S), one value per architecture and training seed
  (the result after the last epoch of the protocol);
- ``curves[name]``: shape (N, S, E), one value per epoch listed in ``epochs``;
- ``per_arch[name]``: shape (N,), values that do not depend on the seed
  (parameters, FLOPs, zero-cost proxies, hardware metrics for that dataset's
  network).

``present`` (N, S) says which (architecture, seed) runs exist. A missing value
is NaN, and the writer stores an explicit ``missing`` mask beside every array.
Table-wide ``static`` arrays, shape (N,), hold values that depend on neither the
dataset nor the seed (inference latency on a device, say).

Metric name conventions (see docs/table-format.md): ``valid_*`` on the
benchmark's validation split, ``test_*`` on the original test set, ``xtest_*``
on the half of the test set NB201 calls x-test; ``*_acc`` in percent, ``*_loss``
in nats, ``*_s`` in seconds; ``train_time_s`` is the simulated cost of a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench_suite.errors import NasbenchError


@dataclass(frozen=True)
class MetricInfo:
    """Unit and meaning of a metric, stored as attributes beside its array."""

    unit: str
    description: str = ""


@dataclass
class DatasetData:
    """All results of one dataset (one training protocol) of a table.

    Attributes:
        seeds: (S,) int64, sorted, unique training seeds.
        present: (N, S) bool, True where the run (arch, seed) exists.
        per_seed: name -> (N, S) float64.
        curves: name -> (N, S, E) float64 over ``epochs``.
        epochs: (E,) int64, 1-based epoch numbers of the curves (empty if none).
        per_arch: name -> (N,) float64.
        metrics: name -> MetricInfo for every name above.
        protocol: JSON-able training protocol (optimizer, epochs, batch...).
        provenance: JSON-able source, licence, ``time_hardware`` (what the
            time values were measured on) and notes.
    """

    seeds: np.ndarray
    present: np.ndarray
    per_seed: dict[str, np.ndarray] = field(default_factory=dict)
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    epochs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    per_arch: dict[str, np.ndarray] = field(default_factory=dict)
    metrics: dict[str, MetricInfo] = field(default_factory=dict)
    protocol: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class TableData:
    """A whole table in memory.

    Attributes:
        space: registered space name (``nb201``, ``nb101``, or a user space).
        space_config: JSON-able config passed to ``spaces.get(space, **config)``.
        keys: N stored architecture keys, unique, as ``space.key`` gives them.
        datasets: dataset name -> DatasetData.
        static: name -> (N,) float64, independent of dataset and seed.
        static_metrics: name -> MetricInfo for ``static``.
        static_provenance: JSON-able provenance of the static arrays.
        description: free text shown by ``nasbench info``.
    """

    space: str
    keys: list[str]
    datasets: dict[str, DatasetData] = field(default_factory=dict)
    space_config: dict[str, Any] = field(default_factory=dict)
    static: dict[str, np.ndarray] = field(default_factory=dict)
    static_metrics: dict[str, MetricInfo] = field(default_factory=dict)
    static_provenance: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def n_archs(self) -> int:
        return len(self.keys)

    def check(self) -> None:
        """Check shapes, dtypes and names.

        Raises:
            TableDataError: naming the first inconsistency found.
        """
        n = len(self.keys)
        if len(set(self.keys)) != n:
            seen: set[str] = set()
            dup = next(k for k in self.keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            raise TableDataError(f"duplicate architecture key {dup!r}")
        for name, arr in self.static.items():
            _check_array(f"static/{name}", arr, (n,))
            if name not in self.static_metrics:
                raise TableDataError(f"static metric {name!r} has no MetricInfo (unit)")
        for ds_name, ds in self.datasets.items():
            _check_name(ds_name, "dataset")
            s = len(ds.seeds)
            if ds.seeds.ndim != 1 or len(np.unique(ds.seeds)) != s:
                raise TableDataError(f"dataset {ds_name!r}: seeds must be a 1-d array of unique ints")
            if np.any(np.diff(ds.seeds) <= 0):
                raise TableDataError(f"dataset {ds_name!r}: seeds must be sorted")
            _check_array(f"{ds_name}/present", ds.present, (n, s), kind="b")
            e = len(ds.epochs)
            if ds.curves and e == 0:
                raise TableDataError(f"dataset {ds_name!r} has curves but no epochs")
            for group, arrays, shape in (
                ("per_seed", ds.per_seed, (n, s)),
                ("curves", ds.curves, (n, s, e)),
                ("per_arch", ds.per_arch, (n,)),
            ):
                for name, arr in arrays.items():
                    _check_name(name, "metric")
                    _check_array(f"{ds_name}/{group}/{name}", arr, shape)
                    if name not in ds.metrics:
                        raise TableDataError(f"{ds_name}/{group}/{name} has no MetricInfo (unit)")


class TableDataError(NasbenchError, ValueError):
    """An in-memory table is inconsistent (a bug in an importer or caller)."""


def _check_name(name: str, what: str) -> None:
    if not name or "/" in name or name.startswith("."):
        raise TableDataError(f"invalid {what} name {name!r}")


def _check_array(label: str, arr: np.ndarray, shape: tuple[int, ...], kind: str = "f") -> None:
    if not isinstance(arr, np.ndarray):
        raise TableDataError(f"{label} must be a numpy array, got {type(arr).__name__}")
    if arr.shape != shape:
        raise TableDataError(f"{label} has shape {arr.shape}, expected {shape}")
    if kind == "f" and arr.dtype != np.float64:
        raise TableDataError(f"{label} has dtype {arr.dtype}, expected float64")
    if kind == "b" and arr.dtype != np.bool_:
        raise TableDataError(f"{label} has dtype {arr.dtype}, expected bool")
