"""Tests of the NB201 space: text form, equivalence keys, sampling and neighbourhoods."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_suite import spaces
from nasbench_suite.errors import MalformedArchError
from nasbench_suite.spaces.nb201 import EDGES, OPS, NB201Space, functional_key, op_indices

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PER_SEED = DATA / "nb201" / "nb201_per_seed.csv"

SPACE = NB201Space()
ALL = list(SPACE.enumerate())
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
EXAMPLE_OPS = ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_1x1")


def test_registry_and_constants() -> None:
    space = spaces.get("nb201")
    assert isinstance(space, NB201Space)
    assert space.name == "nb201" and space.size == 15625
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert list(EDGES) == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    assert space.config() == {}


def test_enumerate_is_product_order_and_complete() -> None:
    assert ALL == list(itertools.product(OPS, repeat=6))
    assert len(set(ALL)) == SPACE.size


def test_parse_example() -> None:
    assert SPACE.parse(EXAMPLE) == EXAMPLE_OPS
    assert SPACE.format(EXAMPLE_OPS) == EXAMPLE
    assert SPACE.parse(f"  {EXAMPLE}\n") == EXAMPLE_OPS
    assert op_indices(EXAMPLE_OPS) == (3, 3, 3, 1, 3, 2)


def test_round_trip_all() -> None:
    for arch in ALL:
        text = SPACE.format(arch)
        assert SPACE.parse(text) == arch
        assert SPACE.key(arch) == text == SPACE.key(text)


def test_validate_sequences() -> None:
    assert SPACE.validate(list(EXAMPLE_OPS)) == EXAMPLE_OPS
    from_numpy = SPACE.validate(np.array(EXAMPLE_OPS))
    assert from_numpy == EXAMPLE_OPS and all(type(op) is str for op in from_numpy)
    for bad, needle in [
        (EXAMPLE_OPS[:5], "expected 6 op names, got 5"),
        (("conv",) + EXAMPLE_OPS[1:], "unknown op 'conv' on edge (0, 1)"),
        (42, "got int"),
        (None, "got NoneType"),
        (b"|none~0|", "got bytes"),
        ((1, 2, 3, 4, 5, 6), "unknown op 1"),
    ]:
        with pytest.raises(MalformedArchError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            SPACE.validate(bad)


# --- equivalence keys -----------------------------------------------------------------


def test_canonical_class_count_is_the_published_6466() -> None:
    assert len({SPACE.canonical_key(a) for a in ALL}) == 6466


def test_functional_class_count_is_4930() -> None:
    assert len({functional_key(a) for a in ALL}) == 4930


def test_functional_key_is_coarser_than_canonical() -> None:
    by_canonical: dict[str, set[str]] = {}
    for arch in ALL:
        by_canonical.setdefault(SPACE.canonical_key(arch), set()).add(SPACE.functional_key(arch))
    assert all(len(v) == 1 for v in by_canonical.values())


def _arch(*ops: str) -> tuple[str, ...]:
    return SPACE.validate(list(ops))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Node 1 is x itself, so the two edges into node 3 from x and from node 1 commute.
        (
            _arch("skip_connect", "none", "none", "nor_conv_3x3", "nor_conv_1x1", "none"),
            _arch("skip_connect", "none", "none", "nor_conv_1x1", "nor_conv_3x3", "none"),
        ),
        # Node 1 is zero, so whatever leaves it is dead.
        (
            _arch("none", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_1x1", "nor_conv_3x3"),
            _arch("none", "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "nor_conv_3x3"),
        ),
        # A skip from a zero node is a zero term, like none.
        (
            _arch("none", "skip_connect", "none", "avg_pool_3x3", "none", "avg_pool_3x3"),
            _arch("none", "skip_connect", "avg_pool_3x3", "avg_pool_3x3", "skip_connect", "avg_pool_3x3"),
        ),
    ],
)
def test_known_isomorphic_pairs(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert a != b
    assert SPACE.canonical_key(a) == SPACE.canonical_key(b)
    assert SPACE.functional_key(a) == SPACE.functional_key(b)


def test_canonical_key_examples() -> None:
    # Node 3 = skip(x) + conv3(node 1) + conv1(node 2), terms sorted as strings ('(' < '0').
    assert SPACE.canonical_key(EXAMPLE) == (
        "(((0)@nor_conv_3x3)@nor_conv_3x3+(0)@nor_conv_3x3)@nor_conv_1x1+((0)@nor_conv_3x3)@nor_conv_3x3+0"
    )
    assert SPACE.functional_key(EXAMPLE) == (
        "nor_conv_1x1(nor_conv_3x3(nor_conv_3x3(x))+nor_conv_3x3(x))+nor_conv_3x3(nor_conv_3x3(x))+x"
    )
    assert SPACE.canonical_key(("none",) * 6) == "#+#+#"
    assert SPACE.functional_key(("none",) * 6) == "0"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # avg(x) + avg(zero + x): the authors keep the zero term '#' inside the pool.
        (
            _arch("none", "skip_connect", "none", "avg_pool_3x3", "none", "avg_pool_3x3"),
            _arch("skip_connect", "none", "none", "avg_pool_3x3", "avg_pool_3x3", "none"),
        ),
        # Nodes 1 and 2 swap roles when the edge 1->2 is none; the authors' key keeps the zero
        # term of that edge in node 2, which breaks the symmetry.
        (
            _arch("nor_conv_3x3", "nor_conv_1x1", "none", "skip_connect", "avg_pool_3x3", "nor_conv_3x3"),
            _arch("nor_conv_1x1", "nor_conv_3x3", "none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3"),
        ),
        # x + conv1(x) + zero either way, but a skipped sum ('#+0') is joined in as one string
        # and not re-sorted, so the authors' two strings differ.
        (
            _arch("none", "skip_connect", "none", "nor_conv_1x1", "none", "skip_connect"),
            _arch("none", "nor_conv_1x1", "none", "skip_connect", "none", "skip_connect"),
        ),
        # A node whose terms are all zero ('#+#') is not zero for the authors.
        (
            _arch("none", "none", "none", "skip_connect", "none", "nor_conv_3x3"),
            _arch("none", "none", "none", "skip_connect", "none", "none"),
        ),
    ],
)
def test_pairs_only_the_functional_key_folds(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert SPACE.canonical_key(a) != SPACE.canonical_key(b)
    assert SPACE.functional_key(a) == SPACE.functional_key(b)


def test_different_computations_have_different_keys() -> None:
    a = _arch("nor_conv_3x3", "none", "none", "none", "skip_connect", "none")
    b = _arch("nor_conv_1x1", "none", "none", "none", "skip_connect", "none")
    c = _arch("nor_conv_3x3", "none", "none", "skip_connect", "skip_connect", "none")
    keys = [(SPACE.canonical_key(x), SPACE.functional_key(x)) for x in (a, b, c)]
    assert len({k[0] for k in keys}) == 3 and len({k[1] for k in keys}) == 3


# --- malformed strings ---------------------------------------------------------------

TYPICAL_BAD = [
    ("", "empty string"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "expected 3 nodes separated by '+', found 2"),
    (EXAMPLE.replace("nor_conv_1x1~2", "conv5x5~2"), "unknown op 'conv5x5' in token 'conv5x5~2'"),
    (EXAMPLE.replace("nor_conv_1x1~2", "nor_conv_1x1~1"), "token 'nor_conv_1x1~1' in node 3 has input '1'"),
    (EXAMPLE.replace("skip_connect~0", "skip_connect"), "token 'skip_connect' in node 3 lacks '~"),
    (EXAMPLE.replace("|+|skip", "+|skip"), "node 2 '|nor_conv_3x3~0|nor_conv_3x3~1' does not end with '|'"),
    (EXAMPLE[1:], "node 1 'nor_conv_3x3~0|' does not start with '|'"),
    (EXAMPLE.replace("|+|nor_conv_3x3~0|", "|+|nor_conv_3x3~0||"), "empty token"),
    (EXAMPLE.replace("|nor_conv_3x3~1|+", "|+"), "node 2 '|nor_conv_3x3~0|' has 1 edge(s); expected 2"),
    (EXAMPLE + "+|none~0|", "found 4"),
]


@pytest.mark.parametrize(("text", "needle"), TYPICAL_BAD)
def test_typical_malformed_strings_name_the_bad_token(text: str, needle: str) -> None:
    with pytest.raises(MalformedArchError) as info:
        SPACE.parse(text)
    assert needle in info.value.reason
    assert info.value.text == text


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(MalformedArchError, match="expected a string"):
        SPACE.parse(EXAMPLE_OPS)  # type: ignore[arg-type]


def _parse_or_malformed(text: str) -> None:
    try:
        arch = SPACE.parse(text)
    except MalformedArchError:
        return
    assert SPACE.format(arch) == text.strip()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=150))
def test_fuzz_arbitrary_text(text: str) -> None:
    _parse_or_malformed(text)


_PIECES = "| ~ + 0 1 2 3 ~0| none skip_connect nor_conv _3x3".split() + [" ", "\n", ""]


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, 15624),
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 3), st.sampled_from(_PIECES)), min_size=1, max_size=3
    ),
)
def test_fuzz_mutated_valid_strings(index: int, edits: list[tuple[int, int, str]]) -> None:
    text = SPACE.format(ALL[index])
    for pos, width, piece in edits:
        pos %= len(text) + 1
        text = text[:pos] + piece + text[pos + width :]
    _parse_or_malformed(text)


# --- sampling and neighbourhoods ------------------------------------------------------


def test_sample_is_deterministic_and_covers_ops() -> None:
    a = [SPACE.sample(np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng1, rng2 = np.random.default_rng(11), np.random.default_rng(11)
    draws = [SPACE.sample(rng1) for _ in range(500)]
    assert draws == [SPACE.sample(rng2) for _ in range(500)]
    assert all(SPACE.validate(d) == d for d in draws)
    for edge in range(6):
        assert {d[edge] for d in draws} == set(OPS)


def test_mutate_changes_exactly_one_edge() -> None:
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(600):
        arch = SPACE.sample(rng)
        child = SPACE.mutate(arch, rng)
        assert sum(x != y for x, y in zip(arch, child, strict=True)) == 1
        assert SPACE.validate(child) == child
        seen.add(SPACE.mutate(EXAMPLE, rng))
    assert seen == set(SPACE.neighbours(EXAMPLE))
    first = [SPACE.mutate(EXAMPLE, np.random.default_rng(5)) for _ in range(2)]
    assert first[0] == first[1]


def test_neighbours_fixed_order_and_correct() -> None:
    nbrs = SPACE.neighbours(EXAMPLE)
    assert nbrs == SPACE.neighbours(list(EXAMPLE_OPS))
    assert len(nbrs) == 24 == len(set(nbrs))
    assert EXAMPLE_OPS not in nbrs
    for i, nbr in enumerate(nbrs):
        changed = [e for e in range(6) if nbr[e] != EXAMPLE_OPS[e]]
        assert changed == [i // 4]
    assert nbrs[0] == ("none",) + EXAMPLE_OPS[1:]
    assert nbrs[-1] == EXAMPLE_OPS[:5] + ("avg_pool_3x3",)


# --- real data -------------------------------------------------------------------------


@pytest.mark.skipif(not PER_SEED.exists(), reason=f"real NB201 data not found at {PER_SEED}")
def test_every_arch_in_the_published_per_seed_file_round_trips() -> None:
    with PER_SEED.open(newline="") as fh:
        archs = {row["arch"] for row in csv.DictReader(fh)}
    assert len(archs) == 15625
    for text in archs:
        assert SPACE.format(SPACE.parse(text)) == text
