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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nasbench_suite.errors import MalformedArchError
from nasbench_suite.spaces.base import CellGraph, Decision, SearchSpace, checked_codes
from nasbench_suite.spaces.nb101_cell import (
    CONV1X1,
    CONV3X3,
    HASH_RE,
    INPUT,
    INTERIOR_OPS,
    MAX_EDGES,
    MAX_NODES,
    MAXPOOL3X3,
    OPS,
    OUTPUT,
    SPACE_NAME,
    NB101Cell,
    analyse,
    canonical_cell,
    cell_from_lists,
    cell_from_mapping,
    checked,
    format_cell,
    parse_cell,
    prune,
    pruned_hash,
)
from nasbench_suite.spaces.nb101_hash import hash_module

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
    graph_view = True

    def parse(self, text: str) -> NB101Cell:
        """Parse a text form (see :func:`parse_cell`) and check validity; returns the cell unpruned.

        Raises:
            MalformedArchError: bad form; InvalidArchError: valid form breaking a constraint.
        """
        cell = parse_cell(text)
        checked(cell, text)
        return cell

    def format(self, arch: NB101Cell | str) -> str:
        """The compact text form of ``arch`` (as given, not pruned)."""
        return format_cell(self.validate(arch))

    def _validate_value(self, arch: Any) -> NB101Cell:
        if isinstance(arch, Mapping):
            cell = cell_from_mapping(arch, arch)
        elif hasattr(arch, "matrix") and hasattr(arch, "ops"):
            cell = cell_from_lists(arch.matrix, arch.ops, shown=arch)
        else:
            raise MalformedArchError(
                SPACE_NAME,
                arch,
                f"expected an NB101Cell, a mapping or a text form, got {type(arch).__name__}",
            )
        checked(cell, arch)
        return cell

    def prune(self, arch: NB101Cell | str) -> NB101Cell:
        """The pruned form of ``arch`` (see :func:`prune`)."""
        return checked(self.validate(arch), arch)

    def key(self, arch: NB101Cell | str) -> str:
        """The official graph hash of the pruned cell; a 32-hex-digit string passes through as is."""
        if isinstance(arch, str) and HASH_RE.fullmatch(arch):
            return arch
        return pruned_hash(self.prune(arch))

    def canonical_key(self, arch: NB101Cell | str) -> str:
        """The same as :meth:`key`: the hash is already equal across isomorphic cells."""
        return self.key(arch)

    def canonical(self, arch: NB101Cell | str) -> NB101Cell:
        """The pruned cell under one fixed node order shared by all cells of its hash
        (:func:`~nasbench_suite.spaces.nb101_cell.canonical_cell`)."""
        return canonical_cell(self.prune(arch))

    def sample(self, rng: np.random.Generator) -> NB101Cell:
        """Like the official random spec: uniform 7x7 upper-triangular matrix and interior
        ops, redrawn until valid; returns the pruned cell."""
        while True:
            matrix = np.triu(rng.integers(0, 2, size=(MAX_NODES, MAX_NODES)), 1)
            op_ids = rng.integers(0, len(INTERIOR_OPS), size=MAX_NODES)
            ops = (INPUT, *(INTERIOR_OPS[i] for i in op_ids[1:-1]), OUTPUT)
            pruned, _ = analyse(NB101Cell(tuple(tuple(int(v) for v in r) for r in matrix), ops))
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
        own = pruned_hash(checked(cell, arch))
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
            pruned, _ = analyse(candidate)
            if pruned is not None and pruned_hash(pruned) != own:
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
        seen = {pruned_hash(cell)}
        out = []
        for candidate in candidates:
            pruned, _ = analyse(candidate)
            if pruned is None:
                continue
            h = pruned_hash(pruned)
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
        values = checked_codes(SPACE_NAME, codes, _DECISIONS)
        matrix = [[0] * MAX_NODES for _ in range(MAX_NODES)]
        for (i, j), bit in zip(_EDGE_SLOTS, values, strict=False):
            matrix[i][j] = bit
        ops = (INPUT, *(INTERIOR_OPS[c] for c in values[len(_EDGE_SLOTS) :]), OUTPUT)
        return checked(NB101Cell(tuple(map(tuple, matrix)), ops), codes)

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


# The cell's constants and functions are part of this module's public interface.
__all__ = [
    "CONV1X1",
    "CONV3X3",
    "INPUT",
    "INTERIOR_OPS",
    "MAXPOOL3X3",
    "MAX_EDGES",
    "MAX_NODES",
    "OPS",
    "OUTPUT",
    "NB101Cell",
    "NB101Space",
    "cell_from_lists",
    "format_cell",
    "hash_module",
    "parse_cell",
    "prune",
]
