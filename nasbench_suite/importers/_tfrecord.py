"""TFRecord files without TensorFlow: framing, checksums, and the NB101 metrics message.

A TFRecord file is a sequence of records, each::

    uint64 length (LE) | uint32 masked CRC32C of those 8 bytes | data | uint32 masked CRC32C of data

where ``masked(crc) = ((crc >> 15) | (crc << 17)) + 0xA282EAD8`` (mod 2**32).
Both checksums are checked; CRC32C comes from the ``crc32c`` package (hardware
instructions where the CPU has them).

NAS-Bench-101's ``ModelMetrics`` protocol buffer (``nasbench/lib/model_metrics.proto``)::

    message ModelMetrics { repeated EvaluationData evaluation_data = 1;
                           optional int32 trainable_parameters = 2; optional double total_time = 3; }
    message EvaluationData { optional double current_epoch = 1; optional double training_time = 2;
                             optional double train_accuracy = 3; optional double validation_accuracy = 4;
                             optional double test_accuracy = 5; optional string checkpoint_path = 6; }

is decoded here for a whole batch of messages at once with numpy (the field
loop runs once per field position, not once per message); unknown fields are
skipped as the protobuf rules say.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import google_crc32c
import numpy as np

from nasbench_suite.errors import ImportSourceError

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
#: Fields 1..5 of EvaluationData, in this order.
EVAL_FIELDS = ("current_epoch", "training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
#: How many EvaluationData entries are kept (the official API reads entries 1 and 2).
MAX_EVALS = 3


class RecordChecksumError(ImportSourceError):
    """A record's length or data does not match its masked CRC32C."""


class TruncatedRecordError(ImportSourceError):
    """The file ends inside a record."""


class RecordSchemaError(ImportSourceError):
    """A record's content is not what the format defines (JSON row or metrics message)."""


def masked_crc32c(data: bytes) -> int:
    """The TFRecord masked CRC32C of ``data``."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One TFRecord: ``data`` with its length and both masked checksums."""
    length = struct.pack("<Q", len(data))
    return length + _CRC.pack(masked_crc32c(length)) + data + _CRC.pack(masked_crc32c(data))


def read_records(path: Path, fh: BinaryIO, block_bytes: int = 8 << 20) -> Iterator[list[bytes]]:
    """The data of every record of ``fh``, in lists of the records that end in each block read.

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


def encode_metrics(
    evaluations: list[tuple[float, ...]], trainable_parameters: int, total_time: float
) -> bytes:
    """A serialised ``ModelMetrics``: ``evaluations`` of 5 doubles each (fields 1..5 of EvaluationData)."""
    out = bytearray()
    for values in evaluations:
        body = b"".join(struct.pack("<Bd", (f << 3) | 1, v) for f, v in enumerate(values, start=1))
        out += bytes([0x0A]) + _varint(len(body)) + body
    out += bytes([0x10]) + _varint(trainable_parameters) + struct.pack("<Bd", 0x19, total_time)
    return bytes(out)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_metrics(messages: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decode a batch of ``ModelMetrics`` messages.

    Returns:
        evals: (n, MAX_EVALS, 5) float64, fields 1..5 of each of the first entries (NaN: absent);
        n_evals: (n,) int64, how many EvaluationData entries each message has;
        params: (n,) int64, ``trainable_parameters`` (-1: absent);
        bad: (n,) bool, messages that are not valid protocol buffers of this type.
    """
    n = len(messages)
    lengths = np.fromiter(map(len, messages), dtype=np.int64, count=n)
    ends = np.cumsum(lengths)
    pos = ends - lengths
    buf = np.frombuffer(b"".join(messages) + b"\0" * 16, dtype=np.uint8)
    evals = np.full((n, MAX_EVALS, 5), np.nan)
    n_evals = np.zeros(n, dtype=np.int64)
    params = np.full(n, -1, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    sub_end = np.zeros(n, dtype=np.int64)  # > 0 while inside an EvaluationData
    active = np.flatnonzero(pos < ends)
    while len(active):
        p = pos[active]
        tag = buf[p].astype(np.int64)
        if (tag >= 0x80).any():  # field numbers above 15: a multi-byte tag
            tag, p = _read_varints(buf, p)
        else:
            p = p + 1
        field, wire = tag >> 3, tag & 7
        inside = sub_end[active] > 0
        new_p = np.full(len(active), -1, dtype=np.int64)
        # Doubles (wire type 1): EvaluationData fields 1..5, or ModelMetrics' total_time.
        is_double = wire == 1
        new_p[is_double] = p[is_double] + 8
        take = is_double & inside & (field <= 5)
        if take.any():
            rows, at = active[take], p[take]
            slot = n_evals[rows] - 1
            keep = slot < MAX_EVALS
            raw = np.ascontiguousarray(buf[at[keep, None] + np.arange(8)]).view("<f8")[:, 0]
            evals[rows[keep], slot[keep], field[take][keep] - 1] = raw
        # Length-delimited: EvaluationData (top level, field 1) is entered; anything else skipped.
        is_len = wire == 2
        if is_len.any():
            length, after = _read_varints(buf, p[is_len])
            enter = ~inside[is_len] & (field[is_len] == 1)
            new_p[is_len] = np.where(enter, after, after + length)
            rows = active[is_len][enter]
            sub_end[rows] = after[enter] + length[enter]
            bad[rows[sub_end[rows] > ends[rows]]] = True
            n_evals[rows] += 1
        # Varints (wire type 0): trainable_parameters at the top level, else skipped.
        is_var = wire == 0
        if is_var.any():
            value, after = _read_varints(buf, p[is_var])
            new_p[is_var] = after
            top = ~inside[is_var] & (field[is_var] == 2)
            params[active[is_var][top]] = value[top]
        is_fixed32 = wire == 5
        new_p[is_fixed32] = p[is_fixed32] + 4
        # Wire types 3, 4, 6, 7 (groups, invalid), field 0, and a known field with
        # another wire type than the definition's: not this message.
        wrong = (new_p < 0) | (field == 0)
        wrong |= ~inside & (((field == 1) & ~is_len) | ((field == 2) & ~is_var) | ((field == 3) & ~is_double))
        wrong |= inside & (((field <= 5) & ~is_double) | ((field == 6) & ~is_len))
        pos[active] = np.where(wrong, ends[active], new_p)
        bad[active[wrong]] = True
        now = pos[active]
        now_sub = sub_end[active]
        over = (now > ends[active]) | ((now_sub > 0) & (now > now_sub))
        bad[active[over]] = True
        sub_end[active[(now_sub > 0) & (now == now_sub)]] = 0
        active = active[~wrong & ~over & (now < ends[active])]
    bad |= sub_end > 0  # ended inside an EvaluationData
    return evals, n_evals, params, bad


def _read_varints(buf: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varints starting at positions ``p``: (values, positions after them); 10 bytes at most."""
    value = np.zeros(len(p), dtype=np.int64)
    size = np.zeros(len(p), dtype=np.int64)
    open_ = np.ones(len(p), dtype=bool)
    limit = len(buf) - 1
    for i in range(10):
        byte = buf[np.minimum(p + i, limit)].astype(np.int64)
        value |= np.where(open_, (byte & 0x7F) << (7 * i), 0)
        size += open_
        open_ &= byte >= 0x80
        if not open_.any():
            break
    return value, p + size
