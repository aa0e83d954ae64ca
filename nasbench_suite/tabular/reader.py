"""Reading table files: lazy, checksum-verified, schema-validated.

``Table(path)`` opens the file and parses its manifest (milliseconds); keys and metric arrays
are read on first use, checked against their checksums, and kept in memory, so later lookups
cost nothing but indexing.

A format-1 file is one HDF5 image (:class:`~nasbench_suite.tabular.image.TableImage`). A
format-2 file is a sequence of images, its parts (:mod:`nasbench_suite.tabular.parts`): the
first holds what was written whole, each later one what one append added. An array of the
table is put together from the parts that hold some of it, the way
:func:`~nasbench_suite.tabular.merge.merge_tables` merges an append. A table opened before an
append keeps the parts it was opened with: appends only add bytes past them.
"""

from __future__ import annotations

import os
import weakref
from functools import cached_property
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench_suite.errors import (
    NotATableError,
    TableCorruptError,
    TableSchemaError,
    UnknownMetricError,
)
from nasbench_suite.tabular import layout, parts, schema
from nasbench_suite.tabular.image import (
    DatasetInfo,
    ManifestView,
    TableImage,
    dataset_info,
    metric_info,
    open_hdf5,
    open_head,
)
from nasbench_suite.tabular.merge import fill_values, scatter_runs
from nasbench_suite.tabular.model import DatasetData, TableData

__all__ = ["DatasetInfo", "Table", "read_table"]


class Table(ManifestView):
    """An open table file (format 1 or 2).

    Raises (on open):
        TableNotFoundError: no file at ``path``.
        NotATableError: the file is not HDF5, or not a nasbench-suite table.
        TableCorruptError: HDF5 cannot read it, the manifest fails its checksum, or no sound
            commit record names its parts.
        TableSchemaError: the manifest or layout breaks the schema (names what).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.commit: parts.Commit | None = None
        self._images: dict[int, TableImage] = {}
        self._fd: int | None = None
        self._closer = weakref.finalize(self, _close, self._images, [None])
        head = open_head(self.path)
        try:
            if head.startswith(layout.HDF5_SIGNATURE):
                self._images[0] = TableImage(open_hdf5(self.path), self.path)
                self.manifest = self._images[0].manifest
                self.part_entries: list[dict[str, Any]] = [{"n_archs": self.manifest["n_archs"]}]
            else:
                self._open_parts()
        except BaseException:
            self.close()
            raise
        self.datasets = {name: dataset_info(name, entry) for name, entry in self.manifest["datasets"].items()}
        # One part is read as it is: its arrays are the table's (and cached under the same names).
        self._cache: dict[str, np.ndarray] = self._images[0]._cache if self.n_parts == 1 else {}

    def _open_parts(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise NotATableError(self.path, f"cannot be read: {exc.strerror}") from None
        self._closer.detach()
        self._closer = weakref.finalize(self, _close, self._images, [self._fd])
        self.commit = parts.read_commit(self._fd, self.path)
        # The last part's window runs to the end of the file: HDF5 ignores bytes past the end
        # it records (a killed append's), and a file changed in place by h5py still opens.
        last = self._open_image(self.commit.offset, os.fstat(self._fd).st_size - self.commit.offset)
        self.manifest = schema.read_table_manifest(last._file, self.path, self.commit.checksum)
        end = self.commit.offset
        last_entry = {**self.manifest["last"], "offset": end, "length": self.commit.length}
        self.part_entries = [*self.manifest["parts"], last_entry]
        self._images[len(self.part_entries) - 1] = last
        at = 0
        for entry in self.manifest["parts"]:
            if entry["offset"] != at:
                raise TableCorruptError(
                    self.path, f"part at byte {entry['offset']:,} does not follow the one before"
                )
            at += entry["length"]
        if at != end:
            raise TableCorruptError(self.path, "the last part does not follow the one before")
        self._check_part(len(self.part_entries) - 1, last)

    def _open_image(self, offset: int, length: int) -> TableImage:
        try:
            f = h5py.File(parts.Window(self._fd or 0, offset, length), "r")
        except OSError as exc:
            raise TableCorruptError(
                self.path, f"HDF5 cannot open the part at byte {offset:,}: {_short(exc)}"
            ) from None
        return TableImage(f, self.path)

    def _check_part(self, i: int, image: TableImage) -> None:
        entry = self.part_entries[i]
        if layout.json_checksum(image.manifest) != entry["manifest"]:
            raise TableCorruptError(self.path, f"part {i} does not match the checksum the table lists for it")
        if (image.space, image.space_config) != (self.manifest["space"], self.manifest["space_config"]):
            raise TableSchemaError(self.path, f"part {i} is of another space than the table")

    def image(self, i: int) -> TableImage:
        """Part ``i`` of the file as a table of its own (opened on first use)."""
        if i not in self._images:
            entry = self.part_entries[i]
            image = self._open_image(entry["offset"], entry["length"])
            self._images[i] = image
            self._check_part(i, image)
        return self._images[i]

    # --- metadata -----------------------------------------------------------

    @property
    def n_parts(self) -> int:
        return len(self.part_entries)

    @property
    def format_version(self) -> int:
        return int(self.manifest["format_version"])

    # --- keys ---------------------------------------------------------------

    @cached_property
    def _index(self) -> tuple[list[str], list[str], dict[str, int]]:
        if self.n_parts == 1:
            image = self._images[0]
            return image.keys, image.canonical_keys, image.row_of
        keys: list[str] = []
        canonical: list[str] = []
        row_of: dict[str, int] = {}
        for i, entry in enumerate(self.part_entries):
            image = self.image(i)
            before = len(keys)
            for key, canon in zip(image.keys, image.canonical_keys):
                if key not in row_of:
                    row_of[key] = len(keys)
                    keys.append(key)
                    canonical.append(canon)
            if len(keys) - before != entry["n_archs"]:
                raise TableCorruptError(
                    self.path, f"part {i} adds {len(keys) - before} archs, not {entry['n_archs']}"
                )
        if len(keys) != self.n_archs:
            raise TableCorruptError(self.path, f"the parts hold {len(keys)} archs, not {self.n_archs}")
        return keys, canonical, row_of

    @property
    def keys(self) -> list[str]:
        """The N stored architecture keys, in row order."""
        return self._index[0]

    @property
    def canonical_keys(self) -> list[str]:
        return self._index[1]

    @property
    def row_of(self) -> dict[str, int]:
        """Stored key -> row."""
        return self._index[2]

    # --- arrays -------------------------------------------------------------

    def present(self, dataset: str, *, cache: bool = True) -> np.ndarray:
        """(N, S) bool: which runs exist."""
        info = self.dataset(dataset)
        if self.n_parts == 1:
            return self._images[0].present(dataset, cache=cache)
        out = self._cache.get(f"/datasets/{dataset}/present")
        if out is None:
            out = np.zeros((self.n_archs, len(info.seeds)), dtype=bool)
            for i, image in self._parts_with(dataset):
                out[np.ix_(self._rows(i), self._cols(i, info))] |= image.present(dataset)
        return self._keep(f"/datasets/{dataset}/present", out, cache)

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
        kind = info.resolve_kind(name, kind)
        if self.n_parts == 1:
            return self._images[0].metric(dataset, name, kind, cache=cache)
        path = layout.data_path(dataset, kind, name)
        out = self._cache.get(path)
        if out is None:
            shape = {
                "per_seed": (self.n_archs, len(info.seeds)),
                "curves": (self.n_archs, len(info.seeds), len(info.epochs)),
                "per_arch": (self.n_archs,),
            }[kind]
            out = self._allocate(path, shape)
            for i, image in self._parts_with(dataset):
                if name in getattr(image.dataset(dataset), kind):
                    values = image.metric(dataset, name, kind, cache=False)
                    if kind == "per_arch":
                        fill_values(out, self._rows(i), values)
                    else:
                        scatter_runs(out, self._rows(i), self._cols(i, info), image.present(dataset), values)
        return self._keep(path, out, cache)

    def static(self, name: str, *, cache: bool = True) -> np.ndarray:
        """(N,) table-wide metric ``name``."""
        if name not in self.manifest["static"]:
            raise UnknownMetricError(name, sorted(self.manifest["static"]))
        if self.n_parts == 1:
            return self._images[0].static(name, cache=cache)
        path = layout.data_path(None, "static", name)
        out = self._cache.get(path)
        if out is None:
            out = self._allocate(path, (self.n_archs,))
            for i in range(self.n_parts):
                image = self.image(i)
                if name in image.manifest["static"]:
                    fill_values(out, self._rows(i), image.static(name, cache=False))
        return self._keep(path, out, cache)

    def missing_mask(self, dataset: str | None, kind: str, name: str) -> np.ndarray:
        """A metric's missing mask, uncached (``dataset=None, kind="static"``: table-wide). Of a
        table in parts it is the NaNs of the whole array; each part's stored mask is checked
        against its own array by ``verify``."""
        if self.n_parts == 1:
            return self._images[0].missing_mask(dataset, kind, name)
        values = (
            self.static(name, cache=False)
            if dataset is None
            else self.metric(dataset, name, kind, cache=False)
        )
        return np.isnan(values)

    def _parts_with(self, dataset: str) -> list[tuple[int, TableImage]]:
        return [(i, self.image(i)) for i in range(self.n_parts) if dataset in self.image(i).datasets]

    def _rows(self, i: int) -> np.ndarray:
        row_of = self.row_of
        return np.fromiter((row_of[k] for k in self.image(i).keys), dtype=np.int64)

    def _cols(self, i: int, info: DatasetInfo) -> np.ndarray:
        part_seeds = np.asarray(self.image(i).dataset(info.name).seeds, dtype=np.int64)
        seeds = np.asarray(info.seeds, dtype=np.int64)
        cols = np.searchsorted(seeds, part_seeds)
        if len(part_seeds) and (cols.max() >= len(seeds) or not np.array_equal(seeds[cols], part_seeds)):
            raise TableCorruptError(
                self.path, f"part {i} holds seeds of {info.name!r} the table does not list"
            )
        return cols

    def _allocate(self, path: str, shape: tuple[int, ...]) -> np.ndarray:
        # The untrusted-file bound of schema.check_array, for an array put together from parts:
        # what it declares against the bytes of the whole file (a part may add a metric for a few
        # rows, all others missing, so the array's own stored bytes are no bound).
        declared = int(np.prod(shape, dtype=np.float64)) * 8
        stored = self.commit.end if self.commit else 0
        if declared > schema.MAX_EXPANSION * stored:
            raise TableSchemaError(
                self.path,
                f"array {path} declares {declared:,} bytes, more than {schema.MAX_EXPANSION}:1 of"
                f" the file's {stored:,}; refusing to allocate it",
            )
        return np.full(shape, np.nan)

    def _keep(self, path: str, values: np.ndarray, cache: bool) -> np.ndarray:
        if cache and path not in self._cache:
            values.setflags(write=False)  # shared by every later query
            self._cache[path] = values
        elif not cache and path in self._cache:
            values = values.copy()
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
            static_metrics={name: metric_info(m) for name, m in self.manifest["static"].items()},
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
                    ds.metrics[metric] = metric_info(meta)
            data.datasets[name] = ds
        return data

    def close(self) -> None:
        self._closer()

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


def _close(images: dict[int, TableImage], fd: list[int | None]) -> None:
    # h5py files read through a Python file object must be closed before the descriptor, and
    # before the interpreter tears h5py down (weakref.finalize runs at exit too).
    for image in images.values():
        image.close()
    images.clear()
    if fd[0] is not None:
        os.close(fd[0])
        fd[0] = None


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
