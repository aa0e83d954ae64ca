"""Architecture encodings: fixed-length vectors and padded graph tensors for predictors.

Every encoding is computed here, from the space interface only (``decisions``,
``to_codes``, ``live_decisions``, ``to_graph``, ``graph_ops``), so it works for any
space. Vector kinds (``docs/surrogates.md`` gives lengths and rules):

* ``"onehot"``: one block per decision, dead decisions (``live_decisions``) all zero;
* ``"adjacency"``: upper triangle of the padded ``to_graph`` adjacency, then a
  one-hot op block per interior node;
* ``"path"``: the BANANAS path encoding: one indicator per input-to-output op
  sequence of ``to_graph`` (paths through a ``none`` node carry nothing and are
  dropped);
* ``"features"``: structural counts of the live graph (op counts, conv depth,
  paths, edges, a parameter proxy);
* ``"path_stats"``: live paths counted with multiplicity, by how many nodes of
  each op (and how many convolutions) they pass.

Kinds join with ``+`` (``"onehot+features"``). ``"auto"`` is the space's default
(:func:`default_encoding`): a predictor's graph kinds on a space with a graph view
(``space.graph_view``: NB201, NB101), ``"onehot"`` on chain and categorical spaces,
whose default chain graph makes the path encoding thousands of mostly empty columns
and whose op names the structural features can only guess from. Rows are cached per architecture,
so encoding the same architectures again is a dictionary lookup. The graph analysis
behind the path and structural kinds (live paths, live nodes, kernel areas) is in
:mod:`nasbench_suite.surrogates.graph_analysis`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasbench_suite.spaces.base import Arch, CellGraph, SearchSpace
from nasbench_suite.surrogates import graph_analysis
from nasbench_suite.surrogates.graph_analysis import (
    ZERO_OP,
    is_conv,
    kernel_area,
    live_edge_count,
    live_nodes,
    live_paths,
    path_stats,
)

#: The vector kinds :func:`encode` accepts (joined with ``+`` for concatenations).
VECTOR_KINDS: tuple[str, ...] = ("onehot", "adjacency", "path", "features", "path_stats")
#: The encoding value that stands for the space's default (:func:`default_encoding`).
AUTO = "auto"
#: The default on spaces without a graph view.
FLAT_DEFAULT = "onehot"
#: Longest path encoding kept; longer vectors keep their first entries (the shortest
#: paths), the truncation BANANAS applies when the number of paths explodes.
PATH_CAP = 4096
#: Labels of the padded node slots in :func:`encode_graphs` and ``"adjacency"``.
GRAPH_ENDS = ("input", "output")

_CACHE_LIMIT = 200_000


class EncodingError(ValueError):
    """An unknown encoding kind, or a graph larger than the space declares."""


# --- the space's default ------------------------------------------------------------


def default_encoding(space: SearchSpace, graph_kind: str) -> str:
    """``graph_kind`` (a predictor's or strategy's choice for cell graphs) when ``space``
    declares a graph view (``space.graph_view``), else :data:`FLAT_DEFAULT`."""
    return graph_kind if getattr(space, "graph_view", False) else FLAT_DEFAULT


def resolve(space: SearchSpace, kind: str, graph_kind: str) -> str:
    """``kind``, with :data:`AUTO` replaced by :func:`default_encoding` of ``space``."""
    return default_encoding(space, graph_kind) if kind == AUTO else kind


# --- space geometry ------------------------------------------------------------


def max_graph_nodes(space: SearchSpace) -> int:
    """Nodes of the largest ``to_graph`` of ``space``, input and output included.

    Spaces declare it with a ``max_graph_nodes()`` method; otherwise the default
    chain graph of :meth:`SearchSpace.to_graph` is assumed (one node per decision).
    """
    declared = getattr(space, "max_graph_nodes", None)
    return int(declared()) if callable(declared) else len(space.decisions()) + 2


def max_path_length(space: SearchSpace) -> int:
    """Interior nodes on the longest input-to-output path of any ``to_graph`` of ``space``
    (a ``max_path_length()`` method of the space; otherwise every interior node)."""
    declared = getattr(space, "max_path_length", None)
    return int(declared()) if callable(declared) else max_graph_nodes(space) - 2


def _path_ops(space: SearchSpace) -> tuple[str, ...]:
    return tuple(op for op in space.graph_ops() if op != ZERO_OP)


def _path_offsets(space: SearchSpace) -> tuple[list[int], int]:
    # Paths of length L (interior nodes) start at offsets[L]; inside a length they are
    # numbered as base-V numbers of their op indices (first node most significant).
    v = len(_path_ops(space))
    offsets, total = [], 0
    for length in range(max_path_length(space) + 1):
        offsets.append(total)
        total += v**length
    return offsets, min(total, PATH_CAP)


def feature_names(space: SearchSpace) -> list[str]:
    """Names of the columns of the ``"features"`` encoding of ``space``, in order."""
    ops = _path_ops(space)
    return [
        *(f"live_{op}" for op in ops),
        "conv_depth_max",
        "conv_depth_min",
        "path_length_max",
        "live_paths",
        "live_edges",
        "param_proxy",
    ]


def path_stats_names(space: SearchSpace) -> list[str]:
    """Names of the columns of the ``"path_stats"`` encoding of ``space``, in order.

    ``paths_<c>x_<op>`` counts the live input-to-output paths (with multiplicity:
    two routes with the same ops count twice) that pass ``c`` nodes labelled ``op``;
    ``paths_<c>x_conv`` those that pass ``c`` convolutions of any kind;
    ``path_conv_area_sum`` sums the kernel areas of the convolutions over all paths;
    ``conv_free_path_kinds`` counts the distinct op sequences without a convolution.
    """
    ops = _path_ops(space)
    counts = range(max_path_length(space) + 1)
    return [
        *(f"paths_{c}x_{op}" for op in ops for c in counts),
        *(f"paths_{c}x_conv" for c in counts),
        "path_conv_area_sum",
        "conv_free_path_kinds",
    ]


def encoding_size(space: SearchSpace, kind: str) -> int:
    """Length of the ``kind`` vector of ``space`` (kinds may be joined with ``+``).

    Raises:
        EncodingError: for an unknown kind.
    """
    return sum(_part_size(space, part) for part in _parts(kind))


def _part_size(space: SearchSpace, kind: str) -> int:
    if kind == "onehot":
        return sum(len(d.options) for d in space.decisions())
    if kind == "adjacency":
        n = max_graph_nodes(space)
        return n * (n - 1) // 2 + (n - 2) * len(space.graph_ops())
    if kind == "path":
        return _path_offsets(space)[1]
    if kind == "path_stats":
        return len(path_stats_names(space))
    return len(feature_names(space))


def _parts(kind: str) -> list[str]:
    if not isinstance(kind, str):
        raise EncodingError(f"encoding kind must be a string, got {type(kind).__name__}")
    parts = kind.split("+")
    for part in parts:
        if part not in VECTOR_KINDS:
            hint = "; graph tensors come from encode_graphs()" if part == "graph" else ""
            raise EncodingError(
                f"unknown encoding {part!r} in {kind!r}; known: {', '.join(VECTOR_KINDS)} "
                f"(joined with '+'){hint}"
            )
    return parts


# --- the public entry points -----------------------------------------------------


def encode(space: SearchSpace, archs: Sequence[Arch | str], kind: str = "onehot") -> np.ndarray:
    """Encode architectures as fixed-length vectors.

    Args:
        space: the search space of ``archs``.
        archs: architecture values or text forms, ``n`` of them.
        kind: one of :data:`VECTOR_KINDS` or several joined with ``+``.

    Returns:
        ``(n, d)`` float32 array, ``d = encoding_size(space, kind)``.

    Raises:
        EncodingError: unknown kind.
        MalformedArchError: an architecture is not one of ``space``.
    """
    parts = _parts(kind)
    values = [space.validate(a) for a in archs]
    blocks = [_encode_part(space, values, part) for part in parts]
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)


def encode_graphs(
    space: SearchSpace, archs: Sequence[Arch | str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded graph tensors of ``to_graph`` for graph networks.

    Graphs with fewer than ``N = max_graph_nodes(space)`` nodes get empty slots
    before their output node, so the input is always slot 0 and the output slot
    ``N - 1``.

    Returns:
        ``adjacency`` ``(n, N, N)`` float32 (``[i, j] = 1`` for an edge i -> j),
        ``node_features`` ``(n, N, F)`` float32 one-hot over
        ``("input", *space.graph_ops(), "output")`` (all zero for empty slots), and
        ``mask`` ``(n, N)`` bool (True for real nodes).

    Raises:
        MalformedArchError: an architecture is not one of ``space``.
        EncodingError: a graph has more nodes than the space declares.
    """
    n_nodes = max_graph_nodes(space)
    vocab = {op: i for i, op in enumerate((GRAPH_ENDS[0], *space.graph_ops(), GRAPH_ENDS[1]))}
    cache = _cache(space, "graph")
    out_a = np.zeros((len(archs), n_nodes, n_nodes), dtype=np.float32)
    out_x = np.zeros((len(archs), n_nodes, len(vocab)), dtype=np.float32)
    out_m = np.zeros((len(archs), n_nodes), dtype=bool)
    for i, arch in enumerate(archs):
        value = space.validate(arch)
        hit = cache.get(value)
        if hit is None:
            adjacency, ops = _padded(space.to_graph(value), n_nodes, value)
            x = np.zeros((n_nodes, len(vocab)), dtype=np.float32)
            for slot, op in enumerate(ops):
                if op is not None:
                    x[slot, vocab[op]] = 1.0
            hit = (adjacency.astype(np.float32), x, np.array([op is not None for op in ops]))
            _store(cache, value, hit)
        out_a[i], out_x[i], out_m[i] = hit
    return out_a, out_x, out_m


# --- caching -------------------------------------------------------------------------

_CACHES: dict[tuple[str, ...], dict[Any, Any]] = {}


def _cache(space: SearchSpace, kind: str) -> dict[Any, Any]:
    # Keyed by what rebuilds the space, not the instance: spaces.get() returns new
    # instances, and they should share rows.
    cls = type(space)
    config = json.dumps(space.config(), sort_keys=True, default=str)
    key = (f"{cls.__module__}.{cls.__qualname__}", space.name, config, kind)
    return _CACHES.setdefault(key, {})


def clear_caches() -> None:
    """Forget every cached row and graph analysis (for timings of a cold start)."""
    _CACHES.clear()
    graph_analysis.clear_caches()


def _store(cache: dict[Any, Any], arch: Any, row: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:  # long NB101 searches: bounded memory beats a perfect hit rate
        cache.clear()
    cache[arch] = row


def _encode_part(space: SearchSpace, values: list[Any], kind: str) -> np.ndarray:
    cache = _cache(space, kind)
    size = _part_size(space, kind)
    out = np.empty((len(values), size), dtype=np.float32)
    row_fn = _ROW_FUNCTIONS[kind]
    for i, value in enumerate(values):
        row = cache.get(value)
        if row is None:
            row = row_fn(space, value)
            row.setflags(write=False)
            _store(cache, value, row)
        out[i] = row
    return out


# --- one row of each kind --------------------------------------------------------------


def _onehot_row(space: SearchSpace, arch: Any) -> np.ndarray:
    sizes = [len(d.options) for d in space.decisions()]
    row = np.zeros(sum(sizes), dtype=np.float32)
    offsets = np.cumsum([0, *sizes[:-1]])
    for offset, code, live in zip(offsets, space.to_codes(arch), space.live_decisions(arch), strict=True):
        if live:
            row[offset + code] = 1.0
    return row


def _adjacency_row(space: SearchSpace, arch: Any) -> np.ndarray:
    n_nodes = max_graph_nodes(space)
    adjacency, ops = _padded(space.to_graph(arch), n_nodes, arch)
    vocab = {op: i for i, op in enumerate(space.graph_ops())}
    onehot = np.zeros((n_nodes - 2, len(vocab)), dtype=np.float32)
    for slot, op in enumerate(ops[1:-1]):
        if op is not None:
            onehot[slot, vocab[op]] = 1.0
    upper = adjacency[np.triu_indices(n_nodes, k=1)].astype(np.float32)
    return np.concatenate([upper, onehot.ravel()])


def _path_row(space: SearchSpace, arch: Any) -> np.ndarray:
    graph = space.to_graph(arch)
    offsets, size = _path_offsets(space)
    index = {op: i for i, op in enumerate(_path_ops(space))}
    v = len(index)
    row = np.zeros(size, dtype=np.float32)
    for path in live_paths(graph.adjacency.tobytes(), len(graph.ops), graph.ops):
        if len(path) >= len(offsets):
            raise EncodingError(
                f"{space.name}: a path of {len(path)} interior nodes is longer than the declared "
                f"max_path_length {len(offsets) - 1}"
            )
        number = 0
        for op in path:
            number = number * v + index[op]
        position = offsets[len(path)] + number
        if position < size:
            row[position] = 1.0
    return row


def _features_row(space: SearchSpace, arch: Any) -> np.ndarray:
    graph = space.to_graph(arch)
    ops = graph.ops
    paths = live_paths(graph.adjacency.tobytes(), len(ops), ops)
    live = live_nodes(graph.adjacency.tobytes(), len(ops), ops)
    counts = [sum(1 for i in live if ops[i] == op) for op in _path_ops(space)]
    convs = [sum(is_conv(op) for op in path) for path in paths]
    live_edges = live_edge_count(graph.adjacency.tobytes(), len(ops), live, bool(paths))
    params = sum(kernel_area(ops[i]) for i in live if is_conv(ops[i]))
    return np.array(
        [
            *counts,
            max(convs, default=0),
            min(convs, default=0),
            max((len(p) for p in paths), default=0),
            len(paths),
            live_edges,
            params,
        ],
        dtype=np.float32,
    )


def _path_stats_row(space: SearchSpace, arch: Any) -> np.ndarray:
    # How many routes carry how much of each op: what separates cells that the op
    # counts and path indicators confuse (Kendall tau of the default xgb on NB201 at
    # 1,000 training architectures: 0.87 without these columns, 0.91 with them).
    graph = space.to_graph(arch)
    paths = live_paths(graph.adjacency.tobytes(), len(graph.ops), graph.ops)
    return np.array(path_stats(paths, _path_ops(space), max_path_length(space) + 1), dtype=np.float32)


_ROW_FUNCTIONS = {
    "onehot": _onehot_row,
    "adjacency": _adjacency_row,
    "path": _path_row,
    "features": _features_row,
    "path_stats": _path_stats_row,
}


# --- padding a graph to the space's largest ----------------------------------------------


def _padded(graph: CellGraph, n_nodes: int, arch: Any) -> tuple[np.ndarray, list[str | None]]:
    """``graph`` grown to ``n_nodes`` by empty slots (op None) inserted before its output."""
    adjacency = np.asarray(graph.adjacency)
    n = len(graph.ops)
    if n > n_nodes:
        raise EncodingError(f"graph of {arch!r} has {n} nodes; the space declares at most {n_nodes}")
    out = np.zeros((n_nodes, n_nodes), dtype=np.uint8)
    out[: n - 1, : n - 1] = adjacency[: n - 1, : n - 1]
    out[: n - 1, n_nodes - 1] = adjacency[: n - 1, n - 1]
    ops: list[str | None] = [*graph.ops[:-1], *([None] * (n_nodes - n)), graph.ops[-1]]
    return out, ops
