"""NAS-Bench-201 / NATS-Bench topology cell space.

A cell is a DAG on four nodes (0 = cell input, 3 = cell output) with one op on
each of the six edges ``(0,1) (0,2) (1,2) (0,3) (1,3) (2,3)``. An architecture
is a plain tuple of six op names in that edge order, which is also the order in
which the edges appear in the official string::

    |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|

Two equivalence keys fold architectures that compute the same function; their
exact rules and examples are in ``docs/spaces.md``:

* :meth:`NB201Space.canonical_key` is the benchmark authors' rule (6,466 classes);
* :func:`functional_key` is stricter: sums are flattened and zero terms dropped
  (4,930 classes).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from functools import cache, lru_cache
from typing import Any

import numpy as np

from nasbench_suite.errors import MalformedArchError
from nasbench_suite.spaces.base import CellGraph, Decision, SearchSpace, checked_codes

#: Op names in the official order (the index of an op here is its op id).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: ``(src, dst)`` of the six edges, in the order of the architecture tuple and the official string.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: Number of nodes of the cell, input and output included.
N_NODES = 4

NB201Arch = tuple[str, str, str, str, str, str]

_OP_INDEX = {op: i for i, op in enumerate(OPS)}
_SPACE = "nb201"


def format_arch(arch: Sequence[str]) -> str:
    """The official string of a (valid) tuple of six op names."""
    a = arch
    return f"|{a[0]}~0|+|{a[1]}~0|{a[2]}~1|+|{a[3]}~0|{a[4]}~1|{a[5]}~2|"


@lru_cache(maxsize=1)
def _string_table() -> dict[str, NB201Arch]:
    # Lookups on the query path are dict hits; the slow parser only runs to explain a miss.
    return {format_arch(a): a for a in itertools.product(OPS, repeat=6)}  # type: ignore[misc]


def parse_arch(text: object) -> NB201Arch:
    """Parse an official NB201 string into a tuple of six op names.

    Surrounding whitespace is ignored; otherwise the string must be exactly the
    official form: three nodes joined by ``+``, node ``j`` listing its ``j``
    incoming edges as ``|op~i|`` with inputs ``i = 0 .. j-1`` in order.

    Raises:
        MalformedArchError: whose reason names the offending node or token.
    """
    if not isinstance(text, str):
        raise MalformedArchError(_SPACE, text, f"expected a string, got {type(text).__name__}")
    hit = _string_table().get(text) or _string_table().get(text.strip())
    if hit is not None:
        return hit
    return _parse_slow(text)


def _parse_slow(text: str) -> NB201Arch:
    def bad(reason: str) -> MalformedArchError:
        return MalformedArchError(_SPACE, text, reason)

    body = text.strip()
    if not body:
        raise bad("empty string")
    nodes = body.split("+")
    if len(nodes) != N_NODES - 1:
        raise bad(f"expected {N_NODES - 1} nodes separated by '+', found {len(nodes)}")
    ops: list[str] = []
    for dst, node in enumerate(nodes, start=1):
        if not node.startswith("|"):
            raise bad(f"node {dst} {node!r} does not start with '|'")
        if not node.endswith("|") or len(node) < 2:
            raise bad(f"node {dst} {node!r} does not end with '|'")
        tokens = node[1:-1].split("|")
        if "" in tokens:
            raise bad(f"empty token (doubled '|') in node {dst} {node!r}")
        if len(tokens) != dst:
            raise bad(f"node {dst} {node!r} has {len(tokens)} edge(s); expected {dst}")
        for src, token in enumerate(tokens):
            op, sep, index = token.partition("~")
            if not sep:
                raise bad(f"token {token!r} in node {dst} lacks '~<input node>'")
            if op not in _OP_INDEX:
                raise bad(f"unknown op {op!r} in token {token!r}; expected one of {', '.join(OPS)}")
            if index != str(src):
                raise bad(
                    f"token {token!r} in node {dst} has input {index!r}; expected {src} "
                    f"(node {dst} lists inputs 0..{dst - 1} in order)"
                )
            ops.append(op)
    # Only reached by strings the table also holds; kept so that this parser stands on its own.
    return tuple(ops)  # type: ignore[return-value]


@cache
def _every_value() -> dict[tuple[str, ...], NB201Arch]:
    """Each of the 15,625 architectures, as a tuple of plain ``str``, keyed by itself: one hash
    lookup checks a tuple (a search validates tens of thousands of candidates a run) and gives
    the space's own value (an equal tuple of ``numpy.str_`` comes back as plain strings)."""
    return {ops: ops for ops in itertools.product(OPS, repeat=len(EDGES))}  # type: ignore[misc]


def validate_ops(arch: Any) -> NB201Arch:
    """Check a sequence of six op names and return it as a tuple.

    Raises:
        MalformedArchError: for a non-sequence, a wrong length or an unknown op.
    """
    if type(arch) is tuple:  # the space's own values (what sample and mutate return), mostly
        try:
            known = _every_value().get(arch)
        except TypeError:  # an unhashable element: the checks below name it
            known = None
        if known is not None:
            return known
    if isinstance(arch, str | bytes) or not isinstance(arch, Sequence | np.ndarray):
        raise MalformedArchError(
            _SPACE, arch, f"expected an NB201 string or a sequence of 6 op names, got {type(arch).__name__}"
        )
    ops = tuple(arch)
    if len(ops) != len(EDGES):
        raise MalformedArchError(_SPACE, arch, f"expected {len(EDGES)} op names, got {len(ops)}")
    for edge, op in zip(EDGES, ops, strict=True):
        if not isinstance(op, str) or op not in _OP_INDEX:
            raise MalformedArchError(
                _SPACE, arch, f"unknown op {op!r} on edge {edge}; expected one of {', '.join(OPS)}"
            )
    # str() turns numpy.str_ elements into plain strings, so values compare and print alike.
    return tuple(str(op) for op in ops)  # type: ignore[return-value]


def op_indices(arch: Sequence[str]) -> tuple[int, ...]:
    """The op ids (indices into :data:`OPS`) of a valid architecture, edge by edge."""
    return tuple(_OP_INDEX[op] for op in arch)


# --- equivalence keys ------------------------------------------------------------

_AUTHORS_INPUT = "0"
_AUTHORS_ZERO = "#"


@cache
def authors_key(arch: NB201Arch) -> str:
    """The benchmark authors' isomorphism string (``to_unique_str(consider_zero=True)``).

    Node 0 is ``"0"``. Each incoming term of node ``j`` is ``"#"`` (zero) when its
    op is ``none`` or its input node's string is exactly ``"#"``; the input's
    string itself for ``skip_connect``; otherwise ``"(<input>)@<op>"``. A node is
    its terms sorted as strings and joined with ``+``; the key is node 3.

    The exact spelling matters: a node whose terms are all zero is written
    ``"#+#"`` (not ``"#"``) and is not treated as zero downstream, and joining
    already-joined sums with ``+`` loses their grouping. Both quirks are part of
    the published rule; with them the 15,625 architectures form 6,466 classes.
    """
    nodes = [_AUTHORS_INPUT]
    for dst in range(1, N_NODES):
        terms = []
        for (src, d), op in zip(EDGES, arch, strict=True):
            if d != dst:
                continue
            if op == "none" or nodes[src] == _AUTHORS_ZERO:
                terms.append(_AUTHORS_ZERO)
            elif op == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{op}")
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]


@cache
def _functional_terms(arch: NB201Arch) -> tuple[str, ...]:
    # A node is the sorted multiset of its non-zero terms; the empty multiset is zero.
    nodes: list[tuple[str, ...]] = [("x",)]
    for dst in range(1, N_NODES):
        terms: list[str] = []
        for (src, d), op in zip(EDGES, arch, strict=True):
            if d != dst or op == "none" or not nodes[src]:
                continue
            if op == "skip_connect":
                # Addition is associative: a skipped sum contributes each of its terms.
                terms.extend(nodes[src])
            else:
                terms.append(f"{op}({'+'.join(nodes[src])})")
        nodes.append(tuple(sorted(terms)))
    return nodes[-1]


def functional_key(arch: Sequence[str] | str) -> str:
    """A stricter equivalence key than the authors': equal for 4,930 classes.

    Node 0 is ``x``. Every node is a sum, kept as the sorted multiset of its
    terms: ``none`` and any op whose input is zero contribute nothing,
    ``skip_connect`` contributes every term of its input (sums are flattened),
    any other op contributes one term ``op(<input sum>)``. A node with no terms is
    zero, written ``"0"``. Terms are not deduplicated (``x + x`` is not ``x``).

    Raises:
        MalformedArchError: if ``arch`` is not an NB201 architecture.
    """
    ops = parse_arch(arch) if isinstance(arch, str) else validate_ops(arch)
    terms = _functional_terms(ops)
    return "+".join(terms) if terms else "0"


def _representatives() -> dict[str, NB201Arch]:
    """Each class's representative (its first member in enumeration order), by class key."""
    return _classes()[0]


def _representative_of() -> dict[NB201Arch, NB201Arch]:
    """Each architecture's representative, by one lookup: predictors encode every candidate as
    its representative, and a model-based search encodes tens of thousands of them a run."""
    return _classes()[1]


@cache
def _classes() -> tuple[dict[str, NB201Arch], dict[NB201Arch, NB201Arch]]:
    # One pass over the 15,625 architectures (tens of milliseconds), once per process.
    first: dict[str, NB201Arch] = {}
    keys: dict[NB201Arch, str] = {}
    for arch in itertools.product(OPS, repeat=len(EDGES)):
        keys[arch] = key = authors_key(arch)  # type: ignore[arg-type]
        first.setdefault(key, arch)  # type: ignore[arg-type]
    return first, {arch: first[key] for arch, key in keys.items()}  # type: ignore[misc]


# --- the space -----------------------------------------------------------------------

_DECISIONS = tuple(Decision(f"edge {s}->{d}", OPS) for s, d in EDGES)


def _edge_graph() -> np.ndarray:
    # Node 0 input, node 1 + e the edge EDGES[e], node 7 output (see NB201Space.to_graph).
    n = len(EDGES) + 2
    adjacency = np.zeros((n, n), dtype=np.uint8)
    for e, (src, dst) in enumerate(EDGES):
        if src == 0:
            adjacency[0, 1 + e] = 1
        if dst == N_NODES - 1:
            adjacency[1 + e, n - 1] = 1
        for f, (src2, _) in enumerate(EDGES):
            if src2 == dst:
                adjacency[1 + e, 1 + f] = 1
    adjacency.setflags(write=False)
    return adjacency


_EDGE_GRAPH = _edge_graph()


class NB201Space(SearchSpace):
    """The NAS-Bench-201 topology space: 5 ops on 6 edges, 15,625 architectures."""

    name = "nb201"
    size = len(OPS) ** len(EDGES)
    graph_view = True
    ops = OPS
    edges = EDGES

    def parse(self, text: str) -> NB201Arch:
        """Parse the official string (see :func:`parse_arch`)."""
        return parse_arch(text)

    def format(self, arch: NB201Arch | str) -> str:
        """The official string of ``arch``."""
        return format_arch(self.validate(arch))

    def _validate_value(self, arch: Any) -> NB201Arch:
        return validate_ops(arch)

    def canonical_key(self, arch: NB201Arch | str) -> str:
        """The authors' isomorphism string (rule in :func:`authors_key`, 6,466 classes)."""
        return authors_key(self.validate(arch))

    def canonical(self, arch: NB201Arch | str) -> NB201Arch:
        """The first member of ``arch``'s :meth:`canonical_key` class in :meth:`enumerate` order."""
        return _representative_of()[self.validate(arch)]

    def functional_key(self, arch: NB201Arch | str) -> str:
        """The flattened, zero-dropping key (rule in :func:`functional_key`, 4,930 classes)."""
        return functional_key(arch)

    def sample(self, rng: np.random.Generator) -> NB201Arch:
        """One architecture, each edge's op drawn uniformly and independently."""
        return tuple(OPS[i] for i in rng.integers(0, len(OPS), size=len(EDGES)))  # type: ignore[return-value]

    def mutate(self, arch: NB201Arch | str, rng: np.random.Generator) -> NB201Arch:
        """Change the op of one uniformly chosen edge to one of the 4 other ops, uniformly."""
        ops = list(self.validate(arch))
        edge = int(rng.integers(0, len(EDGES)))
        shift = int(rng.integers(1, len(OPS)))
        ops[edge] = OPS[(_OP_INDEX[ops[edge]] + shift) % len(OPS)]
        return tuple(ops)  # type: ignore[return-value]

    def neighbours(self, arch: NB201Arch | str) -> list[NB201Arch]:
        """The 24 single-edge changes: edge by edge, then ops in :data:`OPS` order."""
        ops = self.validate(arch)
        out: list[NB201Arch] = []
        for edge in range(len(EDGES)):
            for op in OPS:
                if op != ops[edge]:
                    out.append(ops[:edge] + (op,) + ops[edge + 1 :])  # type: ignore[arg-type]
        return out

    def decisions(self) -> tuple[Decision, ...]:
        """One decision per edge, ``"edge i->j"``, with the options :data:`OPS`."""
        return _DECISIONS

    def to_codes(self, arch: NB201Arch | str) -> tuple[int, ...]:
        """The op ids of ``arch`` edge by edge."""
        return op_indices(self.validate(arch))

    def from_codes(self, codes: Sequence[int]) -> NB201Arch:
        """The architecture with op ``OPS[codes[e]]`` on edge ``e``."""
        codes = checked_codes(_SPACE, codes, _DECISIONS)
        return tuple(OPS[c] for c in codes)  # type: ignore[return-value]

    def live_decisions(self, arch: NB201Arch | str) -> tuple[bool, ...]:
        """An edge is live when its op is not ``none`` and it lies on a path of non-``none``
        edges from the input (node 0) to the output (node 3)."""
        ops = self.validate(arch)
        real = [(s, d) for (s, d), op in zip(EDGES, ops, strict=True) if op != "none"]
        from_input, to_output = {0}, {N_NODES - 1}
        for s, d in real:  # EDGES list every edge into a node before any edge out of it
            if s in from_input:
                from_input.add(d)
        for s, d in reversed(real):
            if d in to_output:
                to_output.add(s)
        return tuple(
            op != "none" and s in from_input and d in to_output for (s, d), op in zip(EDGES, ops, strict=True)
        )

    def graph_ops(self) -> tuple[str, ...]:
        """The five ops of :data:`OPS` (``none`` included: :meth:`to_graph` keeps every edge)."""
        return OPS

    def to_graph(self, arch: NB201Arch | str) -> CellGraph:
        """The cell as a node-labelled DAG of 8 nodes: input, one node per edge (in
        :data:`EDGES` order) labelled with its op, output.

        The node of edge ``(i, j)`` feeds the nodes of the edges ``(j, k)``; the input
        feeds the edges out of cell node 0 and the edges into cell node 3 feed the
        output. Every edge node is present (``none`` included), so the adjacency is
        the same for every architecture and the ops say which paths carry signal.
        """
        return CellGraph(_EDGE_GRAPH, ("input", *self.validate(arch), "output"))

    def max_graph_nodes(self) -> int:
        """Nodes of every :meth:`to_graph` (8)."""
        return len(EDGES) + 2

    def max_path_length(self) -> int:
        """Interior nodes on the longest input-to-output path of :meth:`to_graph` (3)."""
        return N_NODES - 1

    def enumerate(self) -> Iterator[NB201Arch]:
        """All 15,625 architectures in ``itertools.product(OPS, repeat=6)`` order.

        This is not the official NATS-Bench index order; tables carry that index.
        """
        return itertools.product(OPS, repeat=len(EDGES))  # type: ignore[return-value]
