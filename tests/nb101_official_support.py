"""Writers of files in the official NAS-Bench-101 tfrecord format, for tests and benchmarks.

The format is the public one (``google-research/nasbench``, ``api.py`` and
``lib/model_metrics.proto``): one TFRecord per run holding the JSON row
``[module_hash, epochs, adjacency digits, comma-joined operations, base64 ModelMetrics]``.
The values are made up; the structure, the hashes and the checksums are real.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nasbench_suite import spaces
from nasbench_suite.importers._tfrecord import (
    RecordChecksumError,
    TruncatedRecordError,
    encode_metrics,
    frame,
    masked_crc32c,
)
from nasbench_suite.spaces.nb101_cell import INTERIOR_OPS
from nasbench_suite.spaces.nb101_hash import hash_modules

Cell = tuple[str, str, str]  # (hash, adjacency digits, operations)
LABELS = {"input": -1, "output": -2, **{op: i for i, op in enumerate(INTERIOR_OPS)}}
FULL_BUDGETS = (4, 12, 36, 108)
FULL_SIZE = 423_624


def sampled_cells(n: int, seed: int = 0) -> list[Cell]:
    """``n`` distinct cells of the NB101 space (pruned, keyed by the space)."""
    space = spaces.get("nb101")
    rng = np.random.default_rng(seed)
    found: dict[str, Cell] = {}
    while len(found) < n:
        cell = space.prune(space.sample(rng))
        key = space.key(cell)
        digits = "".join(str(v) for row in cell.matrix for v in row)
        found.setdefault(key, (key, digits, ",".join(cell.ops)))
    return list(found.values())


def chain_cells(n: int, seed: int = 0) -> Iterator[Cell]:
    """``n`` distinct 7-node cells: the path 0 -> 1 -> ... -> 6 plus other edges and ops drawn at random.

    The path fixes the only topological order, so different (edges, ops) are
    different graphs. Some have more than 9 edges (outside the NB101 space): this
    is for files of the official size, where the space's 423,624 cells would have
    to be enumerated otherwise.
    """
    others = [(r, c) for r in range(7) for c in range(r + 2, 7)]  # 15 edges off the path
    rng = np.random.default_rng(seed)
    picks = rng.choice(2 ** len(others) * 3**5, size=n, replace=False)
    for lo in range(0, n, 8192):  # hashed a batch at a time (hash_modules: the same hashes)
        edges, ops_code = np.divmod(picks[lo : lo + 8192], 3**5)
        matrices = np.zeros((len(edges), 7, 7), dtype=np.int64)
        matrices[:, np.arange(6), np.arange(1, 7)] = 1
        for bit, (r, c) in enumerate(others):
            matrices[:, r, c] = (edges >> bit) & 1
        op_ids = (ops_code[:, None] // 3 ** np.arange(5)) % 3
        labels = np.concatenate([np.full((len(edges), 1), -1), op_ids, np.full((len(edges), 1), -2)], axis=1)
        for matrix, ids, key in zip(matrices, op_ids.tolist(), hash_modules(matrices, labels)):
            ops = [INTERIOR_OPS[i] for i in ids]
            yield key, "".join(map(str, matrix.reshape(-1).tolist())), ",".join(["input", *ops, "output"])


def records(
    cells: list[Cell] | Iterator[Cell], budgets: tuple[int, ...] = (108,), repeats: int = 3, seed: int = 0
) -> Iterator[tuple[str, int, int, bytes]]:
    """(hash, epochs, repeat, JSON row bytes) for every run, cell by cell."""
    rng = np.random.default_rng(seed)
    runs = len(budgets) * repeats
    for key, digits, ops in cells:
        params = int(rng.integers(200_000, 40_000_000))
        acc = rng.uniform(0.1, 0.95, size=(runs, 2, 3)).tolist()  # drawn per cell: fewer calls
        times = rng.uniform(100, 5000, size=runs).tolist()
        for k, (epochs, repeat) in enumerate((e, r) for e in budgets for r in range(repeats)):
            time_s = times[k] * epochs / 108
            evaluations = [
                (0.0, 0.0, 0.1, 0.1, 0.1),
                (epochs / 2, time_s / 2, *acc[k][0]),
                (float(epochs), time_s, *acc[k][1]),
            ]
            metrics = base64.b64encode(encode_metrics(evaluations, params, time_s * 1.1)).decode()
            yield key, epochs, repeat, json.dumps([key, epochs, digits, ops, metrics]).encode()


def write_file(path: Path, cells, budgets=(108,), repeats: int = 3, seed: int = 0) -> Path:
    """Write an official-format file of ``cells`` x ``budgets`` x ``repeats`` records."""
    with open(path, "wb") as fh:
        chunk = []
        for *_, data in records(cells, budgets, repeats, seed):
            chunk.append(frame(data))
            if len(chunk) >= 4096:
                fh.write(b"".join(chunk))
                chunk.clear()
        fh.write(b"".join(chunk))
    return path


def metrics_class():
    """The ``ModelMetrics`` message class of the ``protobuf`` package, built from the public definition."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    proto = descriptor_pb2.FileDescriptorProto(
        name="model_metrics.proto", package="nasbench", syntax="proto2"
    )
    ev = proto.message_type.add(name="EvaluationData")
    names = ("current_epoch", "training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
    for number, name in enumerate(names, start=1):
        ev.field.add(name=name, number=number, type=1, label=1)  # optional double
    ev.field.add(name="checkpoint_path", number=6, type=9, label=1)  # optional string
    mm = proto.message_type.add(name="ModelMetrics")
    mm.field.add(name="evaluation_data", number=1, type=11, label=3, type_name=".nasbench.EvaluationData")
    mm.field.add(name="trainable_parameters", number=2, type=5, label=1)
    mm.field.add(name="total_time", number=3, type=1, label=1)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.ModelMetrics"))


def official_way(path: Path) -> dict:
    """Read a file as the official ``api.py`` does (every record into Python dicts, the
    metrics by the ``protobuf`` package), with this project's framing reader instead of TensorFlow's."""
    model_metrics = metrics_class()
    fixed: dict = {}
    computed: dict = {}
    with open(path, "rb") as fh:
        for batch in read_records(path, fh):
            for data in batch:
                key, epochs, adjacency, operations, raw = json.loads(data.decode("utf-8"))
                dim = int(np.sqrt(len(adjacency)))
                matrix = np.array([int(e) for e in adjacency], dtype=np.int8).reshape(dim, dim)
                metrics = model_metrics.FromString(base64.b64decode(raw))
                if key not in fixed:
                    fixed[key] = {
                        "module_adjacency": matrix,
                        "module_operations": operations.split(","),
                        "trainable_parameters": metrics.trainable_parameters,
                    }
                    computed[key] = {}
                half, final = metrics.evaluation_data[1], metrics.evaluation_data[2]
                computed[key].setdefault(epochs, []).append(
                    {
                        "halfway_training_time": half.training_time,
                        "halfway_train_accuracy": half.train_accuracy,
                        "halfway_validation_accuracy": half.validation_accuracy,
                        "halfway_test_accuracy": half.test_accuracy,
                        "final_training_time": final.training_time,
                        "final_train_accuracy": final.train_accuracy,
                        "final_validation_accuracy": final.validation_accuracy,
                        "final_test_accuracy": final.test_accuracy,
                    }
                )
    return computed


_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")


def read_records(path: Path, fh: BinaryIO, block_bytes: int = 8 << 20) -> Iterator[list[bytes]]:
    """The data of every record of ``fh``, in lists of the records that end in each block read:
    the reading loop of TensorFlow's record iterator, both checksums checked, for the official
    way (the importer finds records with ``_tfrecord.Framing`` instead).

    Memory stays bounded by the block size (plus one record larger than it).

    Raises:
        RecordChecksumError: naming the record (0-based) and which checksum failed.
        TruncatedRecordError: the file ends inside a record.
    """
    buf = b""
    number = 0
    offset = 0  # file offset of buf[0]
    while True:
        chunk = fh.read(block_bytes)
        buf = buf + chunk if buf else chunk
        pos, end, batch = 0, len(buf), []
        while end - pos >= 12:
            length, length_crc = _HEADER.unpack_from(buf, pos)
            if masked_crc32c(buf[pos : pos + 8]) != length_crc:
                raise RecordChecksumError(
                    path, f"record {number} at byte {offset + pos}: the CRC32C of its length does not match"
                )
            stop = pos + 12 + length
            if stop + 4 > end:
                break
            data = buf[pos + 12 : stop]
            if masked_crc32c(data) != _CRC.unpack_from(buf, stop)[0]:
                raise RecordChecksumError(
                    path, f"record {number} at byte {offset + pos}: the CRC32C of its data does not match"
                )
            batch.append(data)
            number += 1
            pos = stop + 4
        if batch:
            yield batch
        buf = buf[pos:]
        offset += pos
        if not chunk:
            if buf:
                raise TruncatedRecordError(
                    path, f"the file ends inside record {number} (at byte {offset}, {len(buf)} bytes left)"
                )
            return
