"""NAS-Bench-101 cells: their form, validity (pruning), identity (the graph hash) and text forms.

A cell is a DAG of at most 7 nodes given by a strictly upper-triangular 0/1
adjacency matrix and one op per node (see :mod:`nasbench_suite.spaces.nb101`, the
space built on these functions). Text forms and rules: ``docs/spaces.md``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral
from typing import Any

import numpy as np

from nasbench_suite.errors import InvalidArchError, MalformedArchError
from nasbench_suite.spaces.nb101_hash import hash_module

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

#: The space's name, as errors name it.
SPACE_NAME = "nb101"
#: A graph hash (a key), which parsing refuses: a cell cannot be rebuilt from it.
HASH_RE = re.compile(r"[0-9a-f]{32}")
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
        return MalformedArchError(SPACE_NAME, shown, reason)

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
def analyse(cell: NB101Cell) -> tuple[NB101Cell | None, str]:
    """``(pruned cell, "")`` for a valid, well-formed ``cell``; ``(None, reason)`` otherwise."""
    # Cached: every key, neighbour and mutation check of the same cell goes through here.
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


def checked(cell: NB101Cell, shown: object) -> NB101Cell:
    """The pruned form of the well-formed ``cell``.

    Raises:
        InvalidArchError: quoting ``shown``, when ``cell`` breaks a constraint.
    """
    pruned, reason = analyse(cell)
    if pruned is None:
        raise InvalidArchError(SPACE_NAME, shown, reason)
    return pruned


def prune(cell: NB101Cell) -> NB101Cell:
    """Remove the nodes on no input-to-output path (and their edges), as ``ModelSpec`` does.

    Raises:
        MalformedArchError: if ``cell`` is not well formed.
        InvalidArchError: if input and output are disconnected, the cell has more
            than 7 nodes, or more than 9 edges remain after pruning.
    """
    cell = cell_from_lists(cell.matrix, cell.ops, shown=cell)
    return checked(cell, cell)


@lru_cache(maxsize=65536)
def pruned_hash(pruned: NB101Cell) -> str:
    """The official graph hash of an already pruned cell (its key)."""
    return hash_module(pruned.matrix, [_LABELS[op] for op in pruned.ops])


# --- text forms ------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def canonical_cell(pruned: NB101Cell) -> NB101Cell:
    """One fixed relabelling of a pruned cell, the same for every isomorphic cell.

    Among the orders of the interior nodes that keep the matrix upper triangular (the
    topological orders; at most 5! = 120), the one whose (matrix rows, op labels) is
    smallest. Isomorphic cells have the same set of relabellings, hence the same minimum.
    """
    n = pruned.n_nodes
    candidates = []
    for inner in itertools.permutations(range(1, n - 1)):
        order = (0, *inner, n - 1)
        if any(pruned.matrix[order[a]][order[b]] for a in range(n) for b in range(a)):
            continue  # an edge would point backwards: not a topological order
        matrix = tuple(tuple(pruned.matrix[i][j] for j in order) for i in order)
        ops = tuple(pruned.ops[i] for i in order)
        candidates.append((matrix, tuple(_LABELS[op] for op in ops), ops))
    matrix, _, ops = min(candidates, key=lambda c: c[:2])  # the identity order is always there
    return NB101Cell(matrix, ops)


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
        raise MalformedArchError(SPACE_NAME, text, f"expected a string, got {type(text).__name__}")
    body = text.strip()
    if body.startswith("{"):
        return _parse_json(text, body)
    if HASH_RE.fullmatch(body):
        raise MalformedArchError(
            SPACE_NAME, text, "this is a graph hash; a cell cannot be rebuilt from its hash"
        )
    rows_text, sep, ops_text = body.partition(":")
    if not sep:
        raise MalformedArchError(
            SPACE_NAME, text, "expected '<rows joined by />:<ops joined by ,>' or a JSON object; no ':' found"
        )
    rows = rows_text.split("/")
    matrix = []
    for i, row in enumerate(rows):
        stray = "".join(sorted(set(row) - {"0", "1"}))
        if stray or not row:
            found = f"found {stray!r}" if stray else "it is empty"
            raise MalformedArchError(
                SPACE_NAME, text, f"row {i} {row!r} must be a string of 0 and 1; {found}"
            )
        matrix.append([int(c) for c in row])
    ops = [op.strip() for op in ops_text.split(",")]
    return cell_from_lists(matrix, ops, shown=text)


def _parse_json(text: str, body: str) -> NB101Cell:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedArchError(SPACE_NAME, text, f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MalformedArchError(SPACE_NAME, text, "JSON form must be an object")
    return cell_from_mapping(obj, text)


def cell_from_mapping(obj: Mapping[Any, Any], shown: object) -> NB101Cell:
    """A cell from ``{"adjacency"|"matrix": [[...]], "ops": [...]}``, checked for form only.

    Raises:
        MalformedArchError: quoting ``shown``, for a missing or doubled field or a bad form.
    """
    if "adjacency" in obj and "matrix" in obj:
        raise MalformedArchError(SPACE_NAME, shown, "give 'adjacency' or its alias 'matrix', not both")
    matrix = obj.get("adjacency", obj.get("matrix"))
    if matrix is None:
        raise MalformedArchError(SPACE_NAME, shown, "missing 'adjacency' (or 'matrix')")
    if "ops" not in obj:
        raise MalformedArchError(SPACE_NAME, shown, "missing 'ops'")
    return cell_from_lists(matrix, obj["ops"], shown=shown)
