"""Importer for the official NAS-Bench-101 files, read without TensorFlow.

``nasbench_only108.tfrecord`` (423,624 cells x 3 runs at 108 epochs) and
``nasbench_full.tfrecord`` (the same at 4, 12, 36 and 108 epochs). Each TFRecord
(:mod:`nasbench_suite.importers._tfrecord`: framing and both CRCs checked) holds
one run as the JSON row ``[module_hash, epochs, adjacency, operations, metrics]``:
the adjacency as a string of ``dim * dim`` 0/1 digits, the operations joined by
commas, and the base64 of a serialised ``ModelMetrics`` whose evaluation entries
1 and 2 are the halfway and final evaluations (entry 0 is the untrained network),
as the official ``api.py`` reads them.

The file is streamed: records are read in blocks, decoded a batch at a time and
scattered into numpy arrays, so memory grows with the cells, not with the records.
"""

from __future__ import annotations

import binascii
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.errors import ImportSourceError
from nasbench_suite.importers._tfrecord import (
    RecordChecksumError,
    RecordSchemaError,
    TruncatedRecordError,
    decode_metrics,
    read_records,
)
from nasbench_suite.importers.nb101 import _PROTOCOL
from nasbench_suite.spaces.nb101_cell import INTERIOR_OPS, MAX_NODES
from nasbench_suite.spaces.nb101_hash import hash_module
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

__all__ = [
    "HashMismatchError",
    "RecordChecksumError",
    "RecordSchemaError",
    "TruncatedRecordError",
    "import_table",
]

REPEATS = 3
#: Bounds on what a record may declare: the official files hold budgets 4, 12, 36 and 108.
MAX_EPOCHS = 100_000
MAX_BUDGETS = 16
#: (metric, EvaluationData field index, scale): accuracies are fractions in the file.
_METRICS = (
    ("train_acc", 2, 100.0),
    ("valid_acc", 3, 100.0),
    ("test_acc", 4, 100.0),
    ("train_time_s", 1, 1.0),
)
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


def import_table(source: Path, *, check_hashes: bool = True) -> TableData:
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
            file's (the slowest step: about 0.15 ms a cell).

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
    reader = _Accumulator(path)
    with open(path, "rb") as fh:
        for batch in read_records(path, fh):
            reader.add(batch)
    if not reader.keys:
        raise ImportSourceError(path, "no records in the file")
    n = len(reader.keys)
    if check_hashes:
        _check_hashes(path, reader)
    datasets = {f"cifar10@{e}": reader.dataset(e) for e in sorted(reader.budgets)}
    return TableData(
        space="nb101",
        keys=reader.keys,
        datasets=datasets,
        description=f"NAS-Bench-101 from {path.name}: {n} cells, budgets {sorted(reader.budgets)} epochs",
    )


class _Accumulator:
    """Numpy arrays filled batch by batch; the parsed rows of a batch are dropped after it."""

    def __init__(self, path: Path):
        self.path = path
        self.keys: list[str] = []
        self.cells: list[tuple[str, str]] = []
        self.row_of: dict[str, int] = {}
        self.budgets: dict[int, int] = {}
        self.values: list[np.ndarray] = []  # per budget: (capacity, REPEATS, 2, metrics)
        self.counts = np.zeros((0, 0), dtype=np.int64)  # (capacity, budgets) runs read
        self.params = np.zeros(0, dtype=np.int64)
        self.n_records = 0

    def add(self, batch: list[bytes]) -> None:
        first = self.n_records
        self.n_records += len(batch)
        try:
            rows = json.loads(b"[" + b",".join(batch) + b"]")
        except ValueError:
            for i, data in enumerate(batch):
                try:
                    json.loads(data)
                except ValueError as exc:
                    self._fail(first + i, f"not a JSON row ({exc})")
            raise
        for i, row in enumerate(rows):
            if type(row) is not list or len(row) != 5:
                self._fail(first + i, "expected [module_hash, epochs, adjacency, operations, metrics]")
        hashes, epochs, adjacency, operations, metrics = zip(*rows)
        for column, kind, what in (
            (hashes, str, "module_hash"),
            (epochs, int, "epochs"),
            (adjacency, str, "adjacency"),
            (operations, str, "operations"),
            (metrics, str, "metrics"),
        ):
            if set(map(type, column)) != {kind}:
                i = next(i for i, v in enumerate(column) if type(v) is not kind)
                self._fail(first + i, f"{what} is {column[i]!r}, expected {kind.__name__}")
        try:
            messages = [binascii.a2b_base64(m, strict_mode=True) for m in metrics]
        except ValueError:  # binascii.Error, or a ValueError for text that is not ASCII
            i = next(i for i, m in enumerate(metrics) if not _is_base64(m))
            self._fail(first + i, "metrics is not base64")
        evals, n_evals, params, bad = decode_metrics(messages)
        wrong = bad | (n_evals < 3)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            self._fail(first + i, "metrics is not a ModelMetrics message with 3 evaluations")
        cell_rows = self._rows(hashes, adjacency, operations, first)
        budget = np.fromiter((self._budget(e, first + i) for i, e in enumerate(epochs)), np.int64, len(rows))
        self._grow(len(self.keys))
        flat = cell_rows * len(self.budgets) + budget
        repeat = self.counts.ravel()[flat] + _occurrence(flat)
        if (repeat >= REPEATS).any():
            i = int(np.flatnonzero(repeat >= REPEATS)[0])
            self._fail(first + i, f"more than {REPEATS} runs of cell {hashes[i]} at {epochs[i]} epochs")
        np.add.at(self.counts.ravel(), flat, 1)
        new_cell = self.params[cell_rows] < 0
        self.params[cell_rows[new_cell]] = params[new_cell]
        picked = np.stack([evals[:, 1:3, field] * scale for _, field, scale in _METRICS], axis=-1)
        for b in np.unique(budget).tolist():
            mine = budget == b
            self.values[b][cell_rows[mine], repeat[mine]] = picked[mine]

    def _rows(self, hashes: tuple, adjacency: tuple, operations: tuple, first: int) -> np.ndarray:
        """Row of each record's cell (new cells appended); a hash seen with another cell is an error."""
        found = list(map(self.row_of.get, hashes))
        for i in [i for i, row in enumerate(found) if row is None]:
            row = self.row_of.get(hashes[i])
            if row is None:
                row = self.row_of[hashes[i]] = len(self.keys)
                self.keys.append(hashes[i])
                self.cells.append((adjacency[i], operations[i]))
            found[i] = row
        # Compared in C, whole lists at once; the loop below runs only to name a culprit.
        cells = list(map(self.cells.__getitem__, found))
        if cells != list(zip(adjacency, operations)):
            i = next(i for i, c in enumerate(cells) if c != (adjacency[i], operations[i]))
            self._fail(first + i, f"cell {hashes[i]} has another adjacency or operations than before")
        return np.asarray(found, dtype=np.int64)

    def _budget(self, epochs: int, number: int) -> int:
        b = self.budgets.get(epochs)
        if b is None:
            if not 1 <= epochs <= MAX_EPOCHS:
                self._fail(number, f"epochs {epochs} is not a budget in 1..{MAX_EPOCHS}")
            if len(self.budgets) >= MAX_BUDGETS:
                self._fail(number, f"more than {MAX_BUDGETS} distinct budgets (epochs {epochs})")
            b = self.budgets[epochs] = len(self.budgets)
            self.values.append(np.full((len(self.params), REPEATS, 2, len(_METRICS)), np.nan))
            self.counts = np.concatenate([self.counts, np.zeros((len(self.counts), 1), np.int64)], axis=1)
        return b

    def _grow(self, n: int) -> None:
        capacity = len(self.params)
        if n <= capacity:
            return
        new = max(n, 2 * capacity, 1024)
        self.params = np.concatenate([self.params, np.full(new - capacity, -1, np.int64)])
        self.counts = np.concatenate([self.counts, np.zeros((new - capacity, len(self.budgets)), np.int64)])
        for b, values in enumerate(self.values):
            grown = np.full((new, *values.shape[1:]), np.nan)
            grown[:capacity] = values
            self.values[b] = grown

    def dataset(self, epochs: int) -> DatasetData:
        n, b = len(self.keys), self.budgets[epochs]
        values = self.values[b][:n]
        present = np.arange(REPEATS)[None, :] < self.counts[:n, b, None]
        names = [m for m, _, _ in _METRICS]
        params = self.params[:n].astype(np.float64) / 1e6
        params[self.params[:n] < 0] = np.nan
        protocol: dict[str, Any] = {**_PROTOCOL, "epochs": epochs}
        return DatasetData(
            seeds=np.arange(REPEATS, dtype=np.int64),
            present=present,
            per_seed={m: np.ascontiguousarray(values[:, :, 1, j]) for j, m in enumerate(names)},
            curves={m: np.ascontiguousarray(values[:, :, :, j]) for j, m in enumerate(names)},
            epochs=np.array([max(1, epochs // 2), epochs], dtype=np.int64) if epochs > 1 else np.array([1]),
            per_arch={"params_m": params},
            metrics={m: _INFO[m] for m in (*names, "params_m")},
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

    def _fail(self, number: int, reason: str) -> None:
        raise RecordSchemaError(self.path, f"record {number}: {reason}")


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


def _is_base64(text: str) -> bool:
    try:
        binascii.a2b_base64(text, strict_mode=True)
    except ValueError:
        return False
    return True


def _check_hashes(path: Path, reader: _Accumulator) -> None:
    mismatches = []
    for key, (adjacency, operations) in zip(reader.keys, reader.cells):
        matrix, labels = _parse_cell(path, key, adjacency, operations)
        computed = hash_module(matrix, labels)
        if computed != key:
            mismatches.append((key, computed))
    if mismatches:
        key, computed = mismatches[0]
        raise HashMismatchError(
            path, f"{len(mismatches)} of {len(reader.keys)} cells have a module hash that is not their graph "
            f"hash; the first: the file says {key}, the cell hashes to {computed}",
        )  # fmt: skip


def _parse_cell(path: Path, key: str, adjacency: str, operations: str) -> tuple[list[list[int]], list[int]]:
    dim = math.isqrt(len(adjacency))
    ops = operations.split(",")
    ok = dim * dim == len(adjacency) and 2 <= dim <= MAX_NODES and set(adjacency) <= {"0", "1"}
    if not ok or len(ops) != dim or ops[0] != "input" or ops[-1] != "output":
        raise RecordSchemaError(path, f"cell {key}: adjacency {adjacency!r} with operations {operations!r}")
    if any(op not in _LABELS for op in ops[1:-1]) or "input" in ops[1:-1] or "output" in ops[1:-1]:
        raise RecordSchemaError(path, f"cell {key}: unknown operation in {operations!r}")
    matrix = [[int(adjacency[r * dim + c]) for c in range(dim)] for r in range(dim)]
    if any(matrix[r][c] for r in range(dim) for c in range(r + 1)):
        raise RecordSchemaError(path, f"cell {key}: adjacency {adjacency!r} is not strictly upper triangular")
    return matrix, [_LABELS[op] for op in ops]
