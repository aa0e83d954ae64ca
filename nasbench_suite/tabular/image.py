"""One HDF5 image of a table read as a table: lazy, checksum-verified, schema-validated.

A format-1 file is one image; a format-2 file is a sequence of them (its parts), which
:class:`nasbench_suite.tabular.reader.Table` puts together. Keys and metric arrays are read on
first use, checked against their checksums, and kept in memory.
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
from nasbench_suite.tabular import layout, parts, schema
from nasbench_suite.tabular.model import MetricInfo


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

    def resolve_kind(self, metric: str, kind: str | None) -> str:
        """``kind`` if it has ``metric``; None: the first kind that has it (per_seed, curves, per_arch)."""
        if kind is None:
            return self.kind_of(metric)
        if metric not in getattr(self, kind, {}):
            raise UnknownMetricError(metric, sorted(getattr(self, kind, {})))
        return kind

    def metric_names(self) -> list[str]:
        return sorted({*self.per_seed, *self.curves, *self.per_arch})


class ManifestView:
    """What a table's manifest says, shared by a whole table and each of its images."""

    manifest: dict[str, Any]
    datasets: dict[str, DatasetInfo]
    canonical_keys: list[str]

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

    @cached_property
    def rows_by_canonical(self) -> dict[str, int]:
        """Canonical key -> first row of that class."""
        rows: dict[str, int] = {}
        for i, c in enumerate(self.canonical_keys):
            rows.setdefault(c, i)
        return rows


class TableImage(ManifestView):
    """One HDF5 image of a table: a whole format-1 file, or one part of a format-2 file
    (:mod:`nasbench_suite.tabular.parts`), read as a table of its own.

    Its structure and manifest are checked on construction; ``f`` is closed if they fail.

    Raises:
        TableCorruptError: HDF5 cannot read it, or the manifest fails its checksum.
        TableSchemaError: the manifest or layout breaks the schema (names what).
    """

    def __init__(self, f: h5py.File, path: Path):
        self.path = path
        self._file = f
        try:
            schema.check_structure(self._file, self.path)
            self.manifest = schema.read_manifest(self._file, self.path)
            self.datasets = {
                name: dataset_info(name, entry) for name, entry in self.manifest["datasets"].items()
            }
        except BaseException:
            self._file.close()
            raise
        self._cache: dict[str, np.ndarray] = {}

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

    # --- arrays -------------------------------------------------------------

    def present(self, dataset: str, *, cache: bool = True) -> np.ndarray:
        """(N, S) bool: which runs exist."""
        info = self.dataset(dataset)
        entry = self.manifest["datasets"][dataset]
        shape = (self.n_archs, len(info.seeds))
        return self._read(f"/datasets/{dataset}/present", entry["present"], shape, "bool", cache=cache)

    def metric(self, dataset: str, name: str, kind: str | None = None, *, cache: bool = True) -> np.ndarray:
        """This image's array of metric ``name`` (see :meth:`Table.metric`)."""
        info = self.dataset(dataset)
        kind = info.resolve_kind(name, kind)
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

    def stored_bytes(self, path: str) -> int:
        """Bytes the file stores for the array at ``path`` (0 when it has none)."""
        try:
            return int(self._file[path].id.get_storage_size())
        except (KeyError, ValueError, OSError, RuntimeError, AttributeError):
            return 0

    def close(self) -> None:
        self._file.close()


def dataset_info(name: str, entry: dict[str, Any]) -> DatasetInfo:
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


def metric_info(meta: dict[str, Any]) -> MetricInfo:
    return MetricInfo(unit=meta["unit"], description=meta.get("description", ""))


def open_head(path: Path) -> bytes:
    """The first bytes of the file, after refusing what is not a regular file."""
    if not path.exists():
        raise TableNotFoundError(path)
    schema.check_regular_file(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(parts.FILE_MAGIC))
    except OSError as exc:
        raise NotATableError(path, f"cannot be read: {exc.strerror}") from None
    if not head.startswith(layout.HDF5_SIGNATURE) and head != parts.FILE_MAGIC:
        raise NotATableError(path, "not an HDF5 file, so not a nasbench-suite table")
    return head


def open_hdf5(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise TableCorruptError(path, f"HDF5 cannot open it (truncated or damaged): {_short(exc)}") from None


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
