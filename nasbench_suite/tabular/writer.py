"""The one writer of table files: whole-file writes and crash-safe appends.

Every write builds the complete new file in memory (HDF5's core driver: no HDF5
call touches the disk) and hands its bytes to :mod:`nasbench_suite._atomic`, which
writes them beside the target (``.<name>.tmp-<pid>``), flushes them to disk, and
moves the file over the target with ``os.replace``, atomic on POSIX file systems;
the directory is then flushed too. A process killed at any instant therefore
leaves either the old file or the new one, never a mix (``tests/test_table_kill.py``
kills appenders at random instants to prove it). Readers that hold the old file
open keep reading the old content. A full disk or another OS error is one
:class:`~nasbench_suite.errors.OutputError` naming the path and the errno, with the
old table intact and no temporary file left: HDF5 never sees the failing disk, so
no half-written HDF5 object is left to fail again when it is released.

Appends are serialised by an advisory lock on ``<name>.lock`` so that two
appenders cannot lose each other's rows. An append rewrites the whole file: that
is cheap for tables of tens of MB and keeps one code path for every write.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from nasbench_suite import _atomic, spaces
from nasbench_suite._version import __version__
from nasbench_suite.errors import OutputError, TableError, TableLockedError
from nasbench_suite.tabular import layout
from nasbench_suite.tabular.merge import merge_tables
from nasbench_suite.tabular.model import MetricInfo, TableData
from nasbench_suite.tabular.reader import Table


def write_table(path: str | Path, data: TableData, *, overwrite: bool = False) -> Path:
    """Write ``data`` as a new table file at ``path``, atomically.

    A symbolic link is written through (its target is replaced, the link kept).

    Raises:
        TableDataError: if ``data`` is inconsistent.
        TableError: if ``path`` exists and ``overwrite`` is false.
        UnknownSpaceError / MalformedArchError: if a key is not valid in the space.
        OutputError: ``path`` is not a regular file (a FIFO, a device, a folder), or writing
            failed (a full disk: the old file is left as it was).
    """
    path = Path(path)
    data.check()
    canonical = _canonical_keys(data)
    target = _atomic.resolve_output(path)
    with _table_lock(target):
        if target.exists() and not overwrite:  # checked under the lock: no two creators both win
            raise TableError(path, "file exists; pass overwrite=True (CLI: --force) to replace it")
        _atomic.write_bytes(target, _table_image(data, canonical))
    return path


def append_table(path: str | Path, new: TableData) -> Path:
    """Add the entries of ``new`` to the table at ``path``, crash-safely.

    New architectures, datasets, seeds and metrics are added; a run
    (arch, dataset, seed) already stored raises instead of being duplicated.

    Raises:
        TableNotFoundError, TableCorruptError, ...: if the table cannot be read.
        TableMergeError: on a duplicate run, a conflicting value or protocol.
        TableLockedError: if another process holds the append lock too long.
        OutputError: ``path`` is not a regular file, or writing failed (the old file is intact).
    """
    path = Path(path)
    new.check()
    target = _atomic.resolve_output(path)
    with _table_lock(target):
        with Table(target) as table:
            old = table.to_data()
            stored = dict(zip(table.keys, table.canonical_keys))
        merged = merge_tables(old, new)
        merged.check()
        _atomic.write_bytes(target, _table_image(merged, _canonical_keys(merged, stored)))
    return path


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete temporary files left beside ``path`` by writers that were killed.

    Only call it while holding the table's lock: only the lock holder writes a
    temporary file, so every other one is stale. Temporary files are matched by their
    exact name (``.<name>.tmp-<pid>``), never by a glob of the table's name, which may
    itself hold glob characters (``t[1].h5`` would match ``.t1.h5.tmp-*``).
    """
    return _atomic.remove_leftovers(Path(path), (_atomic.TMP,), all_stale=True)


@contextlib.contextmanager
def _table_lock(path: Path, timeout_s: float = 600.0) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(path, f"cannot create its folder: {exc.strerror}", exc.errno) from None
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TableLockedError(path, f"another process holds {lock_path.name}") from None
                time.sleep(0.05)
        try:
            remove_stale_temporaries(path)
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _canonical_keys(data: TableData, stored: dict[str, str] | None = None) -> list[str]:
    """Canonical key of every arch; ``stored`` ones are reused, so an append only
    asks the space about new architectures (and needs no space if there are none)."""
    stored = stored or {}
    new = [k for k in data.keys if k not in stored]
    if new:
        space = spaces.get(data.space, **data.space_config)
        stored = {**stored, **{k: space.canonical_key(k) for k in new}}
    return [stored[k] for k in data.keys]


_IMAGES = itertools.count()


def _table_image(data: TableData, canonical: list[str]) -> bytes:
    """The bytes of the table file, built in memory (the file name is never opened)."""
    name = f"nasbench-suite-table-{os.getpid()}-{next(_IMAGES)}.h5"
    f = h5py.File(name, "w", driver="core", backing_store=False, libver="latest")
    try:
        _write_contents(f, data, canonical)
        f.flush()
        return f.id.get_file_image()
    finally:
        f.close()


def _write_contents(f: h5py.File, data: TableData, canonical: list[str]) -> None:
    n = data.n_archs
    key_bytes = _encode_strings(data.keys)
    canonical_bytes = _encode_strings(canonical)
    f.create_dataset("archs/key", data=key_bytes)
    f.create_dataset("archs/canonical", data=canonical_bytes)

    manifest: dict = {
        "format": layout.FORMAT_NAME,
        "format_version": layout.FORMAT_VERSION,
        "written_by": f"nasbench-suite {__version__}",
        "space": data.space,
        "space_config": data.space_config,
        "description": data.description,
        "n_archs": n,
        "n_canonical": len(set(canonical)),
        "archs": {
            "key": layout.array_checksum(key_bytes),
            "canonical": layout.array_checksum(canonical_bytes),
        },
        "static": {
            name: _write_metric(f, None, "static", name, data.static[name], data.static_metrics[name])
            for name in sorted(data.static)
        },
        "static_provenance": data.static_provenance,
        "datasets": {},
    }
    for ds_name in sorted(data.datasets):
        ds = data.datasets[ds_name]
        seeds = np.asarray(ds.seeds, dtype=np.int64)
        epochs = np.asarray(ds.epochs, dtype=np.int64)
        present = np.asarray(ds.present, dtype=bool)
        group = f"datasets/{ds_name}"
        f.create_dataset(f"{group}/seeds", data=seeds)
        f.create_dataset(f"{group}/epochs", data=epochs)
        f.create_dataset(f"{group}/present", data=present, **_storage(present))
        entry: dict = {
            "seeds": seeds.tolist(),
            "epochs": epochs.tolist(),
            "n_runs": int(present.sum()),
            "present": layout.array_checksum(present),
            "protocol": ds.protocol,
            "provenance": ds.provenance,
        }
        for kind, arrays in (("per_seed", ds.per_seed), ("curves", ds.curves), ("per_arch", ds.per_arch)):
            entry[kind] = {
                name: _write_metric(f, ds_name, kind, name, arrays[name], ds.metrics[name])
                for name in sorted(arrays)
            }
        entry["checksum"] = layout.dataset_checksum(entry)
        manifest["datasets"][ds_name] = entry

    f.attrs["format"] = layout.FORMAT_NAME
    f.attrs["format_version"] = layout.FORMAT_VERSION
    text = layout.canonical_json(manifest)
    f.attrs["manifest"] = text
    f.attrs["manifest_checksum"] = layout.json_checksum(manifest)


def _write_metric(
    f: h5py.File, dataset: str | None, kind: str, name: str, values: np.ndarray, info: MetricInfo
) -> dict:
    values = np.ascontiguousarray(values, dtype=np.float64)
    missing = np.isnan(values)
    dset = f.create_dataset(layout.data_path(dataset, kind, name), data=values, **_storage(values))
    dset.attrs["unit"] = info.unit
    dset.attrs["description"] = info.description
    f.create_dataset(layout.missing_path(dataset, kind, name), data=missing, **_storage(missing))
    return {
        "unit": info.unit,
        "description": info.description,
        "checksum": layout.array_checksum(values),
        "missing_checksum": layout.array_checksum(missing),
        "n_missing": int(missing.sum()),
    }


def _storage(arr: np.ndarray) -> dict:
    # Small arrays stay contiguous and uncompressed: they are read whole, and
    # decompression would dominate the time to the first query. Large ones
    # (per-epoch curves) are chunked by architecture and compressed.
    if arr.nbytes < 8 << 20:
        return {}
    chunk_archs = max(1, (1 << 20) // max(1, arr[0].nbytes))
    return {
        "chunks": (min(chunk_archs, arr.shape[0]),) + arr.shape[1:],
        "compression": "gzip",
        "compression_opts": 4,
        "shuffle": True,
    }


def _encode_strings(values: list[str]) -> np.ndarray:
    encoded = [v.encode("utf-8") for v in values]
    width = max((len(b) for b in encoded), default=1) or 1
    return np.array(encoded, dtype=f"S{width}")
