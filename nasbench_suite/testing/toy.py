"""A toy search space small enough to enumerate, for conformance checks and tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nasbench_suite.errors import MalformedArchError, SpaceConfigError
from nasbench_suite.spaces.base import Decision, SearchSpace, checked_codes


class ToyChainSpace(SearchSpace):
    """A chain of ``length`` layers with one of ``choices`` ops each; text form ``'a-b-c'``.

    An architecture is a tuple of op ids (ints). The space is not registered anywhere:
    whoever needs it by name (a table that stores it) registers it.
    """

    name = "test-chain"

    def __init__(self, length: int = 4, choices: int = 3):
        for what, value, most in (("length", length, 64), ("choices", choices, 1_000)):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
                raise SpaceConfigError(self.name, {"length": length, "choices": choices},
                                       f"{what} must be an integer in [1, {most}]")  # fmt: skip
        self.length, self.choices = length, choices
        self.size = choices**length

    def parse(self, text: str) -> tuple[int, ...]:
        """``'0-2-1-0'`` -> ``(0, 2, 1, 0)``.

        Raises:
            MalformedArchError: wrong count or an op id that is not a digit below ``choices``.
        """
        if not isinstance(text, str):
            raise MalformedArchError(self.name, text, "expected a string")
        parts = text.split("-")
        if len(parts) != self.length or not all(p.isdigit() and int(p) < self.choices for p in parts):
            raise MalformedArchError(self.name, text, f"expected {self.length} op ids < {self.choices}")
        return tuple(int(p) for p in parts)

    def format(self, arch: tuple[int, ...]) -> str:
        """The text form, op ids joined by ``-``."""
        return "-".join(str(o) for o in arch)

    def _validate_value(self, arch: Any) -> tuple[int, ...]:
        if not isinstance(arch, tuple) or len(arch) != self.length:
            raise MalformedArchError(self.name, arch, f"expected a tuple of {self.length} op ids")
        if not all(isinstance(o, (int, np.integer)) and 0 <= o < self.choices for o in arch):
            raise MalformedArchError(self.name, arch, f"op ids must be integers in 0..{self.choices - 1}")
        return tuple(int(o) for o in arch)

    def canonical_key(self, arch: Any) -> str:
        """The text form: every chain computes a different function."""
        return self.key(arch)

    def sample(self, rng: np.random.Generator) -> tuple[int, ...]:
        """Each layer's op drawn uniformly."""
        return tuple(int(x) for x in rng.integers(self.choices, size=self.length))

    def mutate(self, arch: Any, rng: np.random.Generator) -> tuple[int, ...]:
        """One layer changed to another op, both drawn uniformly."""
        a = list(self.validate(arch))
        i = int(rng.integers(self.length))
        a[i] = (a[i] + 1 + int(rng.integers(self.choices - 1))) % self.choices
        return tuple(a)

    def decisions(self) -> tuple[Decision, ...]:
        """One decision per layer, options ``'0'`` .. ``str(choices - 1)``."""
        return tuple(Decision(f"layer {i}", tuple(map(str, range(self.choices)))) for i in range(self.length))

    def to_codes(self, arch: Any) -> tuple[int, ...]:
        """The op ids themselves."""
        return self.validate(arch)

    def from_codes(self, codes: Sequence[int]) -> tuple[int, ...]:
        """The chain of op ids ``codes``.

        Raises:
            MalformedArchError: wrong count or a code out of range.
        """
        return checked_codes(self.name, codes, self.decisions())

    def neighbours(self, arch: Any) -> list[tuple[int, ...]]:
        """Every chain that differs in one layer, layer by layer, ops in order."""
        a = self.validate(arch)
        return [
            a[:i] + (c,) + a[i + 1 :] for i in range(self.length) for c in range(self.choices) if c != a[i]
        ]

    def enumerate(self) -> Iterator[tuple[int, ...]]:
        """Every chain, in lexicographic order of op ids."""
        return iter(itertools.product(range(self.choices), repeat=self.length))

    def config(self) -> dict[str, int]:
        """``length`` and ``choices``."""
        return {"length": self.length, "choices": self.choices}
