"""Reading table files: lazy, checksum-verified, schema-validated.

``Table(path)`` opens the file and parses its manifest (milliseconds); keys and
metric arrays are read on first use, checked against their checksums, and kept
in memory, so later lookups cost nothing but indexing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench_suite.errors import (
    NotATableError,
    TableCorruptError,
    TableNotFoundError,
    TableSchemaError,
    UnknownDatasetError,
    UnknownMetricError,
)
from nasbench_suite.tabular import layout, schema
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData


@dataclass(frozen=True)
class DatasetInfo:
    """What a table stores for one dataset (from the manifest; no array is read)."""

    name: str
    seeds: tuple[int, ...]
    epochs: tuple[int, ...]
    n_runs: int
    per_seed: dict[str, dict[str, Any]]
    curves: dict[str, dict[str, Any]]
    per_arch: dict[str, dict[str, Any]]
    protocol: dict[str, Any]
    provenance: dict[str, Any]

    def kind_of(self, metric: str) -> str:
        for kind in layout.DATASET_KINDS:
            if metric in getattr(self, kind):
                return kind
        raise UnknownMetricError(metric, self.metric_names())

    def metric_names(self) -> list[str]:
        return sorted({*self.per_seed, *self.curves, *self.per_arch})


class Table:
    """An open table file.

    Raises (on open):
        TableNotFoundError: no file at ``path``.
        NotATableError: the file is not HDF5, or not a nasbench-suite table.
        TableCorruptError: HDF5 cannot read it, or the manifest fails its checksum.
        TableSchemaError: the manifest or layout breaks the schema (names what).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file = _open_hdf5(self.path)
        try:
            schema.check_structure(self._file, self.path)
            self.manifest = schema.read_manifest(self._file, self.path)
            self.datasets = {
                name: _dataset_info(name, entry) for name, entry in self.manifest["datasets"].items()
            }
        except BaseException:
            self._file.close()
            raise
        self._cache: dict[str, np.ndarray] = {}

    # --- metadata -----------------------------------------------------------

    @property
    def space(self) -> str:
        return self.manifest["space"]

    @property
    def space_config(self) -> dict[str, Any]:
        return self.manifest["space_config"]

    @property
    def n_archs(self) -> int:
        return self.manifest["n_archs"]

    @property
    def static_metrics(self) -> dict[str, dict[str, Any]]:
        return self.manifest["static"]

    def dataset(self, name: str) -> DatasetInfo:
        """Manifest information of dataset ``name``.

        Raises:
            UnknownDatasetError: naming the stored datasets.
        """
        try:
            return self.datasets[name]
        except KeyError:
            raise UnknownDatasetError(name, sorted(self.datasets)) from None

    # --- keys ---------------------------------------------------------------

    @cached_property
    def keys(self) -> list[str]:
        """The N stored architecture keys, in row order."""
        raw = self._read("/archs/key", self.manifest["archs"]["key"], (self.n_archs,), "key")
        return self._decode("/archs/key", raw)

    @cached_property
    def canonical_keys(self) -> list[str]:
        raw = self._read("/archs/canonical", self.manifest["archs"]["canonical"], (self.n_archs,), "key")
        return self._decode("/archs/canonical", raw)

    def _decode(self, path: str, raw: np.ndarray) -> list[str]:
        try:
            return [b.decode("utf-8") for b in raw.tolist()]
        except UnicodeDecodeError as exc:
            raise TableSchemaError(self.path, f"{path} holds a key not in UTF-8 ({exc.reason})") from None

    @cached_property
    def row_of(self) -> dict[str, int]:
        """Stored key -> row."""
        return {k: i for i, k in enumerate(self.keys)}

    @cached_property
    def rows_by_canonical(self) -> dict[str, int]:
        """Canonical key -> first row of that class."""
        rows: dict[str, int] = {}
        for i, c in enumerate(self.canonical_keys):
            rows.setdefault(c, i)
        return rows

    # --- arrays -------------------------------------------------------------

    def present(self, dataset: str, *, cache: bool = True) -> np.ndarray:
        """(N, S) bool: which runs exist."""
        info = self.dataset(dataset)
        entry = self.manifest["datasets"][dataset]
        shape = (self.n_archs, len(info.seeds))
        return self._read(f"/datasets/{dataset}/present", entry["present"], shape, "bool", cache=cache)

    def metric(self, dataset: str, name: str, kind: str | None = None, *, cache: bool = True) -> np.ndarray:
        """The whole array of metric ``name`` of ``dataset``: (N,), (N, S) or (N, S, E).

        ``kind`` ("per_seed", "curves" or "per_arch") picks between a final
        per-seed value and the per-epoch curve of the same name; by default the
        first kind that has the name, in that order. ``cache=False`` reads the
        array afresh and does not keep it (whole-table reads, verification).

        Raises:
            UnknownDatasetError, UnknownMetricError: naming what is stored.
        """
        info = self.dataset(dataset)
        if kind is None:
            kind = info.kind_of(name)
        elif name not in getattr(info, kind, {}):
            raise UnknownMetricError(name, sorted(getattr(info, kind, {})))
        meta = getattr(info, kind)[name]
        shape = self._metric_shape(info, kind)
        return self._read(layout.data_path(dataset, kind, name), meta["checksum"], shape, cache=cache)

    def static(self, name: str, *, cache: bool = True) -> np.ndarray:
        """(N,) table-wide metric ``name``."""
        meta = self._static_meta(name)
        return self._read(
            layout.data_path(None, "static", name), meta["checksum"], (self.n_archs,), cache=cache
        )

    def missing_mask(self, dataset: str | None, kind: str, name: str) -> np.ndarray:
        """A metric's stored missing mask, uncached (``dataset=None, kind="static"``: table-wide)."""
        if dataset is None:
            meta, shape = self._static_meta(name), (self.n_archs,)
        else:
            info = self.dataset(dataset)
            meta, shape = getattr(info, kind)[name], self._metric_shape(info, kind)
        path = layout.missing_path(dataset, kind, name)
        return self._read(path, meta["missing_checksum"], shape, "bool", cache=False)

    def _static_meta(self, name: str) -> dict[str, Any]:
        try:
            return self.manifest["static"][name]
        except KeyError:
            raise UnknownMetricError(name, sorted(self.manifest["static"])) from None

    def _metric_shape(self, info: DatasetInfo, kind: str) -> tuple[int, ...]:
        return {
            "per_seed": (self.n_archs, len(info.seeds)),
            "curves": (self.n_archs, len(info.seeds), len(info.epochs)),
            "per_arch": (self.n_archs,),
        }[kind]

    def _read(
        self, path: str, checksum: str, shape: tuple[int, ...], role: str = "float", *, cache: bool = True
    ) -> np.ndarray:
        cached = self._cache.get(path) if cache else None
        if cached is not None:
            return cached
        try:
            dset = self._file[path]
        except (KeyError, ValueError, OSError, RuntimeError):
            raise TableSchemaError(self.path, f"array {path} listed in the manifest is missing") from None
        schema.check_array(dset, self.path, path, shape, role)
        try:
            values = dset[()]
        except (OSError, ValueError, RuntimeError) as exc:
            raise TableCorruptError(self.path, f"cannot read {path}: {exc}") from None
        if layout.array_checksum(values) != checksum:
            raise TableCorruptError(self.path, f"{path} does not match its checksum")
        if cache:
            values.setflags(write=False)  # shared by every later query
            self._cache[path] = values
        return values

    # --- whole-table access ---------------------------------------------------

    def to_data(self) -> TableData:
        """Everything in memory as a TableData (for merging and rewriting).

        Arrays are read uncached, so they are not held twice; the result owns them.
        """
        data = TableData(
            space=self.space,
            keys=list(self.keys),
            space_config=dict(self.space_config),
            static={name: self.static(name, cache=False) for name in self.manifest["static"]},
            static_metrics={name: _info(m) for name, m in self.manifest["static"].items()},
            static_provenance=dict(self.manifest["static_provenance"]),
            description=self.manifest["description"],
        )
        for name, info in self.datasets.items():
            ds = DatasetData(
                seeds=np.array(info.seeds, dtype=np.int64),
                present=self.present(name, cache=False),
                epochs=np.array(info.epochs, dtype=np.int64),
                protocol=dict(info.protocol),
                provenance=dict(info.provenance),
            )
            for kind in layout.DATASET_KINDS:
                for metric, meta in getattr(info, kind).items():
                    getattr(ds, kind)[metric] = self.metric(name, metric, kind, cache=False)
                    ds.metrics[metric] = _info(meta)
            data.datasets[name] = ds
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Table({str(self.path)!r}, space={self.space!r}, n_archs={self.n_archs})"


def read_table(path: str | Path) -> TableData:
    """Read the whole table at ``path`` into memory."""
    with Table(path) as table:
        return table.to_data()


def _info(meta: dict[str, Any]) -> MetricInfo:
    return MetricInfo(unit=meta["unit"], description=meta.get("description", ""))


def _open_hdf5(path: Path) -> h5py.File:
    if not path.exists():
        raise TableNotFoundError(path)
    schema.check_regular_file(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(layout.HDF5_SIGNATURE))
    except OSError as exc:
        raise NotATableError(path, f"cannot be read: {exc.strerror}") from None
    if head != layout.HDF5_SIGNATURE:
        raise NotATableError(path, "not an HDF5 file, so not a nasbench-suite table")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise TableCorruptError(path, f"HDF5 cannot open it (truncated or damaged): {_short(exc)}") from None


def _dataset_info(name: str, entry: dict[str, Any]) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        seeds=tuple(int(s) for s in entry["seeds"]),
        epochs=tuple(int(e) for e in entry["epochs"]),
        n_runs=entry["n_runs"],
        per_seed=entry["per_seed"],
        curves=entry["curves"],
        per_arch=entry["per_arch"],
        protocol=entry["protocol"],
        provenance=entry["provenance"],
    )


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
