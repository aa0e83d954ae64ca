"""TFRecord files without TensorFlow: framing and checksums.

A TFRecord file is a sequence of records, each::

    uint64 length (LE) | uint32 masked CRC32C of those 8 bytes | data | uint32 masked CRC32C of data

where ``masked(crc) = ((crc >> 15) | (crc << 17)) + 0xA282EAD8`` (mod 2**32).
Both checksums are checked; CRC32C comes from the ``google-crc32c`` package (hardware
instructions where the CPU has them). :class:`Framing` finds the records of a whole file by
hopping from header to header and checks the lengths' checksums in numpy (a CRC of a fixed
length is affine in its bytes: eight table lookups); :func:`data_crcs_match` checks the data
of a run of records.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import google_crc32c
import numpy as np

from nasbench_suite.errors import ImportSourceError
from nasbench_suite.importers._model_metrics import EVAL_FIELDS, MAX_EVALS, decode_metrics

__all__ = ["EVAL_FIELDS", "MAX_EVALS", "Framing", "decode_metrics", "encode_metrics", "frame"]

_MASK_DELTA = 0xA282EAD8
_CRC = struct.Struct("<I")


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


def _mask(crc: np.ndarray) -> np.ndarray:
    crc = crc.astype(np.uint64)
    return (((crc >> np.uint64(15)) | (crc << np.uint64(17))) + np.uint64(_MASK_DELTA)) & np.uint64(
        0xFFFFFFFF
    )


# CRC32C of 8 bytes = CRC32C of 8 zero bytes XOR, for each byte, its table entry at its position.
_ZERO8 = google_crc32c.value(bytes(8))
_LENGTH_TABLE = np.array(
    [
        [google_crc32c.value(bytes(i) + bytes([b]) + bytes(7 - i)) ^ _ZERO8 for b in range(256)]
        for i in range(8)
    ],
    dtype=np.uint32,
)


def masked_length_crcs(lengths: np.ndarray) -> np.ndarray:
    """The masked CRC32C of each uint64 ``lengths`` as its 8 little-endian bytes, in numpy."""
    as_bytes = np.ascontiguousarray(lengths, dtype="<u8").view(np.uint8).reshape(-1, 8)
    crc = np.full(len(as_bytes), _ZERO8, dtype=np.uint32)
    for i in range(8):
        crc ^= _LENGTH_TABLE[i][as_bytes[:, i]]
    return _mask(crc)


def data_crcs_match(buf: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For records whose data is ``buf[starts[i]:ends[i]]``, each followed by its masked CRC32C:
    which ones match (one C call per record: the data are a few hundred bytes)."""
    value = google_crc32c.value
    computed = np.array([value(buf[a:b]) for a, b in zip(starts.tolist(), ends.tolist())], dtype=np.uint32)
    raw = np.frombuffer(buf, dtype=np.uint8)
    stored = raw[ends[:, None] + np.arange(4)].copy().view("<u4")[:, 0]
    return _mask(computed) == stored


class Framing:
    """The records of a file, found by hopping from header to header (only the headers are
    read: 8 MB at a time); :meth:`spans` yields them in runs with their lengths' checksums
    checked, and stops at the first bad record, leaving its error in :attr:`error` (so that
    the records before it are still yielded and decoded: errors are reported in file order).
    """

    def __init__(self, path: Path, fh: BinaryIO, block_bytes: int = 8 << 20):
        self.path = path
        self.fd = fh.fileno()
        self.size = os.fstat(self.fd).st_size
        self.block_bytes = block_bytes
        self.error: ImportSourceError | None = None

    def spans(self, records: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(number of the first record, header offsets, data lengths) of runs of ``records``."""
        number, base, unpack = 0, 0, struct.Struct("<Q").unpack_from
        offsets: list[int] = []
        lengths: list[int] = []
        crcs: list[int] = []
        while base + 12 <= self.size and self.error is None:
            block = os.pread(self.fd, self.block_bytes, base)
            pos, end, found = 0, len(block), []
            while end - pos >= 12:  # the only loop per record: one append, one unpack
                found.append(pos)
                pos += unpack(block, pos)[0] + 16
            at = np.array(found, dtype=np.int64)
            header = np.frombuffer(block, dtype=np.uint8)[at[:, None] + np.arange(12)].copy()
            offsets += (at + base).tolist()
            lengths += header[:, :8].view("<u8")[:, 0].tolist()
            crcs += header[:, 8:].view("<u4")[:, 0].tolist()
            base += pos
            while len(offsets) >= records or (offsets and base + 12 > self.size):
                span = self._checked(number, offsets[:records], lengths[:records], crcs[:records])
                if len(span[1]):
                    yield span
                number += len(span[1])
                if self.error is not None:
                    return
                del offsets[:records], lengths[:records], crcs[:records]
        if self.error is None and base < self.size:  # fewer than 12 bytes after the last record
            self.error = TruncatedRecordError(
                self.path,
                f"the file ends inside record {number} (at byte {base}, {self.size - base} bytes left)",
            )

    def _checked(self, number: int, offsets: list, lengths: list, crcs: list) -> tuple:
        offs = np.array(offsets, dtype=np.int64)
        lens = np.array(lengths, dtype=np.uint64)
        bad = np.flatnonzero(masked_length_crcs(lens) != np.array(crcs, dtype=np.uint64))
        stop = int(bad[0]) if len(bad) else len(offs)
        # A length past the file's size is clipped to it first (it could overflow int64).
        ends = offs[:stop] + 16 + np.minimum(lens[:stop], np.uint64(self.size)).astype(np.int64)
        over = np.flatnonzero(ends > self.size)
        if len(over):
            stop = int(over[0])
            self.error = TruncatedRecordError(
                self.path,
                f"the file ends inside record {number + stop} "
                f"(at byte {offsets[stop]}, {self.size - offsets[stop]} bytes left)",
            )
        elif len(bad):
            self.error = RecordChecksumError(
                self.path,
                f"record {number + stop} at byte {offsets[stop]}: the CRC32C of its length does not match",
            )
        return number, offs[:stop], lens[:stop].astype(np.int64)  # in the file: under 2**63


def frame(data: bytes) -> bytes:
    """One TFRecord: ``data`` with its length and both masked checksums."""
    length = struct.pack("<Q", len(data))
    return length + _CRC.pack(masked_crc32c(length)) + data + _CRC.pack(masked_crc32c(data))


def encode_metrics(
    evaluations: list[tuple[float, ...]], trainable_parameters: int, total_time: float
) -> bytes:
    """A serialised ``ModelMetrics``: ``evaluations`` of 5 doubles each (fields 1..5 of EvaluationData)."""
    entries = b"".join(_ENTRY.pack(0x0A, _ENTRY.size - 2, *_tagged(values)) for values in evaluations)
    return entries + bytes([0x10]) + _varint(trainable_parameters) + struct.pack("<Bd", 0x19, total_time)


#: One EvaluationData entry of five doubles, as a field of ModelMetrics (tag, length, fields).
_ENTRY = struct.Struct("<BB" + "Bd" * 5)


def _tagged(values: tuple[float, ...]) -> list[float]:
    return [x for f, v in enumerate(values, start=1) for x in ((f << 3) | 1, v)]


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
