"""What the structural encodings read off a cell graph: live paths, live nodes, edges, kernels.

Space-independent: every function takes a :class:`~nasbench_suite.spaces.base.CellGraph`'s
adjacency (as bytes, so that results can be cached on the graph) and its op labels.
A path is *live* when it runs from the input (node 0) to the output (the last node)
through no ``none`` node; the ``"path"``, ``"features"`` and ``"path_stats"`` encodings
of :mod:`nasbench_suite.surrogates.encodings` are built from these.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

#: Op label of a node that computes zero (dropped from paths and live counts).
ZERO_OP = "none"


@lru_cache(maxsize=4096)
def successors(adjacency_bytes: bytes, n: int) -> tuple[tuple[int, ...], ...]:
    """The successors of each of the ``n`` nodes of an ``(n, n)`` uint8 adjacency's bytes."""
    matrix = np.frombuffer(adjacency_bytes, dtype=np.uint8).reshape(n, n)
    return tuple(tuple(np.flatnonzero(matrix[i]).tolist()) for i in range(n))


@lru_cache(maxsize=65536)
def live_paths(adjacency_bytes: bytes, n: int, ops: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Op sequences of the interior nodes on every input-to-output path that avoids
    ``none`` nodes (node 0 is the input, node ``n - 1`` the output)."""
    succ = successors(adjacency_bytes, n)
    paths: list[tuple[str, ...]] = []
    stack: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    while stack:
        node, seq = stack.pop()
        for nxt in succ[node]:
            if nxt == n - 1:
                paths.append(seq)
            elif ops[nxt] != ZERO_OP:
                stack.append((nxt, (*seq, ops[nxt])))
    return tuple(sorted(paths))


@lru_cache(maxsize=65536)
def live_nodes(adjacency_bytes: bytes, n: int, ops: tuple[str, ...]) -> frozenset[int]:
    """Interior nodes on some input-to-output path that avoids ``none`` nodes."""
    succ = successors(adjacency_bytes, n)
    usable = [i in (0, n - 1) or ops[i] != ZERO_OP for i in range(n)]
    forward = [False] * n
    forward[0] = True
    for i in range(n):  # upper-triangular adjacency: node order is a topological order
        if forward[i] and usable[i]:
            for j in succ[i]:
                forward[j] = True
    backward = [False] * n
    backward[n - 1] = True
    for i in range(n - 2, -1, -1):
        backward[i] = usable[i] and any(backward[j] for j in succ[i])
    return frozenset(i for i in range(1, n - 1) if usable[i] and forward[i] and backward[i])


def live_edge_count(adjacency_bytes: bytes, n: int, live: frozenset[int], connected: bool) -> int:
    """Edges between live nodes, input and output counting as live when a live path joins them."""
    nodes = live | {0, n - 1} if connected else live
    succ = successors(adjacency_bytes, n)
    return sum(1 for i in nodes for j in succ[i] if j in nodes)


def is_conv(op: str) -> bool:
    """Whether ``op`` is a convolution (its label says ``conv``)."""
    return "conv" in op


_KERNEL = re.compile(r"(\d+)x(\d+)")


def kernel_area(op: str) -> int:
    """The kernel area ``k x k`` named in ``op`` (9 for 3x3), 1 when it names none."""
    # A conv's weights scale with its kernel area at fixed channels: the parameter proxy.
    match = _KERNEL.search(op)
    return int(match.group(1)) * int(match.group(2)) if match else 1


@lru_cache(maxsize=65536)
def path_stats(paths: tuple[tuple[str, ...], ...], ops: tuple[str, ...], lengths: int) -> tuple[float, ...]:
    """The ``"path_stats"`` row of a multiset of live paths (many cells share one)."""
    by_op = np.zeros((len(ops), lengths))
    for path in paths:
        for k, op in enumerate(ops):
            by_op[k, min(path.count(op), lengths - 1)] += 1
    convs = [sum(is_conv(op) for op in path) for path in paths]
    by_conv = np.bincount([min(c, lengths - 1) for c in convs], minlength=lengths)
    area = sum(kernel_area(op) for path in paths for op in path if is_conv(op))
    conv_free = len({path for path, c in zip(paths, convs, strict=True) if c == 0})
    return (*by_op.ravel().tolist(), *by_conv.tolist(), area, conv_free)


def clear_caches() -> None:
    """Forget every cached result (for timings of a cold start)."""
    for cached in (successors, live_paths, live_nodes, path_stats):
        cached.cache_clear()
