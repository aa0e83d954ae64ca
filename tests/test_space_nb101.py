"""Tests of the NB101 space: validity, pruning, the official graph hash, text forms, moves."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_suite import spaces
from nasbench_suite.errors import InvalidArchError, MalformedArchError
from nasbench_suite.spaces.nb101 import (
    CONV1X1,
    CONV3X3,
    INPUT,
    INTERIOR_OPS,
    MAXPOOL3X3,
    OPS,
    OUTPUT,
    NB101Cell,
    NB101Space,
    prune,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE = DATA / "nb101" / "nb101_sample_2500.jsonl"

SPACE = NB101Space()

# A row of the official nasbench_only108 tfrecord and its published hash.
OFFICIAL_MATRIX = [
    [0, 1, 0, 0, 1, 1, 0],
    [0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 1],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
OFFICIAL_OPS = [INPUT, CONV3X3, MAXPOOL3X3, CONV3X3, CONV3X3, CONV1X1, OUTPUT]
OFFICIAL_HASH = "00005c142e6f48ac74fdcf73e3439874"


def cell(matrix: list[list[int]], ops: list[str]) -> NB101Cell:
    return NB101Cell(tuple(tuple(r) for r in matrix), tuple(ops))


def oracle_form(c: NB101Cell) -> tuple[int, bytes]:
    """Exact canonical form: the smallest relabelling over all permutations of interior nodes."""
    p = prune(c)
    n = p.n_nodes
    m = np.array(p.matrix, dtype=np.int8)
    labels = np.array([OPS.index(op) for op in p.ops], dtype=np.int8)
    perms = np.array([(0, *q, n - 1) for q in itertools.permutations(range(1, n - 1))], dtype=np.intp)
    relabelled = m[perms[:, :, None], perms[:, None, :]].reshape(len(perms), -1)
    forms = np.concatenate([relabelled, labels[perms]], axis=1)
    return n, min(row.tobytes() for row in forms)


@st.composite
def relabelled_pairs(draw: st.DrawFn) -> tuple[NB101Cell, NB101Cell]:
    """A random cell and the same DAG under a random topological relabelling of its interior."""
    n = draw(st.integers(2, 7))
    slots = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(slots), unique=True, max_size=min(10, len(slots))))
    ops = [INPUT, *(draw(st.sampled_from(INTERIOR_OPS)) for _ in range(n - 2)), OUTPUT]
    m = [[0] * n for _ in range(n)]
    for i, j in edges:
        m[i][j] = 1
    order = [0]
    while len(order) < n - 1:
        ready = [
            v for v in range(1, n - 1) if v not in order and all(not m[u][v] or u in order for u in range(n))
        ]
        order.append(draw(st.sampled_from(ready)))
    order.append(n - 1)
    m2 = [[m[order[k]][order[k2]] for k2 in range(n)] for k in range(n)]
    return cell(m, ops), cell(m2, [ops[v] for v in order])


def key_or_none(c: NB101Cell) -> str | None:
    try:
        return SPACE.key(c)
    except InvalidArchError:
        return None


def test_registry() -> None:
    space = spaces.get("nb101")
    assert isinstance(space, NB101Space)
    assert space.name == "nb101" and space.size is None and space.config() == {}
    with pytest.raises(NotImplementedError, match="nb101"):
        space.enumerate()


def test_hash_matches_the_official_tfrecord() -> None:
    c = SPACE.validate({"matrix": OFFICIAL_MATRIX, "ops": OFFICIAL_OPS})
    assert SPACE.key(c) == SPACE.canonical_key(c) == OFFICIAL_HASH
    assert SPACE.key(OFFICIAL_HASH) == OFFICIAL_HASH


@settings(max_examples=300, deadline=None)
@given(relabelled_pairs())
def test_isomorphic_cells_hash_equal(pair: tuple[NB101Cell, NB101Cell]) -> None:
    a, b = pair
    assert key_or_none(a) == key_or_none(b)
    if key_or_none(a) is not None:
        assert oracle_form(a) == oracle_form(b)


@settings(max_examples=200, deadline=None)
@given(relabelled_pairs(), relabelled_pairs())
def test_hash_equal_exactly_when_isomorphic(
    p: tuple[NB101Cell, NB101Cell], q: tuple[NB101Cell, NB101Cell]
) -> None:
    a, b = p[0], q[1]
    ka, kb = key_or_none(a), key_or_none(b)
    if ka is not None and kb is not None:
        assert (ka == kb) == (oracle_form(a) == oracle_form(b))


@pytest.mark.skipif(not SAMPLE.exists(), reason=f"real NB101 sample not found at {SAMPLE}")
def test_real_sample_hash_classes_are_isomorphism_classes() -> None:
    by_hash: dict[str, set[tuple[int, bytes]]] = {}
    by_form: dict[tuple[int, bytes], set[str]] = {}
    with SAMPLE.open() as fh:
        rows = [json.loads(line) for line in fh]
    assert len(rows) == 2500
    for row in rows:
        c = SPACE.validate({"adjacency": row["adjacency"], "ops": row["ops"]})
        assert SPACE.parse(SPACE.format(c)) == c
        h, form = SPACE.key(c), oracle_form(c)
        by_hash.setdefault(h, set()).add(form)
        by_form.setdefault(form, set()).add(h)
    assert all(len(forms) == 1 for forms in by_hash.values())
    assert all(len(hashes) == 1 for hashes in by_form.values())


# --- validity and pruning ---------------------------------------------------------------


def test_prune_removes_dangling_nodes() -> None:
    # Node 2 has no path to the output, node 3 no path from the input.
    raw = cell(
        [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
        [INPUT, CONV3X3, MAXPOOL3X3, CONV1X1, OUTPUT],
    )
    pruned = prune(raw)
    assert pruned == cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    assert SPACE.prune(raw) == pruned and SPACE.validate(raw) == raw
    assert SPACE.key(raw) == SPACE.key(pruned)


def test_edge_limit_applies_after_pruning() -> None:
    # 10 edges, but node 5 dangles (no edge to the output) and takes 4 of them with it.
    m = [[0] * 7 for _ in range(7)]
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 5), (1, 5), (2, 5), (3, 5), (4, 5)]:
        m[i][j] = 1
    raw = cell(m, [INPUT, CONV3X3, CONV3X3, CONV1X1, MAXPOOL3X3, CONV3X3, OUTPUT])
    assert raw.n_edges == 10 and prune(raw).n_edges == 5


INVALID = [
    (cell([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT]), "not connected"),
    (
        cell(
            [[0] + [1] * 7] + [[0] * (i + 2) + [1] * (6 - i) for i in range(7)],
            [INPUT, *[CONV3X3] * 6, OUTPUT],
        ),
        "8 nodes; a cell has at most 7",
    ),
    (
        cell([[0] * (i + 1) + [1] * (6 - i) for i in range(7)], [INPUT, *[CONV3X3] * 5, OUTPUT]),
        "21 edges after pruning; a cell has at most 9",
    ),
]


@pytest.mark.parametrize(("c", "needle"), INVALID)
def test_invalid_cells(c: NB101Cell, needle: str) -> None:
    for call in (SPACE.validate, SPACE.key, prune, lambda x: SPACE.parse(SPACE.format(x))):
        with pytest.raises(InvalidArchError) as info:
            call(c)
        assert needle in info.value.reason


MALFORMED = [
    ({"matrix": [[0, 1], [1, 0]], "ops": [INPUT, OUTPUT]}, "entry (1, 0) is 1 on or below the diagonal"),
    ({"matrix": [[1, 1], [0, 0]], "ops": [INPUT, OUTPUT]}, "entry (0, 0) is 1 on or below the diagonal"),
    ({"matrix": [[0, 2], [0, 0]], "ops": [INPUT, OUTPUT]}, "entry (0, 1) is 2; entries must be 0 or 1"),
    ({"matrix": [[0, 1.0], [0, 0]], "ops": [INPUT, OUTPUT]}, "entry (0, 1) is 1.0"),
    (
        {"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": [INPUT, OUTPUT]},
        "matrix has 3 rows but there are 2 ops",
    ),
    ({"matrix": [[0, 1], [0]], "ops": [INPUT, OUTPUT]}, "row 1 has 1 entries; expected 2"),
    ({"matrix": [[0, 1], [0, 0]], "ops": [INPUT, "conv5x5"]}, "unknown op 'conv5x5' at node 1"),
    ({"matrix": [[0, 1], [0, 0]], "ops": [OUTPUT, INPUT]}, "node 0 must be 'input'"),
    ({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": [INPUT, CONV3X3, CONV1X1]}, "must be 'output'"),
    (
        {"matrix": [[0, 1, 1], [0, 0, 1], [0, 0, 0]], "ops": [INPUT, INPUT, OUTPUT]},
        "interior node 1 has op 'input'",
    ),
    ({"matrix": [[0]], "ops": [INPUT]}, "at least 2 nodes"),
    ({"matrix": [[0, 1], [0, 0]], "ops": "input,output"}, "ops must be a list"),
    ({"matrix": "01/00", "ops": [INPUT, OUTPUT]}, "matrix must be a list of rows"),
    ({"ops": [INPUT, OUTPUT]}, "missing 'adjacency' (or 'matrix')"),
    ({"matrix": [[0, 1], [0, 0]]}, "missing 'ops'"),
    ({"matrix": [[0, 1], [0, 0]], "adjacency": [[0, 1], [0, 0]], "ops": [INPUT, OUTPUT]}, "not both"),
]


@pytest.mark.parametrize(("obj", "needle"), MALFORMED)
def test_malformed_cells_name_the_problem(obj: dict, needle: str) -> None:
    for arch in (obj, json.dumps(obj)):
        with pytest.raises(MalformedArchError) as info:
            SPACE.validate(arch)
        assert type(info.value) is MalformedArchError
        assert needle in info.value.reason


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("01/00", "no ':' found"),
        ("01/0a:input,output", "row 1 '0a' must be a string of 0 and 1; found 'a'"),
        ("01//00:input,output", "row 1 '' must be a string of 0 and 1; it is empty"),
        ("{not json", "invalid JSON"),
        ("[1, 2]", "no ':' found"),
        ('{"a": 1} ', "missing 'adjacency'"),
        ("{" * 100000, "invalid JSON"),
        (OFFICIAL_HASH, "graph hash"),
        ("010/001/000:input,conv7x7,output", "unknown op 'conv7x7' at node 1"),
    ],
)
def test_malformed_text(text: str, needle: str) -> None:
    with pytest.raises(MalformedArchError) as info:
        SPACE.parse(text)
    assert needle in info.value.reason


def test_validate_rejects_other_types() -> None:
    for bad in (None, 3, [[0, 1], [0, 0]], b"01/00:input,output"):
        with pytest.raises(MalformedArchError, match="expected an NB101Cell"):
            SPACE.validate(bad)


# --- text forms -----------------------------------------------------------------------------


def test_text_forms() -> None:
    c = SPACE.validate({"adjacency": OFFICIAL_MATRIX, "ops": OFFICIAL_OPS})
    text = SPACE.format(c)
    assert text == (
        "0100110/0010000/0001001/0000010/0000010/0000001/0000000:"
        "input,conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu,output"
    )
    assert SPACE.parse(text) == c == SPACE.parse(f" {text}\n")
    assert SPACE.parse(json.dumps({"adjacency": OFFICIAL_MATRIX, "ops": OFFICIAL_OPS, "accuracy": 0.9})) == c
    assert SPACE.validate(cell(OFFICIAL_MATRIX, OFFICIAL_OPS)) == c
    assert SPACE.validate(NB101Cell(np.array(OFFICIAL_MATRIX), OFFICIAL_OPS)) == c  # type: ignore[arg-type]
    assert SPACE.key(text) == OFFICIAL_HASH


def _parse_or_malformed(text: str) -> None:
    try:
        c = SPACE.parse(text)
    except MalformedArchError:
        return
    assert SPACE.parse(SPACE.format(c)) == c


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120) | st.text(alphabet='01/:,{}[]" input,output', max_size=80))
def test_fuzz_parse_text(text: str) -> None:
    _parse_or_malformed(text)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 3) | st.floats() | st.sampled_from(OPS) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({"adjacency": _JSON, "ops": _JSON}) | _JSON)
def test_fuzz_parse_json(obj: object) -> None:
    _parse_or_malformed(json.dumps(obj))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 300),
    st.integers(0, 3),
    st.sampled_from(["0", "1", "/", ":", ",", ""]),
)
def test_fuzz_mutated_compact_forms(seed: int, pos: int, width: int, piece: str) -> None:
    text = SPACE.format(SPACE.sample(np.random.default_rng(seed)))
    pos %= len(text) + 1
    _parse_or_malformed(text[:pos] + piece + text[pos + width :])


# --- sampling and neighbourhoods ---------------------------------------------------------------


def test_sample_is_deterministic_valid_and_pruned() -> None:
    draws = [SPACE.sample(np.random.default_rng(0)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(1)
    many = [SPACE.sample(rng) for _ in range(300)]
    for c in many:
        assert prune(c) == c and c.n_nodes <= 7 and c.n_edges <= 9
        assert SPACE.parse(SPACE.format(c)) == c
    # The official law favours small cells (pruning folds many draws together), so repeats are common.
    assert len({SPACE.key(c) for c in many}) > 150
    assert max(c.n_nodes for c in many) == 7


def test_mutate_is_deterministic_valid_and_different() -> None:
    rng = np.random.default_rng(2)
    for _ in range(100):
        parent = SPACE.sample(rng)
        child = SPACE.mutate(parent, rng)
        assert prune(child) == child
        assert SPACE.key(child) != SPACE.key(parent)
    small = cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    a = SPACE.mutate(small, np.random.default_rng(9))
    assert a == SPACE.mutate(SPACE.format(small), np.random.default_rng(9))
    grown = {SPACE.mutate(small, np.random.default_rng(s)).n_nodes for s in range(200)}
    assert max(grown) > 3


def test_neighbours_of_a_small_cell() -> None:
    small = cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    assert SPACE.neighbours(small) == [
        cell([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT]),
        cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV1X1, OUTPUT]),
        cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, MAXPOOL3X3, OUTPUT]),
    ]


def test_neighbours_are_valid_distinct_and_deterministic() -> None:
    rng = np.random.default_rng(4)
    for _ in range(30):
        c = SPACE.sample(rng)
        nbrs = SPACE.neighbours(c)
        assert nbrs == SPACE.neighbours(SPACE.format(c))
        keys = [SPACE.key(n) for n in nbrs]
        assert len(set(keys)) == len(keys) and SPACE.key(c) not in keys
        assert all(prune(n) == n for n in nbrs)


def test_hash_modules_matches_hash_module_on_every_size(monkeypatch):
    """The batched graph hash (numpy + one MD5 call per node and round) is the official one,
    and cells whose digests tie on the sort key's bytes are hashed one by one, the same."""
    from nasbench_suite.spaces import nb101_hash
    from tests.nb101_official_support import LABELS, sampled_cells

    by_size: dict[int, list] = {}
    for key, digits, ops in sampled_cells(400, seed=11):
        labels = [LABELS[op] for op in ops.split(",")]
        by_size.setdefault(len(labels), []).append((key, [int(d) for d in digits], labels))
    assert len(by_size) >= 4
    for key_bytes in (7, 1):
        monkeypatch.setattr(nb101_hash, "_KEY_BYTES", key_bytes)
        for n, cells in by_size.items():
            matrices = np.array([m for _, m, _ in cells]).reshape(-1, n, n)
            labels = np.array([lab for *_, lab in cells]).reshape(-1, n)
            assert nb101_hash.hash_modules(matrices, labels) == [k for k, _, _ in cells]
