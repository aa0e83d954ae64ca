"""The one writer of table files: whole-file writes and crash-safe appends.

A whole write (:func:`write_table`, and :func:`compact_table`) builds the complete file in memory
(HDF5's core driver: no HDF5 call touches the disk) and hands its bytes to
:mod:`nasbench_suite._atomic`, which writes them beside the target (``.<name>.tmp-<pid>``),
flushes them to disk, and moves the file over the target with ``os.replace``, atomic on POSIX
file systems; the directory is then flushed too.

An append (:func:`append_table`) to a format-2 file writes only the new entries: they become a
new part (:mod:`nasbench_suite.tabular.parts`), an HDF5 image built in memory the same way and
written past the file's committed end, flushed, and then committed by a small record in the
file's header (``_atomic.append_committed``). Its cost grows with what is appended and with the
table's small arrays (keys, ``present``), not with its per-seed values and curves. A format-1
file, or one of :data:`MAX_PARTS` parts, is rewritten whole instead (into one part).

Either way a process killed at any instant leaves the old table or the new one, never a mix
(``tests/test_table_kill.py`` kills appenders at random instants to prove it), and readers
that hold the file open keep reading the content they opened. A full disk or another OS
error is one :class:`~nasbench_suite.errors.OutputError` naming the path and the errno, with
the old table intact and nothing left beside it or past its end: HDF5 never sees the failing
disk, so no half-written HDF5 object is left to fail again when it is released.

Writes are serialised by an advisory lock on ``<name>.lock`` so that two appenders cannot
lose each other's rows.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np

from nasbench_suite import _atomic, spaces
from nasbench_suite._version import __version__
from nasbench_suite.errors import OutputError, TableError, TableLockedError
from nasbench_suite.tabular import _chunks, appends, layout, parts
from nasbench_suite.tabular.merge import merge_tables
from nasbench_suite.tabular.model import MetricInfo, TableData
from nasbench_suite.tabular.reader import Table

#: An append to a table of this many parts rewrites it whole, into one part: reads put a
#: table together from its parts, so their number is kept small; the rewrite's cost, spread
#: over the appends that made the parts, stays a fraction of each.
MAX_PARTS = 64


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
        _write_whole(target, data, canonical)
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
            stored = dict(zip(table.keys, table.canonical_keys))
            if table.format_version < 2 or table.n_parts >= MAX_PARTS:
                merged = merge_tables(table.to_data(), new)
            else:
                light = appends.light_data(table, new)
                canonical = _canonical_keys(new, stored)
                n_canonical = len(set(table.canonical_keys) | set(canonical))
                image, manifest = _table_image(
                    new, canonical, lambda part: appends.next_manifest(table, light, new, part, n_canonical)
                )
                old = table.commit
                commit = parts.Commit(old.sequence + 1, old.end, len(image), layout.json_checksum(manifest))
                _atomic.append_committed(target, old.end, image, commit.slot, commit.pack())
                return path
        merged.check()
        _write_whole(target, merged, _canonical_keys(merged, stored))
    return path


def compact_table(path: str | Path) -> int:
    """Rewrite the table at ``path`` whole, into one part (format 2), crash-safely; returns
    the number of parts it had. A format-1 table is upgraded the same way.

    Raises:
        as :func:`append_table`.
    """
    target = _atomic.resolve_output(Path(path))
    with _table_lock(target):
        with Table(target) as table:
            n_parts = table.n_parts
            if n_parts > 1 or table.format_version < 2:
                data, canonical = table.to_data(), table.canonical_keys
        if n_parts > 1 or table.format_version < 2:
            _write_whole(target, data, canonical)
    return n_parts


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


def _write_whole(target: Path, data: TableData, canonical: list[str]) -> None:
    """``data`` as a new file of one part, replacing ``target`` atomically."""
    image, manifest = _table_image(data, canonical, _single_part_manifest)
    commit = parts.Commit(1, 0, parts.HEADER_BYTES + len(image), layout.json_checksum(manifest))
    with _atomic.replacing_file(target) as fh:
        fh.write(parts.header(commit))
        fh.write(image)


def _table_image(
    data: TableData, canonical: list[str], table_manifest: Callable[[dict], dict]
) -> tuple[bytes, dict]:
    """The bytes of one part, built in memory (the file name is never opened), and the table
    manifest it holds (``table_manifest`` makes it from the part's own manifest)."""
    name = f"nasbench-suite-table-{os.getpid()}-{next(_IMAGES)}.h5"
    f = h5py.File(name, "w", driver="core", backing_store=False, libver="latest")
    try:
        manifest = table_manifest(_write_contents(f, data, canonical))
        f.attrs["table"] = layout.canonical_json(manifest)
        f.flush()
        return f.id.get_file_image(), manifest
    finally:
        f.close()


def _single_part_manifest(part: dict) -> dict:
    """The table manifest of a file of one part: the part's own, with the parts listed."""

    def summaries(metrics: dict) -> dict:
        return {k: {f: v[f] for f in ("unit", "description", "n_missing")} for k, v in metrics.items()}

    table = {k: v for k, v in part.items() if k not in ("archs", "static", "datasets")}
    table.update(
        parts=[],
        last={"manifest": layout.json_checksum(part), "n_archs": part["n_archs"]},
        static=summaries(part["static"]),
        datasets={
            name: {
                **{k: v for k, v in entry.items() if k not in ("present", "checksum")},
                **{kind: summaries(entry[kind]) for kind in layout.DATASET_KINDS},
            }
            for name, entry in part["datasets"].items()
        },
    )
    return table


def _write_contents(f: h5py.File, data: TableData, canonical: list[str]) -> dict:
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
        _chunks.create(f, f"{group}/present", present, _storage(present))
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
    return manifest


def _write_metric(
    f: h5py.File, dataset: str | None, kind: str, name: str, values: np.ndarray, info: MetricInfo
) -> dict:
    values = np.ascontiguousarray(values, dtype=np.float64)
    missing = np.isnan(values)
    dset = _chunks.create(f, layout.data_path(dataset, kind, name), values, _storage(values))
    dset.attrs["unit"] = info.unit
    dset.attrs["description"] = info.description
    _chunks.create(f, layout.missing_path(dataset, kind, name), missing, _storage(missing))
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
