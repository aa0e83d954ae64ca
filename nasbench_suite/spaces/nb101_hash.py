"""The official NAS-Bench-101 graph hash (``graph_util.hash_module``).

The fingerprint of a labelled DAG that the official tfrecord stores for each
cell; equal for isomorphic cells, so it is both the key and the canonical key of
an NB101 cell (:mod:`nasbench_suite.spaces.nb101_cell` applies it to pruned cells).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


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
