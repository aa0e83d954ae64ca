"""The records of the official NAS-Bench-101 file, decoded a run at a time (one task of a worker).

Each record's data is the JSON row ``[module_hash, epochs, adjacency, operations, metrics]``.
Rows as ``json.dumps`` writes them (``", "`` between fields, no escapes, printable ASCII:
the official files' form) are cut at their eight quotes by numpy over the whole run, every
separator and character checked, and their base64 decoded by ``binascii``; a row in any other
form (other spacing, escapes, a wrong type) is read by ``json.loads``, which also names
what is wrong with it. Both ways give the same values: the fast way only takes rows whose
meaning it can check byte by byte. The result holds numpy arrays and one ``bytes`` per
distinct cell, never a Python object per record.
"""

from __future__ import annotations

import binascii
import json
import os
import re
from dataclasses import dataclass

import numpy as np

from nasbench_suite.importers._model_metrics import decode_metrics_at
from nasbench_suite.importers._tfrecord import data_crcs_match

#: Bounds on what a record may declare: the official files hold budgets 4, 12, 36 and 108.
MAX_EPOCHS = 100_000
#: A cell of at most 7 nodes takes 49 digits, the separator and 7 operation names: far less.
MAX_CELL_TEXT = 256
#: (EvaluationData field index, scale) of the metrics kept: train, valid, test accuracy, time.
FIELDS = ((2, 100.0), (3, 100.0), (4, 100.0), (1, 1.0))
_HASH = re.compile(r"[0-9a-f]{32}")
_SEP = np.frombuffer(b", ", dtype=np.uint8)
#: Bytes the fast cut leaves to json.loads: control characters, the escape, and non-ASCII.
_ODD = (np.arange(256) < 0x20) | (np.arange(256) > 0x7E) | (np.arange(256) == ord("\\"))


@dataclass
class Chunk:
    """The decoded records ``first .. first + n - 1``; ``error`` names the record after them."""

    first: int
    keys: np.ndarray  # (u, 32) uint8: the distinct module hashes, in order of first record
    first_record: np.ndarray  # (u,) int64: each hash's first record (in the chunk)
    cells: list[bytes]  # (u,) that record's 'adjacency", "operations' (JSON string contents)
    params: np.ndarray  # (u,) int64: its trainable parameters (-1: absent)
    inverse: np.ndarray  # (n,) int64: each record's hash
    epochs: np.ndarray  # (n,) int64
    values: np.ndarray  # (n, 2, len(FIELDS)) float64: halfway and final evaluation
    error: tuple[int, str, str] | None = None  # (record number, "checksum" | "schema", reason)

    @property
    def n(self) -> int:
        return len(self.epochs)


def decode_span(path: str, first: int, offsets: np.ndarray, lengths: np.ndarray) -> Chunk:
    """Read, check (data CRC32Cs) and decode the records at ``offsets`` (their headers)."""
    with open(path, "rb") as fh:
        total = int(offsets[-1] + 16 + lengths[-1] - offsets[0])
        buf = os.pread(fh.fileno(), total, int(offsets[0]))
    starts = offsets - offsets[0] + 12
    ends = starts + lengths
    bad = np.flatnonzero(~data_crcs_match(buf, starts, ends))
    stop = int(bad[0]) if len(bad) else len(starts)
    chunk = decode_rows(buf, starts[:stop], ends[:stop], first)
    if chunk.error is None and len(bad):
        number = first + stop
        reason = f"record {number} at byte {offsets[stop]}: the CRC32C of its data does not match"
        chunk.error = (number, "checksum", reason)
    return chunk


def decode_rows(buf: bytes, starts: np.ndarray, ends: np.ndarray, first: int) -> Chunk:
    """Decode the rows ``buf[starts[i]:ends[i]]`` (each record whole in ``buf``: its 12-byte
    header before, its checksum after); at the first bad one, those before it."""
    a = np.frombuffer(buf, dtype=np.uint8)
    n = len(starts)
    keys = np.zeros((n, 32), dtype=np.uint8)
    epochs = np.zeros(n, dtype=np.int64)
    cell_at = np.zeros(n, dtype=np.int64)  # in the run's bytes, or past them for slow rows
    cell_len = np.zeros(n, dtype=np.int64)
    errors: dict[int, str] = {}
    fast, q = _fast_rows(a, starts, ends)
    rows = np.flatnonzero(fast)
    keys[rows] = _windows(a, q[:, 0] + 1, 32)
    epochs[rows] = _digits(a, q[:, 1] + 3, q[:, 2] - 2)
    cell_at[rows], cell_len[rows] = q[:, 2] + 1, q[:, 5] - q[:, 2] - 1
    decoded, text, text_start, text_end = _b64_decode(buf, q[:, 6] + 1, q[:, 7])
    message_rec, message_start, message_end = [rows[decoded]], [text_start], [text_end]
    slow_messages: list[bytes] = []
    slow_cells: list[bytes] = []
    message_at, extra_at = len(text), len(buf)
    for i in sorted({*np.flatnonzero(~fast).tolist(), *rows[~decoded].tolist()}):
        row = _slow_row(buf[starts[i] : ends[i]])
        if isinstance(row, str):
            errors[i] = row
            continue
        key, epochs[i], cell, message = row
        if not fast[i]:
            keys[i] = np.frombuffer(key, dtype=np.uint8)
            cell_at[i], cell_len[i] = extra_at, len(cell)
            slow_cells.append(cell)
            extra_at += len(cell)
        slow_messages.append(message)
        message_rec.append(np.array([i]))
        message_start.append(np.array([message_at]))
        message_end.append(np.array([message_at + len(message)]))
        message_at += len(message)
    for i in np.flatnonzero((epochs < 1) | (epochs > MAX_EPOCHS)).tolist():
        errors.setdefault(i, f"epochs {epochs[i]} is not a budget in 1..{MAX_EPOCHS}")
    rec = np.concatenate(message_rec)
    source = np.concatenate([text, np.frombuffer(b"".join(slow_messages), dtype=np.uint8)])
    evals, n_evals, params_of, bad = decode_metrics_at(
        source, np.concatenate(message_start).astype(np.int64), np.concatenate(message_end).astype(np.int64)
    )
    values = np.full((n, 2, len(FIELDS)), np.nan)
    values[rec] = np.stack([evals[:, 1:3, f] * scale for f, scale in FIELDS], axis=-1)
    params = np.full(n, -1, dtype=np.int64)
    params[rec] = params_of
    for i in rec[bad | (n_evals < 3)].tolist():
        errors.setdefault(i, "metrics is not a ModelMetrics message with 3 evaluations")
    width = max(1, int(cell_len.max(initial=0)))
    whole = np.concatenate([a, np.frombuffer(b"".join(slow_cells), np.uint8), np.zeros(width, np.uint8)])
    cells = np.lib.stride_tricks.sliding_window_view(whole, width)[cell_at]
    cells[np.arange(width) >= cell_len[:, None]] = 0
    chunk = _group(first, keys, cells, cell_len, params, epochs, values, errors)
    if chunk.error is not None:  # decoded again up to the bad record, which is reported after them
        good = decode_rows(buf, starts[: chunk.error[0] - first], ends[: chunk.error[0] - first], first)
        good.error = chunk.error
        return good
    return chunk


def _group(first, keys, cells, cell_len, params, epochs, values, errors) -> Chunk:
    """The distinct hashes of the run in order of first record; a hash seen with another cell
    than at its first record is an error at that record."""
    n = len(keys)
    words = keys.view(np.uint64)
    order = np.lexsort(words.T[::-1]) if n else np.zeros(0, dtype=np.int64)
    ranked = words[order]
    starts = np.r_[True, (ranked[1:] != ranked[:-1]).any(axis=1)] if n else np.zeros(0, dtype=bool)
    group = np.empty(n, dtype=np.int64)
    group[order] = np.cumsum(starts) - 1
    first_record = order[starts]  # lexsort is stable: a group's first member is its first record
    by_first = np.argsort(first_record, kind="stable")
    renumber = np.empty_like(by_first)
    renumber[by_first] = np.arange(len(by_first))
    inverse = renumber[group]
    first_record = first_record[by_first]
    ref = first_record[inverse]
    other = np.flatnonzero((cell_len[ref] != cell_len) | (cells[ref] != cells).any(axis=1))
    for i in other.tolist():
        if i not in errors:
            key = keys[i].tobytes().decode()
            errors[i] = f"cell {key} has another adjacency or operations than before"
            break
    error = None
    if errors:
        i = min(errors)
        error = (first + i, "schema", f"record {first + i}: {errors[i]}")
    return Chunk(
        first=first,
        keys=keys[first_record],
        first_record=first_record,
        cells=[cells[i, : cell_len[i]].tobytes() for i in first_record.tolist()],
        params=params[first_record],
        inverse=inverse,
        epochs=epochs,
        values=values,
        error=error,
    )


def _fast_rows(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are in ``json.dumps``' form with a 32-digit hash, and their 8 quotes' positions."""
    n = len(starts)
    # The records' headers and checksums are blanked in a copy of them (and of nothing after
    # them: the run may be cut before a bad record): the counts then see the rows only.
    text = a[: ends[-1] + 4 if n else 0].copy()
    text[(starts[:, None] - 12 + np.arange(12)).reshape(-1)] = ord(" ")
    text[(ends[:, None] + np.arange(4)).reshape(-1)] = ord(" ")
    quotes = np.flatnonzero(text == ord('"'))
    odd = np.flatnonzero(_ODD[text])
    n_quotes = np.bincount(np.searchsorted(starts, quotes, "right") - 1, minlength=n)
    n_odd = np.bincount(np.searchsorted(starts, odd, "right") - 1, minlength=n)
    last = len(a) - 1
    fast = (n_quotes == 8) & (n_odd == 0) & (ends - starts >= 2)
    fast &= (a[np.minimum(starts, last)] == ord("[")) & (a[np.maximum(ends - 1, 0)] == ord("]"))
    rows = np.flatnonzero(fast)
    q = quotes[(np.cumsum(n_quotes) - n_quotes)[rows, None] + np.arange(8)]
    ok = (q[:, 0] == starts[rows] + 1) & (q[:, 1] == q[:, 0] + 33) & (q[:, 7] == ends[rows] - 2)
    digits = q[:, 2] - q[:, 1] - 5
    ok &= (digits >= 1) & (digits <= 6) & (q[:, 4] == q[:, 3] + 3) & (q[:, 6] == q[:, 5] + 3)
    ok &= q[:, 5] - q[:, 2] - 1 <= MAX_CELL_TEXT
    for at in (q[:, 1] + 1, q[:, 2] - 2, q[:, 3] + 1, q[:, 5] + 1):  # the ", " between fields
        ok &= (a[np.minimum(at, last)] == _SEP[0]) & (a[np.minimum(at + 1, last)] == _SEP[1])
    key = a[np.minimum(q[:, 0, None] + 1 + np.arange(32), last)]
    ok &= (((key >= ord("0")) & (key <= ord("9"))) | ((key >= ord("a")) & (key <= ord("f")))).all(axis=1)
    d = a[np.minimum(q[:, 1, None] + 3 + np.arange(6), last)]
    in_number = np.arange(6) < digits[:, None]
    ok &= (~in_number | ((d >= ord("0")) & (d <= ord("9")))).all(axis=1)
    ok &= (d[:, 0] != ord("0")) | (digits == 1)  # JSON numbers have no leading zeros
    fast[rows[~ok]] = False
    return fast, q[ok]


def _windows(a: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """The rows ``a[at[i]:at[i] + width]`` (all inside ``a``), copied without an index per byte."""
    if not len(at) or not width:
        return np.zeros((len(at), width), dtype=a.dtype)
    return np.lib.stride_tricks.sliding_window_view(a, width)[at]


def _digits(a: np.ndarray, at: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The decimal numbers ``a[at:end]`` (1 to 6 checked digits each)."""
    value = np.zeros(len(at), dtype=np.int64)
    for j in range(6):
        more = at + j < end
        value = np.where(more, value * 10 + a[np.minimum(at + j, len(a) - 1)].astype(np.int64) - 48, value)
    return value


def _b64_decode(buf: bytes, at: np.ndarray, end: np.ndarray) -> tuple:
    """Strict base64 of ``buf[at:end]``: (which ones decoded, the decoded bytes, and their starts
    and ends in them); the others are left to the slow row, which names what is wrong.

    One C call per text (``binascii``, strict: the alphabet, the padding and nothing after
    it), mapped without a Python step per text while every text decodes, which is the
    official files' case: about a sixth of the time of decoding them as numpy matrices."""
    slices = list(map(slice, at.tolist(), end.tolist()))
    try:
        pieces = list(map(_a2b_strict, map(buf.__getitem__, slices)))
        ok = np.ones(len(slices), dtype=bool)
    except ValueError:  # binascii.Error: find the texts that do not decode, one by one
        pieces, good = [], []
        for piece in map(buf.__getitem__, slices):
            try:
                pieces.append(_a2b_strict(piece))
                good.append(True)
            except ValueError:
                good.append(False)
        ok = np.array(good, dtype=bool)
    sizes = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    stop = np.cumsum(sizes)
    text = np.frombuffer(b"".join(pieces), dtype=np.uint8)
    return ok, text, stop - sizes, stop


def _a2b_strict(text: bytes) -> bytes:
    return binascii.a2b_base64(text, strict_mode=True)


def _slow_row(data: bytes) -> tuple[bytes, int, bytes, bytes] | str:
    """(hash, epochs, cell text, metrics message) of a row read by ``json.loads``, or what is wrong."""
    try:
        row = json.loads(data)
    except ValueError as exc:
        return f"not a JSON row ({exc})"
    if type(row) is not list or len(row) != 5:
        return "expected [module_hash, epochs, adjacency, operations, metrics]"
    for value, kind, what in zip(row, (str, int, str, str, str), _NAMES):
        if type(value) is not kind:
            return f"{what} is {value!r}, expected {kind.__name__}"
    key, epochs, adjacency, operations, metrics = row
    if not 1 <= epochs <= MAX_EPOCHS:
        return f"epochs {epochs} is not a budget in 1..{MAX_EPOCHS}"
    if not _HASH.fullmatch(key):
        return f"module_hash {key!r} is not 32 lower-case hexadecimal digits"
    try:
        message = binascii.a2b_base64(metrics, strict_mode=True)
    except ValueError:  # binascii.Error, or a ValueError for text that is not ASCII
        return "metrics is not base64"
    # The cell as the fast way sees it: the JSON contents of both strings, between quotes.
    cell = (json.dumps(adjacency)[1:-1] + '", "' + json.dumps(operations)[1:-1]).encode()
    if len(cell) > MAX_CELL_TEXT:
        return f"adjacency and operations of {len(cell)} characters: not a cell of at most 7 nodes"
    return key.encode(), epochs, cell, message


_NAMES = ("module_hash", "epochs", "adjacency", "operations", "metrics")


def cell_parts(cell: bytes) -> tuple[str, str]:
    """(adjacency, operations) of a cell text of :class:`Chunk`."""
    return tuple(json.loads(b'["' + cell + b'"]'))  # type: ignore[return-value]
