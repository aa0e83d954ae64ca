"""The official NAS-Bench-101 graph hash (``graph_util.hash_module``).

The fingerprint of a labelled DAG that the official tfrecord stores for each
cell; equal for isomorphic cells, so it is both the key and the canonical key of
an NB101 cell (:mod:`nasbench_suite.spaces.nb101_cell` applies it to pruned cells).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def hash_module(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """The official ``graph_util.hash_module`` fingerprint of a labelled DAG.

    Each node starts as md5 of ``str((out_degree, in_degree, label))``; then, as
    many times as there are nodes, becomes md5 of its sorted in-neighbour hashes,
    ``|``, its sorted out-neighbour hashes, ``|``, its own hash. The fingerprint is
    md5 of ``str(sorted(hashes))``. Labels: -1 input, -2 output, else the index in
    :data:`~nasbench_suite.spaces.nb101_cell.INTERIOR_OPS`.
    """
    n = len(matrix)
    preds = [[w for w in range(n) if matrix[w][v]] for v in range(n)]
    succs = [[w for w in range(n) if matrix[v][w]] for v in range(n)]
    hashes = [_md5(str((len(succs[v]), len(preds[v]), labels[v]))) for v in range(n)]
    for _ in range(n):
        ins = ["".join(sorted(hashes[w] for w in preds[v])) for v in range(n)]
        outs = ["".join(sorted(hashes[w] for w in succs[v])) for v in range(n)]
        hashes = [_md5(f"{ins[v]}|{outs[v]}|{hashes[v]}") for v in range(n)]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


try:  # CPython's own MD5: a third less time per short message than OpenSSL 3's, whose setup of
    # each new hash object costs more than hashing the ~150 bytes of a node's neighbourhood.
    from _md5 import md5 as _new_md5
except ImportError:  # pragma: no cover - interpreters built without it
    _new_md5 = hashlib.md5

#: Cells hashed together: bounds the temporary arrays (~30 MB at 7 nodes).
BATCH_CELLS = 8192
#: Leading bytes of a node's digest that order the neighbours (at most 7: a key stays below
#: the 2**63 that marks a non-neighbour). Digests that tie on them but differ send their
#: cell to :func:`hash_module` (never seen with 7 bytes; the tests shorten it to force it).
_KEY_BYTES = 7

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
#: Each byte's two hex digits as one little-endian uint16: a digest's 16 bytes give its 32 digits.
_HEX_PAIRS = _HEX[np.arange(256) >> 4].astype("<u2") | (_HEX[np.arange(256) & 15].astype("<u2") << 8)


def hash_modules(matrices: np.ndarray, labels: np.ndarray) -> list[str]:
    """:func:`hash_module` of many cells of one size at once: the same fingerprints.

    ``matrices`` is (C, n, n) 0/1, ``labels`` (C, n). The neighbour sorting and the
    building of every MD5 input run in numpy over a batch of cells, so what is left in
    Python per node and iteration is one MD5 call (under 1 µs): 50 for a 7-node cell.
    """
    matrices = np.asarray(matrices).astype(bool)
    labels = np.asarray(labels, dtype=np.int64)
    out: list[str] = []
    for lo in range(0, len(labels), BATCH_CELLS):
        out += _hash_batch(matrices[lo : lo + BATCH_CELLS], labels[lo : lo + BATCH_CELLS])
    return out


def _hash_batch(adj: np.ndarray, labels: np.ndarray) -> list[str]:
    cells, n = labels.shape
    if n == 0:
        return [hash_module([], [])] * cells
    # Node states: raw digests (cells, n, 16); their hex digits are what the next inputs hold.
    out_degree, in_degree = adj.sum(2), adj.sum(1)
    low = int(labels.min())
    span = int(labels.max()) - low + 1
    code = (out_degree * (n + 1) + in_degree) * span + (labels - low)  # one int per distinct triple
    uniq, inverse = np.unique(code.reshape(-1), return_inverse=True)
    triples = zip(
        (uniq // span // (n + 1)).tolist(), (uniq // span % (n + 1)).tolist(), (uniq % span + low).tolist()
    )
    first = [_new_md5(str(t).encode()).digest() for t in triples]
    raw = np.frombuffer(b"".join(first), dtype=np.uint8).reshape(-1, 16)[inverse.reshape(-1)]
    raw = raw.reshape(cells, n, 16)
    fallback = np.zeros(cells, dtype=bool)
    rows = np.arange(cells)[:, None]
    # Each node's input, laid out for every node in digest order: the in-neighbour slots,
    # "|", the out-neighbour slots, "|", its own digest; the slots of nodes that are not
    # neighbours are dropped by one mask, which keeps the rest in digest order.
    width = 64 * n + 34
    keep = np.ones((cells, n, width), dtype=bool)
    full = np.empty((cells, n, width), dtype=np.uint8)
    full[..., 32 * n] = full[..., 64 * n + 1] = ord("|")
    # The in- and out-neighbour slots of the mask as (cells, node, slot, byte) views of it (splitting
    # the last axis of a slice is a view, not a copy).
    keep_in = keep[..., : 32 * n].reshape(cells, n, n, 32)
    keep_out = keep[..., 32 * n + 1 : 64 * n + 1].reshape(cells, n, n, 32)
    adj_in = adj.transpose(0, 2, 1)
    for step in range(n + 1):
        order, tied = _rank(raw)
        fallback |= tied
        hexes = _hex(raw)
        ranked = hexes[rows, order].reshape(cells, 1, 32 * n)
        if step == n:
            break
        full[..., : 32 * n] = ranked
        full[..., 32 * n + 1 : 64 * n + 1] = ranked
        full[..., 64 * n + 2 :] = hexes
        preds = adj_in[rows[..., None], np.arange(n)[:, None], order[:, None, :]]  # [c, v, rank]
        succs = adj[rows[..., None], np.arange(n)[:, None], order[:, None, :]]
        keep_in[...] = preds[..., None]
        keep_out[...] = succs[..., None]
        lengths = 32 * (preds.sum(-1) + succs.sum(-1)).reshape(-1) + 34
        raw = _digests(full[keep].tobytes(), lengths).reshape(cells, n, 16)
    # md5 of str(sorted(hashes)): "['h1', 'h2', ...]", of one length for n nodes.
    text = np.empty((cells, n, 36), dtype=np.uint8)
    text[..., :32] = ranked.reshape(cells, n, 32)
    text[..., 32:] = np.frombuffer(b"', '", dtype=np.uint8)
    text = text.reshape(cells, 36 * n)[:, : 36 * n - 4]
    brackets = [np.tile(np.frombuffer(b, dtype=np.uint8), (cells, 1)) for b in (b"['", b"']")]
    text = np.concatenate([brackets[0], text, brackets[1]], axis=1)
    final = _hex(_digests(text.tobytes(), np.full(cells, text.shape[1])))
    out = np.ascontiguousarray(final).view("S32")[:, 0].astype(str).tolist()
    for c in np.flatnonzero(fallback).tolist():
        out[c] = hash_module(adj[c].astype(int).tolist(), labels[c].tolist())
    return out


def _digests(flat: bytes, lengths: np.ndarray) -> np.ndarray:
    """Raw MD5 digests (m, 16) of the consecutive messages of ``lengths`` bytes in ``flat``."""
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    digests = b"".join([_new_md5(flat[a:b]).digest() for a, b in zip(starts, ends)])
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, 16)


def _hex(raw: np.ndarray) -> np.ndarray:
    """Lower-case hex digits (..., 32) of raw digests (..., 16), as ASCII bytes."""
    return _HEX_PAIRS[raw].view(np.uint8)


def _rank(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's nodes in the order of their digests (hex order is byte order), ordered by
    their leading :data:`_KEY_BYTES`; and (cells,) True where two digests tie on those but differ."""
    key = np.ascontiguousarray(raw[..., :8]).view(">u8")[..., 0] >> np.uint64(8 * (8 - _KEY_BYTES))
    key = key.astype(np.uint64)
    order = np.argsort(key, axis=1, kind="stable")
    ranked = np.take_along_axis(raw, order[..., None], axis=1)
    same_key = np.diff(np.take_along_axis(key, order, axis=1), axis=1) == 0
    return order, (same_key & (ranked[:, 1:] != ranked[:, :-1]).any(-1)).any(axis=1)
