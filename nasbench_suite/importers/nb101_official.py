"""Importer for the official NAS-Bench-101 files, read without TensorFlow.

``nasbench_only108.tfrecord`` (423,624 cells x 3 runs at 108 epochs) and
``nasbench_full.tfrecord`` (the same at 4, 12, 36 and 108 epochs). Each TFRecord
(:mod:`nasbench_suite.importers._tfrecord`: framing and both CRCs checked) holds
one run as the JSON row ``[module_hash, epochs, adjacency, operations, metrics]``:
the adjacency as a string of ``dim * dim`` 0/1 digits, the operations joined by
commas, and the base64 of a serialised ``ModelMetrics`` whose evaluation entries
1 and 2 are the halfway and final evaluations (entry 0 is the untrained network),
as the official ``api.py`` reads them.

The parent process hops from record header to record header (:class:`_tfrecord.Framing`)
and hands runs of records to worker processes (:mod:`._nb101_rows`: data checksums, rows,
metrics, in numpy), then scatters what they return into arrays that grow with the cells, not
with the records; the graph hashes of the distinct cells are checked by the workers too
(:func:`~nasbench_suite.spaces.nb101_hash.hash_modules`). Errors are reported in file order.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.errors import ImportSourceError
from nasbench_suite.importers._nb101_rows import MAX_EPOCHS, Chunk, cell_parts, decode_span
from nasbench_suite.importers._tfrecord import (
    Framing,
    RecordChecksumError,
    RecordSchemaError,
    TruncatedRecordError,
)
from nasbench_suite.importers.nb101 import _PROTOCOL
from nasbench_suite.spaces.nb101_cell import INTERIOR_OPS, MAX_NODES
from nasbench_suite.spaces.nb101_hash import hash_modules
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

__all__ = [
    "MAX_EPOCHS",
    "HashMismatchError",
    "RecordChecksumError",
    "RecordSchemaError",
    "TruncatedRecordError",
    "import_table",
]

REPEATS = 3
MAX_BUDGETS = 16
#: The metrics, in the order of ``_nb101_rows.FIELDS`` (accuracies are fractions in the file).
_METRICS = ("train_acc", "valid_acc", "test_acc", "train_time_s")
#: Records a worker decodes at a time (~26 MB of the file), and cells it hashes at a time.
SPAN_RECORDS = 65_536
HASH_CELLS = 32_768
#: Files smaller than this are read in the calling process: starting workers costs more.
POOL_MIN_BYTES = 64 << 20
MAX_WORKERS = 8
_INFO = {
    "train_acc": MetricInfo("%", "accuracy on a fixed 10,000 images of the training set"),
    "valid_acc": MetricInfo("%", "accuracy on NB101's validation split (10,000 held-out training images)"),
    "test_acc": MetricInfo("%", "accuracy on the CIFAR-10 test set (10,000 images)"),
    "train_time_s": MetricInfo("s", "training time up to this epoch, evaluation excluded (official TPU v2)"),
    "params_m": MetricInfo("M", "millions of trainable parameters"),
}
_LABELS = {"input": -1, "output": -2, **{op: i for i, op in enumerate(INTERIOR_OPS)}}


class HashMismatchError(ImportSourceError):
    """A record's module hash is not the graph hash of its cell."""


def import_table(source: Path, *, check_hashes: bool = True, workers: int | None = None) -> TableData:
    """Import ``nasbench_only108.tfrecord`` or ``nasbench_full.tfrecord``.

    Every budget is a dataset ``cifar10@<epochs>`` with seeds 0, 1, 2 (the runs
    in file order, which the official API samples from); per seed the final
    ``train_acc``, ``valid_acc``, ``test_acc`` (%) and ``train_time_s``, the same
    as curves over the epochs ``[epochs // 2, epochs]`` (the halfway evaluation,
    NaN where the file has none), and per arch ``params_m``. Keys are the
    official module hashes.

    Args:
        source: the ``.tfrecord`` file.
        check_hashes: recompute every cell's graph hash and compare it with the
            file's (about 85 µs a cell on this VM, spread over the workers).
        workers: processes that decode the file (default: one per available core, one
            for files under 64 MB; 1 decodes in the calling process).

    Raises:
        ImportSourceError: no such file or an empty one.
        RecordChecksumError / TruncatedRecordError / RecordSchemaError: naming the record.
        HashMismatchError: naming how many cells differ and the first of them.
    """
    path = Path(source)
    if not path.is_file():
        raise ImportSourceError(
            path, "no such file (expected nasbench_full.tfrecord or nasbench_only108.tfrecord)"
        )
    if workers is None:
        small = path.stat().st_size < POOL_MIN_BYTES
        workers = 1 if small else min(MAX_WORKERS, len(os.sched_getaffinity(0)))
    reader = _Accumulator(path)
    with open(path, "rb") as fh, _mapper(workers) as run:
        framing = Framing(path, fh)
        for chunk in run(_decode, ((str(path), *span) for span in framing.spans(SPAN_RECORDS))):
            reader.add(chunk)
        if framing.error is not None:
            raise framing.error
        if not reader.cells:
            raise ImportSourceError(path, "no records in the file")
        if check_hashes:
            _check_hashes(path, reader, run)
    keys = [k.decode() for k in reader.row_of]
    n = len(keys)
    datasets = {f"cifar10@{e}": reader.dataset(e) for e in sorted(reader.budgets)}
    return TableData(
        space="nb101",
        keys=keys,
        datasets=datasets,
        description=f"NAS-Bench-101 from {path.name}: {n} cells, budgets {sorted(reader.budgets)} epochs",
    )


Mapper = Callable[[Callable, Iterable], Iterator]


@contextlib.contextmanager
def _mapper(workers: int) -> Iterator[Mapper]:
    """``map`` in order, over ``workers`` forked processes (the built-in one for 1)."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield map
        return
    # Forked before any table is built: a worker starts with the importer's few modules.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield lambda fn, tasks: pool.imap(fn, tasks, chunksize=1)


def _decode(task: tuple) -> Chunk:
    return decode_span(*task)


class _Accumulator:
    """Numpy arrays that grow with the cells, filled a chunk of records at a time."""

    def __init__(self, path: Path):
        self.path = path
        self.row_of: dict[bytes, int] = {}  # module hash (ASCII) -> row, in order of first record
        self.cells: list[bytes] = []
        self.budgets: dict[int, int] = {}
        self.values: list[np.ndarray] = []  # per budget: (capacity, REPEATS, 2, metrics)
        self.counts = np.zeros((0, MAX_BUDGETS), dtype=np.int64)  # runs read per (row, budget)
        self.params = np.zeros(0, dtype=np.int64)

    def add(self, chunk: Chunk) -> None:
        """Take the chunk's records, or raise the first error among them (in file order)."""
        errors: list[tuple[int, str]] = []  # (record in the chunk, reason): checks across chunks
        raw = chunk.keys.tobytes()
        names = [raw[32 * i : 32 * i + 32] for i in range(len(chunk.keys))]
        found = list(map(self.row_of.get, names))
        for i, (name, row) in enumerate(zip(names, found)):
            if row is None:
                found[i] = self.row_of[name] = len(self.cells)
                self.cells.append(chunk.cells[i])
            elif self.cells[row] != chunk.cells[i]:
                errors.append((int(chunk.first_record[i]), f"cell {name.decode()} has another "
                               "adjacency or operations than before"))  # fmt: skip
        rows_of_key = np.asarray(found, dtype=np.int64)
        self._grow(len(self.cells))
        unset = self.params[rows_of_key] < 0
        self.params[rows_of_key[unset]] = chunk.params[unset]
        epochs, first, inverse = np.unique(chunk.epochs, return_index=True, return_inverse=True)
        for i in np.argsort(first).tolist():
            if epochs[i] not in self.budgets:
                if len(self.budgets) >= MAX_BUDGETS:
                    errors.append(
                        (int(first[i]), f"more than {MAX_BUDGETS} distinct budgets (epochs {epochs[i]})")
                    )
                    break
                self.budgets[int(epochs[i])] = len(self.budgets)
                self.values.append(np.full((len(self.params), REPEATS, 2, len(_METRICS)), np.nan))
        budget = np.array([self.budgets.get(int(e), -1) for e in epochs], dtype=np.int64)[inverse.reshape(-1)]
        rows = rows_of_key[chunk.inverse]
        flat = rows * MAX_BUDGETS + np.maximum(budget, 0)
        repeat = self.counts.ravel()[flat] + _occurrence(flat)
        over = np.flatnonzero((repeat >= REPEATS) & (budget >= 0))
        if len(over):
            i = int(over[0])
            errors.append((i, f"more than {REPEATS} runs of cell {names[chunk.inverse[i]].decode()} "
                           f"at {chunk.epochs[i]} epochs"))  # fmt: skip
        if errors or chunk.error is not None:
            self._raise(chunk, errors)
        np.add.at(self.counts.ravel(), flat, 1)
        for b in np.unique(budget).tolist():
            mine = budget == b
            self.values[b][rows[mine], repeat[mine]] = chunk.values[mine]

    def _raise(self, chunk: Chunk, errors: list[tuple[int, str]]) -> None:
        first = min(errors, default=None)
        error = chunk.error
        if first is not None and (error is None or chunk.first + first[0] < error[0]):
            raise RecordSchemaError(self.path, f"record {chunk.first + first[0]}: {first[1]}")
        if error is None:  # not reached: callers pass row errors or a chunk error
            raise RuntimeError("nb101-official import: an error was reported without a cause")
        kind = RecordChecksumError if error[1] == "checksum" else RecordSchemaError
        raise kind(self.path, error[2])

    def _grow(self, n: int) -> None:
        capacity = len(self.params)
        if n <= capacity:
            return
        new = max(n, 2 * capacity, 1024)
        self.params = np.concatenate([self.params, np.full(new - capacity, -1, np.int64)])
        self.counts = np.concatenate([self.counts, np.zeros((new - capacity, MAX_BUDGETS), np.int64)])
        for b, values in enumerate(self.values):
            grown = np.full((new, *values.shape[1:]), np.nan)
            grown[:capacity] = values
            self.values[b] = grown

    def dataset(self, epochs: int) -> DatasetData:
        """The budget's dataset; its accumulated block is released (memory: the table's write)."""
        n, b = len(self.cells), self.budgets[epochs]
        values = self.values[b][:n]
        self.values[b] = np.zeros(0)
        present = np.arange(REPEATS)[None, :] < self.counts[:n, b, None]
        params = self.params[:n].astype(np.float64) / 1e6
        params[self.params[:n] < 0] = np.nan
        protocol: dict[str, Any] = {**_PROTOCOL, "epochs": epochs}
        return DatasetData(
            seeds=np.arange(REPEATS, dtype=np.int64),
            present=present,
            per_seed={m: np.ascontiguousarray(values[:, :, 1, j]) for j, m in enumerate(_METRICS)},
            curves={m: np.ascontiguousarray(values[:, :, :, j]) for j, m in enumerate(_METRICS)},
            epochs=np.array([max(1, epochs // 2), epochs], dtype=np.int64) if epochs > 1 else np.array([1]),
            per_arch={"params_m": params},
            metrics={m: _INFO[m] for m in (*_METRICS, "params_m")},
            protocol=protocol,
            provenance={
                "benchmark": "NAS-Bench-101 (Ying et al., ICML 2019), github.com/google-research/nasbench "
                "(Apache-2.0)",
                "sources": [{"file": self.path.name, "licence": "CC BY 4.0 (the data files)"}],
                "time_hardware": {"train_time_s": "Google Cloud TPU v2 (as published)"},
                "notes": [
                    "seeds 0, 1, 2 are the runs in file order (the file names no seeds)",
                    f"curves hold the halfway evaluation (epoch {epochs // 2}) and the final one",
                ],
            },
        )


def _occurrence(flat: np.ndarray) -> np.ndarray:
    """For each element, how many equal elements come before it."""
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    index = np.arange(len(flat))
    rank = index - np.maximum.accumulate(np.where(starts, index, 0))
    out = np.empty_like(rank)
    out[order] = rank
    return out


def _check_hashes(path: Path, reader: _Accumulator, run: Mapper) -> None:
    keys = list(reader.row_of)
    tasks = (
        (lo, reader.cells[lo : lo + HASH_CELLS], keys[lo : lo + HASH_CELLS])
        for lo in range(0, len(keys), HASH_CELLS)
    )
    mismatches: list[tuple[int, str]] = []
    for invalid, found in run(_hash_task, tasks):
        if invalid is not None:
            raise RecordSchemaError(path, invalid)
        mismatches += found
    if mismatches:
        row, computed = mismatches[0]
        raise HashMismatchError(
            path, f"{len(mismatches)} of {len(keys)} cells have a module hash that is not their graph "
            f"hash; the first: the file says {keys[row].decode()}, the cell hashes to {computed}",
        )  # fmt: skip


def _hash_task(task: tuple[int, list[bytes], list[bytes]]) -> tuple[str | None, list[tuple[int, str]]]:
    """(the first malformed cell's reason, or None; [(row, graph hash) where it is not the key])."""
    first, cells, keys = task
    by_size: dict[int, list[int]] = {}
    adjacency: list[bytes] = []
    labels: list[list[int]] = []
    for i, (key, cell) in enumerate(zip(keys, cells)):
        parsed = _parse_cell(key.decode(), cell)
        if isinstance(parsed, str):
            return parsed, []
        adjacency.append(parsed[0])
        labels.append(parsed[1])
        by_size.setdefault(len(parsed[1]), []).append(i)
    found: list[tuple[int, str]] = []
    for dim, members in by_size.items():
        digits = np.frombuffer(b"".join(adjacency[i] for i in members), dtype=np.uint8) - ord("0")
        matrices = digits.reshape(-1, dim, dim)
        lower = np.tril(np.ones((dim, dim), dtype=bool))
        wrong = ((matrices > 1) | (matrices.astype(bool) & lower)).any(axis=(1, 2))
        if wrong.any():
            i = members[int(np.flatnonzero(wrong)[0])]
            return (
                f"cell {keys[i].decode()}: {_shown(cells[i])} is not a strictly upper triangular 0/1 matrix",
                [],
            )
        computed = hash_modules(matrices, np.array([labels[i] for i in members]).reshape(-1, dim))
        found += [(first + i, h) for i, h in zip(members, computed) if h.encode() != keys[i]]
    return None, sorted(found)


def _parse_cell(key: str, cell: bytes) -> tuple[bytes, list[int]] | str:
    """(adjacency digits, labels) of a cell text, or what is wrong with it."""
    adjacency, operations = cell_parts(cell)
    dim = math.isqrt(len(adjacency))
    ops = operations.split(",")
    if dim * dim != len(adjacency) or not 2 <= dim <= MAX_NODES or not adjacency.isascii():
        return f"cell {key}: {_shown(cell)}: the adjacency is not a square of 2 to {MAX_NODES} nodes"
    if len(ops) != dim or ops[0] != "input" or ops[-1] != "output":
        return f"cell {key}: {_shown(cell)}: the operations do not match the nodes"
    labels = [_LABELS.get(op, 0) for op in ops]
    if any(op not in _LABELS or op in ("input", "output") for op in ops[1:-1]):
        return f"cell {key}: unknown operation in {operations!r}"
    return adjacency.encode(), labels


def _shown(cell: bytes) -> str:
    adjacency, operations = cell_parts(cell)
    return f"adjacency {adjacency!r} with operations {operations!r}"
