"""NAS-Bench-101's ``ModelMetrics`` protocol buffer, decoded in numpy batches.

``nasbench/lib/model_metrics.proto``::

    message ModelMetrics { repeated EvaluationData evaluation_data = 1;
                           optional int32 trainable_parameters = 2; optional double total_time = 3; }
    message EvaluationData { optional double current_epoch = 1; optional double training_time = 2;
                             optional double train_accuracy = 3; optional double validation_accuracy = 4;
                             optional double test_accuracy = 5; optional string checkpoint_path = 6; }

A whole batch of messages is decoded at once: those in the layout the serialisers write
(fields in number order, no ``checkpoint_path``) by fixed offsets, checked tag by tag; the
others by a walk whose loop runs once per field position, not once per message. Unknown
fields are skipped as the protobuf rules say.
"""

from __future__ import annotations

import numpy as np

#: Fields 1..5 of EvaluationData, in this order.
EVAL_FIELDS = ("current_epoch", "training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
#: How many EvaluationData entries are kept (the official API reads entries 1 and 2).
MAX_EVALS = 3


def decode_metrics(messages: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decode a batch of ``ModelMetrics`` messages.

    Returns:
        evals: (n, MAX_EVALS, 5) float64, fields 1..5 of each of the first entries (NaN: absent);
        n_evals: (n,) int64, how many EvaluationData entries each message has;
        params: (n,) int64, ``trainable_parameters`` (-1: absent);
        bad: (n,) bool, messages that are not valid protocol buffers of this type.
    """
    lengths = np.fromiter(map(len, messages), dtype=np.int64, count=len(messages))
    ends = np.cumsum(lengths)
    return decode_metrics_at(np.frombuffer(b"".join(messages), dtype=np.uint8), ends - lengths, ends)


def decode_metrics_at(
    buf: np.ndarray, pos: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`decode_metrics` of the messages ``buf[pos[i]:ends[i]]`` (uint8 ``buf``).

    Messages in the layout the protobuf serialisers write for the official files (three
    entries of the five doubles in field order, then the parameters and the total time)
    are read by fixed offsets; any other valid message is walked field by field.
    """
    n = len(pos)
    evals = np.full((n, MAX_EVALS, 5), np.nan)
    n_evals = np.zeros(n, dtype=np.int64)
    params = np.full(n, -1, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    buf = np.concatenate([buf, np.zeros(16, dtype=np.uint8)])  # varint reads may look past the end
    fixed, values, fixed_params = _fixed_layout(buf, pos, ends)
    evals[fixed] = values
    n_evals[fixed] = MAX_EVALS
    params[fixed] = fixed_params
    rest = np.flatnonzero(~fixed)
    if len(rest):
        out = _walk(buf, pos[rest].copy(), ends[rest])
        evals[rest], n_evals[rest], params[rest], bad[rest] = out
    return evals, n_evals, params, bad


#: The fixed layout: entry k at 47 k (tag 0x0A, length 45, then tag + double for fields 1..5).
_ENTRY = 2 + 5 * 9
_TAG_AT = np.array([47 * k + j for k in range(MAX_EVALS) for j in (0, 1, *range(2, _ENTRY, 9))])
_TAGS = np.array(
    [b for _ in range(MAX_EVALS) for b in (0x0A, _ENTRY - 2, *(f << 3 | 1 for f in range(1, 6)))]
)
_VALUE_AT = np.array([[47 * k + 3 + 9 * f for f in range(5)] for k in range(MAX_EVALS)])


def _fixed_layout(buf: np.ndarray, pos: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, ...]:
    """Which messages are in the fixed layout, their (m, MAX_EVALS, 5) values and parameters."""
    head = MAX_EVALS * _ENTRY
    fixed = ends - pos >= head + 11  # then tag 0x10, a varint of 1..10 bytes, tag 0x19, a double
    at = np.flatnonzero(fixed)
    limit = len(buf) - 1
    tags = buf[np.minimum(pos[at, None] + _TAG_AT, limit)]
    ok = (tags == _TAGS).all(axis=1) & (buf[np.minimum(pos[at] + head, limit)] == 0x10)
    value, after = _read_varints(buf, pos[at] + head + 1)
    ok &= (buf[np.minimum(after, limit)] == 0x19) & (after + 9 == ends[at])
    fixed[at[~ok]] = False
    at = at[ok]
    raw = buf[pos[at, None, None, None] + _VALUE_AT[..., None] + np.arange(8)]
    return fixed, np.ascontiguousarray(raw).view("<f8")[..., 0], value[ok]


def _walk(buf: np.ndarray, pos: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, ...]:
    """The general decoder: every message walked field by field, all messages a step at a time."""
    n = len(pos)
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
