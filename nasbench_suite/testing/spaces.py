"""The conformance suite every search space passes.

Each ``check_*`` function takes a :class:`~nasbench_suite.spaces.SearchSpace` instance
and raises ``AssertionError`` saying what is wrong. Architectures are drawn with
seeded Generators, so a failure repeats.

    from nasbench_suite.testing import check_space
    check_space(MySpace())
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasbench_suite.errors import MalformedArchError
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.testing._common import Check, bind, expect, global_random_untouched, parametrize_checks
from nasbench_suite.testing._common import run_checks as _run_checks

#: Architectures sampled per check.
N_SAMPLES = 40
#: Spaces up to this size are enumerated in full by :func:`check_enumeration`.
ENUMERATE_LIMIT = 20_000


def samples(space: SearchSpace, n: int = N_SAMPLES, seed: int = 0) -> list[Any]:
    """``n`` architectures drawn from ``space`` with ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def _malformed(what: str, call: Callable[[], object]) -> None:
    """Fail unless ``call()`` raises ``MalformedArchError``."""
    try:
        call()
    except MalformedArchError:
        return
    except Exception as exc:
        raise AssertionError(
            f"{what} raised {type(exc).__name__} ({exc}); expected MalformedArchError"
        ) from exc
    raise AssertionError(f"{what} was accepted; it must raise MalformedArchError")


# --- the checks ---------------------------------------------------------------------------


def check_declares_name_size_and_config(space: SearchSpace) -> None:
    """A non-empty ``name``; ``size`` None or a positive int; ``config()`` JSON-able and
    rebuilding an equal space (what a table stores to reopen it)."""
    expect(isinstance(space.name, str) and space.name, f"{type(space).__qualname__}.name must be a string")
    expect(
        space.size is None or (isinstance(space.size, int) and space.size > 0),
        f"size must be None or a positive int, not {space.size!r}",
    )
    config = space.config()
    try:
        json.dumps(config)
    except TypeError as exc:
        raise AssertionError(f"config() {config!r} is not JSON-able: {exc}") from exc
    rebuilt = type(space)(**config)
    expect(rebuilt.name == space.name and rebuilt.size == space.size, "type(space)(**config()) differs")
    expect(rebuilt.decisions() == space.decisions(), "type(space)(**config()) has other decisions")
    keys = [space.key(a) for a in samples(space, 10)]
    expect(
        keys == [rebuilt.key(a) for a in samples(rebuilt, 10)], "type(space)(**config()) samples differently"
    )


def check_text_round_trip(space: SearchSpace) -> None:
    """``parse(format(a)) == a``; ``validate`` accepts the value and its text; ``key`` is the
    same for both; architectures are hashable."""
    for arch in samples(space):
        text = space.format(arch)
        expect(isinstance(text, str), f"format gave {type(text).__name__}, not str")
        expect(space.parse(text) == arch, f"parse(format(a)) != a for {text!r}")
        expect(space.validate(arch) == arch, f"validate(a) != a for {text!r}")
        expect(space.validate(text) == arch, f"validate(text) != a for {text!r}")
        expect(space.key(arch) == space.key(text), f"key(a) != key(text) for {text!r}")
        expect({arch: 1}[space.parse(text)] == 1, f"{text!r} is not hashable as the same value")


def check_malformed_input_raises(space: SearchSpace) -> None:
    """Text and values that are no architecture raise ``MalformedArchError``."""
    text = space.format(samples(space, 1)[0])
    for bad in ("", "not an architecture", text + "#", "\x00" + text):
        _malformed(f"parse({bad!r})", lambda bad=bad: space.parse(bad))
    for value in (None, 42, object()):
        _malformed(f"validate({value!r})", lambda value=value: space.validate(value))


def check_canonical_key(space: SearchSpace) -> None:
    """``canonical_key`` is a string, the same for an architecture and its text, and never
    splits one ``key`` (isomorphic architectures share a canonical key)."""
    by_key: dict[str, str] = {}
    for arch in samples(space):
        canonical = space.canonical_key(arch)
        expect(isinstance(canonical, str), f"canonical_key gave {type(canonical).__name__}, not str")
        expect(
            canonical == space.canonical_key(space.format(arch)), "canonical_key(a) != canonical_key(text)"
        )
        expect(by_key.setdefault(space.key(arch), canonical) == canonical, "one key, two canonical keys")


def check_sample_is_deterministic(space: SearchSpace) -> None:
    """The same seeded Generator gives the same draws, all inside the space, and not all equal."""
    draws = samples(space, seed=11)
    expect(draws == samples(space, seed=11), "two Generators seeded 11 sampled differently")
    for arch in draws:
        expect(space.validate(arch) == arch, f"sampled {arch!r}, which validate changes or refuses")
    expect(len({space.key(a) for a in draws}) > 1, f"{len(draws)} draws were all the same architecture")


def check_mutate(space: SearchSpace) -> None:
    """A mutation is deterministic under a seeded Generator, inside the space, never the
    parent (by key), and the same from the architecture or its text."""
    for i, parent in enumerate(samples(space, seed=2)):
        child = space.mutate(parent, np.random.default_rng(i))
        expect(space.validate(child) == child, f"mutate gave {child!r}, which validate changes or refuses")
        expect(space.key(child) != space.key(parent), f"mutate returned the parent {space.format(parent)!r}")
        again = space.mutate(space.format(parent), np.random.default_rng(i))
        expect(again == child, "mutate differs between the architecture and its text, same seed")


def check_neighbours(space: SearchSpace) -> None:
    """``neighbours`` is a fixed list of distinct architectures inside the space, without the
    architecture itself, the same from its text (it may be empty: NB101's smallest cell
    has no valid neighbour), and not empty for every sampled architecture."""
    sizes = []
    for arch in samples(space, 15, seed=4):
        neighbours = space.neighbours(arch)
        sizes.append(len(neighbours))
        expect(neighbours == space.neighbours(space.format(arch)), "neighbours differ from the text form's")
        keys = [space.key(n) for n in neighbours]
        expect(len(set(keys)) == len(keys), f"neighbours of {space.format(arch)!r} repeat an architecture")
        expect(space.key(arch) not in keys, f"{space.format(arch)!r} is among its own neighbours")
        for n in neighbours:
            expect(space.validate(n) == n, f"neighbour {n!r} is not a valid value of the space")
    expect(max(sizes) > 0, "no sampled architecture has a neighbour")


def check_codes_round_trip(space: SearchSpace) -> None:
    """One code per decision, each an index into its options; ``from_codes(to_codes(a)) == a``;
    codes of the wrong length or out of range raise ``MalformedArchError``."""
    decisions = space.decisions()
    expect(len(decisions) > 0, "decisions() is empty")
    for d in decisions:
        expect(len(d.options) > 0, f"decision {d.name!r} has no options")
    for arch in samples(space):
        codes = space.to_codes(arch)
        expect(len(codes) == len(decisions), f"{len(codes)} codes for {len(decisions)} decisions")
        expect(
            all(0 <= int(c) < len(d.options) for c, d in zip(codes, decisions, strict=True)),
            f"a code of {codes} is outside its decision's options",
        )
        expect(space.to_codes(space.format(arch)) == codes, "to_codes differs between value and text")
        expect(space.from_codes(codes) == arch, f"from_codes(to_codes(a)) != a for {space.format(arch)!r}")
        live = space.live_decisions(arch)
        expect(len(live) == len(decisions), f"live_decisions gave {len(live)} flags for {len(decisions)}")
    codes = list(space.to_codes(samples(space, 1)[0]))
    _malformed("from_codes with a code too few", lambda: space.from_codes(codes[:-1]))
    _malformed("from_codes with a code too many", lambda: space.from_codes([*codes, 0]))
    _malformed("from_codes with code -1", lambda: space.from_codes([-1, *codes[1:]]))
    _malformed(
        "from_codes with a code past the options",
        lambda: space.from_codes([len(decisions[0].options), *codes[1:]]),
    )


def check_graph_view(space: SearchSpace) -> None:
    """``to_graph`` is a DAG: a square 0/1 upper-triangular adjacency, ``input`` first,
    ``output`` last, interior labels from ``graph_ops()``."""
    vocabulary = set(space.graph_ops())
    for arch in samples(space, 15, seed=5):
        graph = space.to_graph(arch)
        adjacency, ops = np.asarray(graph.adjacency), tuple(graph.ops)
        n = len(ops)
        expect(adjacency.shape == (n, n), f"adjacency of shape {adjacency.shape} for {n} node labels")
        expect(np.isin(adjacency, (0, 1)).all(), "adjacency holds values other than 0 and 1")
        expect(
            not np.tril(adjacency).any(), "adjacency is not strictly upper triangular (not a DAG in order)"
        )
        expect(
            n >= 2 and ops[0] == "input" and ops[-1] == "output", f"ops {ops} must run from input to output"
        )
        stray = set(ops[1:-1]) - vocabulary
        expect(not stray, f"node labels {sorted(stray)} are not in graph_ops()")


def check_enumeration(space: SearchSpace) -> None:
    """An enumerable space (``size`` up to :data:`ENUMERATE_LIMIT`) lists ``size`` distinct
    architectures in a fixed order; sampled ones are among them."""
    if space.size is None or space.size > ENUMERATE_LIMIT:
        return
    keys = [space.key(a) for a in space.enumerate()]
    expect(len(keys) == space.size, f"enumerate gave {len(keys)} architectures, size says {space.size}")
    expect(len(set(keys)) == len(keys), "enumerate repeats an architecture")
    expect(
        keys[:50] == [space.key(a) for _, a in zip(range(50), space.enumerate())], "enumeration order varies"
    )
    expect(set(map(space.key, samples(space))) <= set(keys), "a sampled architecture is not enumerated")


def check_no_global_random_state(space: SearchSpace) -> None:
    """Sampling and mutating draw only from the Generator they are given."""

    def run() -> None:
        rng = np.random.default_rng(7)
        for arch in samples(space, 20):
            space.mutate(arch, rng)

    run()  # unguarded first: what the space imports on first use may draw, and is not the space
    with global_random_untouched(f"space {space.name!r}"):
        run()


#: Every check, in the order they run.
CHECKS: tuple[Callable[[SearchSpace], None], ...] = (
    check_declares_name_size_and_config,
    check_text_round_trip,
    check_malformed_input_raises,
    check_canonical_key,
    check_sample_is_deterministic,
    check_mutate,
    check_neighbours,
    check_codes_round_trip,
    check_graph_view,
    check_enumeration,
    check_no_global_random_state,
)


def space_checks(space: SearchSpace, *, skip: Sequence[str] = ()) -> list[Check]:
    """The checks of ``space`` as ``(name, check)`` pairs; ``skip`` names checks to leave out."""
    return [(c.__name__, bind(c, space)) for c in CHECKS if c.__name__ not in skip]


def check_space(space: SearchSpace) -> list[str]:
    """Run every space check on ``space``.

    Returns:
        The names of the checks that did not apply (e.g. the fresh-interpreter check on a
        class defined in ``__main__``); every other check passed.

    Raises:
        AssertionError: listing every check that failed and why.
    """
    return _run_checks(space_checks(space))


def parametrize_space_checks(*spaces: SearchSpace, skip: Sequence[str] = ()) -> Any:
    """A ``pytest.mark.parametrize`` decorator giving a test one ``check`` per (space, check).

    Usage::

        @parametrize_space_checks(MySpace())
        def test_my_space(check):
            check()
    """
    return parametrize_checks([(f"{s.name}-{n}", c) for s in spaces for n, c in space_checks(s, skip=skip)])
