"""NAS-Bench-101 cell space.

A cell is a DAG of at most 7 nodes given by a strictly upper-triangular 0/1
adjacency matrix and one op per node: ``input`` first, ``output`` last and
``conv3x3-bn-relu``, ``conv1x1-bn-relu`` or ``maxpool3x3`` in between. As in the
official ``ModelSpec``, nodes on no input-to-output path are pruned; after
pruning the cell must connect input to output and have at most 9 edges.

The identity of a cell (``key`` and ``canonical_key``) is the official
``graph_util.hash_module`` fingerprint of the pruned cell, so tables built here
and the official tfrecord agree on keys. Text forms and rules: ``docs/spaces.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral
from typing import Any

import numpy as np

from nasbench_suite.errors import InvalidArchError, MalformedArchError
from nasbench_suite.spaces.base import CellGraph, Decision, SearchSpace, checked_codes

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: Interior ops; the index of an op here is its label in the official hash.
INTERIOR_OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
#: Every op name a cell may hold.
OPS: tuple[str, ...] = (INPUT, *INTERIOR_OPS, OUTPUT)
MAX_NODES = 7
MAX_EDGES = 9

_SPACE = "nb101"
_HASH_RE = re.compile(r"[0-9a-f]{32}")
_LABELS = {INPUT: -1, OUTPUT: -2, **{op: i for i, op in enumerate(INTERIOR_OPS)}}


@dataclass(frozen=True)
class NB101Cell:
    """An NB101 cell: ``matrix[i][j] == 1`` is an edge from node ``i`` to node ``j``."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def n_nodes(self) -> int:
        """Number of nodes, input and output included."""
        return len(self.ops)

    @property
    def n_edges(self) -> int:
        """Number of edges (ones in the matrix)."""
        return sum(map(sum, self.matrix))


# --- construction and checks ---------------------------------------------------------


def cell_from_lists(matrix: Any, ops: Any, shown: object = None) -> NB101Cell:
    """Build a cell from nested sequences, checking its form (not its validity).

    Args:
        matrix: n x n nested sequence of 0/1 (ints, bools or numpy integers).
        ops: n op names.
        shown: what error messages quote as the architecture (default: both arguments).

    Raises:
        MalformedArchError: not square, size not matching ``ops``, entries other
            than 0/1, an entry on or below the diagonal, an unknown op, or
            ``input``/``output`` misplaced.
    """
    shown = {"matrix": matrix, "ops": ops} if shown is None else shown

    def bad(reason: str) -> MalformedArchError:
        return MalformedArchError(_SPACE, shown, reason)

    if isinstance(ops, str) or not isinstance(ops, Sequence | np.ndarray):
        raise bad(f"ops must be a list of op names, got {type(ops).__name__}")
    ops_t = tuple(ops)
    for i, op in enumerate(ops_t):
        if not isinstance(op, str) or op not in _LABELS:
            raise bad(f"unknown op {op!r} at node {i}; expected one of {', '.join(OPS)}")
    n = len(ops_t)
    if n < 2:
        raise bad(f"a cell needs at least 2 nodes (input and output), got {n}")
    if ops_t[0] != INPUT:
        raise bad(f"node 0 must be {INPUT!r}, got {ops_t[0]!r}")
    if ops_t[-1] != OUTPUT:
        raise bad(f"node {n - 1} (the last) must be {OUTPUT!r}, got {ops_t[-1]!r}")
    for i, op in enumerate(ops_t[1:-1], start=1):
        if op not in INTERIOR_OPS:
            raise bad(f"interior node {i} has op {op!r}; expected one of {', '.join(INTERIOR_OPS)}")
    if isinstance(matrix, str) or not isinstance(matrix, Sequence | np.ndarray):
        raise bad(f"matrix must be a list of rows, got {type(matrix).__name__}")
    if len(matrix) != n:
        raise bad(f"matrix has {len(matrix)} rows but there are {n} ops")
    rows = []
    for i, row in enumerate(matrix):
        if isinstance(row, str) or not isinstance(row, Sequence | np.ndarray):
            raise bad(f"row {i} of the matrix is not a list")
        if len(row) != n:
            raise bad(f"row {i} has {len(row)} entries; expected {n} (one per op)")
        for j, v in enumerate(row):
            if not isinstance(v, Integral | np.bool_) or v not in (0, 1):
                raise bad(f"entry ({i}, {j}) is {v!r}; entries must be 0 or 1")
            if v and j <= i:
                raise bad(
                    f"entry ({i}, {j}) is 1 on or below the diagonal; the matrix must be strictly "
                    "upper-triangular (edges go from a lower to a higher node index)"
                )
        rows.append(tuple(int(v) for v in row))
    return NB101Cell(tuple(rows), ops_t)


def _reachable(matrix: tuple[tuple[int, ...], ...], start: int, forward: bool) -> set[int]:
    n = len(matrix)
    seen = {start}
    frontier = [start]
    while frontier:
        v = frontier.pop()
        for w in range(n):
            edge = matrix[v][w] if forward else matrix[w][v]
            if edge and w not in seen:
                seen.add(w)
                frontier.append(w)
    return seen


@lru_cache(maxsize=65536)
def _analyse(cell: NB101Cell) -> tuple[NB101Cell | None, str]:
    # (pruned cell, "") for a valid cell; (None, reason) otherwise. Cached: every
    # key, neighbour and mutation check of the same cell goes through here.
    n = cell.n_nodes
    if n > MAX_NODES:
        return None, f"{n} nodes; a cell has at most {MAX_NODES}"
    keep = sorted(_reachable(cell.matrix, 0, True) & _reachable(cell.matrix, n - 1, False))
    if not keep:
        return None, "input and output are not connected (no path from input to output)"
    pruned = NB101Cell(
        tuple(tuple(cell.matrix[i][j] for j in keep) for i in keep), tuple(cell.ops[i] for i in keep)
    )
    if pruned.n_edges > MAX_EDGES:
        return None, f"{pruned.n_edges} edges after pruning; a cell has at most {MAX_EDGES}"
    return pruned, ""


def _checked(cell: NB101Cell, shown: object) -> NB101Cell:
    pruned, reason = _analyse(cell)
    if pruned is None:
        raise InvalidArchError(_SPACE, shown, reason)
    return pruned


def prune(cell: NB101Cell) -> NB101Cell:
    """Remove the nodes on no input-to-output path (and their edges), as ``ModelSpec`` does.

    Raises:
        MalformedArchError: if ``cell`` is not well formed.
        InvalidArchError: if input and output are disconnected, the cell has more
            than 7 nodes, or more than 9 edges remain after pruning.
    """
    cell = cell_from_lists(cell.matrix, cell.ops, shown=cell)
    return _checked(cell, cell)


def hash_module(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """The official ``graph_util.hash_module`` fingerprint of a labelled DAG.

    Each node starts as md5 of ``str((out_degree, in_degree, label))``; then, as
    many times as there are nodes, becomes md5 of its sorted in-neighbour hashes,
    ``|``, its sorted out-neighbour hashes, ``|``, its own hash. The fingerprint is
    md5 of ``str(sorted(hashes))``. Labels: -1 input, -2 output, else the index in
    :data:`INTERIOR_OPS`.
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


@lru_cache(maxsize=65536)
def _pruned_hash(pruned: NB101Cell) -> str:
    return hash_module(pruned.matrix, [_LABELS[op] for op in pruned.ops])


# --- text forms ------------------------------------------------------------------------


def format_cell(cell: NB101Cell) -> str:
    """The compact form: matrix rows as 0/1 strings joined by ``/``, ``:``, ops joined by ``,``."""
    rows = "/".join("".join(str(v) for v in row) for row in cell.matrix)
    return f"{rows}:{','.join(cell.ops)}"


def parse_cell(text: object) -> NB101Cell:
    """Parse the compact form or JSON ``{"adjacency"|"matrix": [[...]], "ops": [...]}``.

    The cell is checked for form only; :meth:`NB101Space.parse` also checks validity.

    Raises:
        MalformedArchError: naming what is wrong.
    """
    if not isinstance(text, str):
        raise MalformedArchError(_SPACE, text, f"expected a string, got {type(text).__name__}")
    body = text.strip()
    if body.startswith("{"):
        return _parse_json(text, body)
    if _HASH_RE.fullmatch(body):
        raise MalformedArchError(_SPACE, text, "this is a graph hash; a cell cannot be rebuilt from its hash")
    rows_text, sep, ops_text = body.partition(":")
    if not sep:
        raise MalformedArchError(
            _SPACE, text, "expected '<rows joined by />:<ops joined by ,>' or a JSON object; no ':' found"
        )
    rows = rows_text.split("/")
    matrix = []
    for i, row in enumerate(rows):
        stray = "".join(sorted(set(row) - {"0", "1"}))
        if stray or not row:
            found = f"found {stray!r}" if stray else "it is empty"
            raise MalformedArchError(_SPACE, text, f"row {i} {row!r} must be a string of 0 and 1; {found}")
        matrix.append([int(c) for c in row])
    ops = [op.strip() for op in ops_text.split(",")]
    return cell_from_lists(matrix, ops, shown=text)


def _parse_json(text: str, body: str) -> NB101Cell:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedArchError(_SPACE, text, f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MalformedArchError(_SPACE, text, "JSON form must be an object")
    return _cell_from_mapping(obj, text)


def _cell_from_mapping(obj: Mapping[Any, Any], shown: object) -> NB101Cell:
    if "adjacency" in obj and "matrix" in obj:
        raise MalformedArchError(_SPACE, shown, "give 'adjacency' or its alias 'matrix', not both")
    matrix = obj.get("adjacency", obj.get("matrix"))
    if matrix is None:
        raise MalformedArchError(_SPACE, shown, "missing 'adjacency' (or 'matrix')")
    if "ops" not in obj:
        raise MalformedArchError(_SPACE, shown, "missing 'ops'")
    return cell_from_lists(matrix, obj["ops"], shown=shown)


# --- the space ---------------------------------------------------------------------------


_EDGE_SLOTS = tuple((i, j) for i in range(MAX_NODES) for j in range(i + 1, MAX_NODES))
_DECISIONS = (
    *(Decision(f"edge {i}->{j}", ("0", "1")) for i, j in _EDGE_SLOTS),
    *(Decision(f"node {k} op", INTERIOR_OPS) for k in range(1, MAX_NODES - 1)),
)


def _padded(cell: NB101Cell, pad_ops: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """``cell`` grown to 7 nodes by unconnected interior nodes (ops ``pad_ops``) inserted
    before its output node; returns the 7x7 matrix and the 7 ops."""
    base = np.zeros((MAX_NODES, MAX_NODES), dtype=np.int64)
    inner = np.asarray(cell.matrix, dtype=np.int64)
    base[: cell.n_nodes - 1, : cell.n_nodes - 1] = inner[:-1, :-1]
    base[: cell.n_nodes - 1, -1] = inner[:-1, -1]
    return base, (*cell.ops[:-1], *pad_ops, OUTPUT)


class NB101Space(SearchSpace):
    """The NAS-Bench-101 cell space (423,624 unique graphs; not enumerated)."""

    name = "nb101"
    size = None
    ops = OPS

    def parse(self, text: str) -> NB101Cell:
        """Parse a text form (see :func:`parse_cell`) and check validity; returns the cell unpruned.

        Raises:
            MalformedArchError: bad form; InvalidArchError: valid form breaking a constraint.
        """
        cell = parse_cell(text)
        _checked(cell, text)
        return cell

    def format(self, arch: NB101Cell | str) -> str:
        """The compact text form of ``arch`` (as given, not pruned)."""
        return format_cell(self.validate(arch))

    def _validate_value(self, arch: Any) -> NB101Cell:
        if isinstance(arch, Mapping):
            cell = _cell_from_mapping(arch, arch)
        elif hasattr(arch, "matrix") and hasattr(arch, "ops"):
            cell = cell_from_lists(arch.matrix, arch.ops, shown=arch)
        else:
            raise MalformedArchError(
                _SPACE, arch, f"expected an NB101Cell, a mapping or a text form, got {type(arch).__name__}"
            )
        _checked(cell, arch)
        return cell

    def prune(self, arch: NB101Cell | str) -> NB101Cell:
        """The pruned form of ``arch`` (see :func:`prune`)."""
        return _checked(self.validate(arch), arch)

    def key(self, arch: NB101Cell | str) -> str:
        """The official graph hash of the pruned cell; a 32-hex-digit string passes through as is."""
        if isinstance(arch, str) and _HASH_RE.fullmatch(arch):
            return arch
        return _pruned_hash(self.prune(arch))

    def canonical_key(self, arch: NB101Cell | str) -> str:
        """The same as :meth:`key`: the hash is already equal across isomorphic cells."""
        return self.key(arch)

    def sample(self, rng: np.random.Generator) -> NB101Cell:
        """Like the official random spec: uniform 7x7 upper-triangular matrix and interior
        ops, redrawn until valid; returns the pruned cell."""
        while True:
            matrix = np.triu(rng.integers(0, 2, size=(MAX_NODES, MAX_NODES)), 1)
            op_ids = rng.integers(0, len(INTERIOR_OPS), size=MAX_NODES)
            ops = (INPUT, *(INTERIOR_OPS[i] for i in op_ids[1:-1]), OUTPUT)
            pruned, _ = _analyse(NB101Cell(tuple(tuple(int(v) for v in r) for r in matrix), ops))
            if pruned is not None:
                return pruned

    def mutate(self, arch: NB101Cell | str, rng: np.random.Generator) -> NB101Cell:
        """Like the official evolution example: flip each edge with probability 1/7 and
        resample each interior op with probability 1/5, until the cell is valid and its
        hash differs; returns the pruned cell.

        A cell with fewer than 7 nodes is first padded with unconnected nodes (random
        ops) before its output, so that mutation can grow it back to 7 nodes.
        """
        cell = self.validate(arch)
        own = _pruned_hash(_checked(cell, arch))
        n_pad = MAX_NODES - cell.n_nodes
        pad_ops = tuple(INTERIOR_OPS[i] for i in rng.integers(0, len(INTERIOR_OPS), size=n_pad))
        base, base_ops = _padded(cell, pad_ops)
        n = MAX_NODES
        while True:
            flips = np.triu(rng.random((n, n)) < 1.0 / n, 1)
            matrix = np.where(flips, 1 - base, base)
            resample = rng.random(n - 2) < 1.0 / (n - 2)
            shifts = rng.integers(1, len(INTERIOR_OPS), size=n - 2)
            ops = list(base_ops)
            for i in np.flatnonzero(resample) + 1:
                # A shift of 1 or 2 picks one of the two other ops uniformly.
                ops[i] = INTERIOR_OPS[(INTERIOR_OPS.index(ops[i]) + int(shifts[i - 1])) % len(INTERIOR_OPS)]
            candidate = NB101Cell(tuple(tuple(int(v) for v in row) for row in matrix), tuple(ops))
            pruned, _ = _analyse(candidate)
            if pruned is not None and _pruned_hash(pruned) != own:
                return pruned

    def neighbours(self, arch: NB101Cell | str) -> list[NB101Cell]:
        """Valid cells one edge flip or one interior-op change away from the pruned ``arch``.

        Order: edge flips ``(i, j)`` in row-major order, then op changes node by node
        in :data:`INTERIOR_OPS` order; cells are pruned and deduplicated by hash (the
        first kept), and any with the hash of ``arch`` are left out.
        """
        cell = self.prune(arch)
        n = cell.n_nodes
        candidates: list[NB101Cell] = []
        for i in range(n - 1):
            for j in range(i + 1, n):
                matrix = [list(row) for row in cell.matrix]
                matrix[i][j] = 1 - matrix[i][j]
                candidates.append(NB101Cell(tuple(map(tuple, matrix)), cell.ops))
        for i in range(1, n - 1):
            for op in INTERIOR_OPS:
                if op != cell.ops[i]:
                    candidates.append(NB101Cell(cell.matrix, cell.ops[:i] + (op,) + cell.ops[i + 1 :]))
        seen = {_pruned_hash(cell)}
        out = []
        for candidate in candidates:
            pruned, _ = _analyse(candidate)
            if pruned is None:
                continue
            h = _pruned_hash(pruned)
            if h not in seen:
                seen.add(h)
                out.append(pruned)
        return out

    def decisions(self) -> tuple[Decision, ...]:
        """The 21 upper-triangular edge bits of a 7-node matrix (``"edge i->j"``, options
        ``"0"``/``"1"``, row-major), then the op of each of the 5 interior nodes."""
        return _DECISIONS

    def to_codes(self, arch: NB101Cell | str) -> tuple[int, ...]:
        """The codes of the pruned ``arch``. A cell of fewer than 7 nodes is padded with
        unconnected ``conv3x3-bn-relu`` nodes before its output."""
        cell = self.prune(arch)
        matrix, ops = _padded(cell, (CONV3X3,) * (MAX_NODES - cell.n_nodes))
        bits = [int(matrix[i][j]) for i, j in _EDGE_SLOTS]
        return (*bits, *(INTERIOR_OPS.index(op) for op in ops[1:-1]))

    def from_codes(self, codes: Sequence[int]) -> NB101Cell:
        """The pruned cell spelt by 21 edge bits and 5 op codes.

        Raises:
            MalformedArchError: wrong length or a code out of range.
            InvalidArchError: no input-output path or more than 9 edges after pruning.
        """
        values = checked_codes(_SPACE, codes, _DECISIONS)
        matrix = [[0] * MAX_NODES for _ in range(MAX_NODES)]
        for (i, j), bit in zip(_EDGE_SLOTS, values, strict=False):
            matrix[i][j] = bit
        ops = (INPUT, *(INTERIOR_OPS[c] for c in values[len(_EDGE_SLOTS) :]), OUTPUT)
        return _checked(NB101Cell(tuple(map(tuple, matrix)), ops), codes)

    def graph_ops(self) -> tuple[str, ...]:
        """The interior ops :data:`INTERIOR_OPS`."""
        return INTERIOR_OPS

    def to_graph(self, arch: NB101Cell | str) -> CellGraph:
        """The pruned cell itself (2 to 7 nodes; encodings pad it to 7)."""
        cell = self.prune(arch)
        return CellGraph(np.asarray(cell.matrix, dtype=np.uint8), cell.ops)

    def max_graph_nodes(self) -> int:
        """The most nodes a :meth:`to_graph` can have (7)."""
        return MAX_NODES

    def max_path_length(self) -> int:
        """Interior nodes on the longest possible input-to-output path (5)."""
        return MAX_NODES - 2

    def config(self) -> dict[str, Any]:
        """No settings: the limits (7 nodes, 9 edges) are those of the benchmark."""
        return {}
