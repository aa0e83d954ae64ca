"""A view of a space restricted to a fixed pool of its architectures.

A sparse table (a few hundred trained architectures of NB201's 15,625) answers
only for the architectures it holds; searched over the whole space, almost every
proposal would be a failed evaluation. ``PoolSpace(base, keys)`` is the same
space seen through the pool: strategies keep their code unchanged and stay
inside it.

- ``sample`` draws uniformly from the pool.
- ``neighbours(a)`` are the pool members at the smallest non-zero Hamming
  distance from ``a`` in code space (``base.to_codes``), in pool order; ``mutate``
  draws one of them uniformly. On the full space those are the one-choice
  changes, so the view generalises the base's neighbourhood.
- ``decisions``, ``to_codes``, the text form, keys, the graph view and the live
  decisions are the base's, so encodings and code-space strategies (GA,
  REINFORCE, Optuna, BOHB) work as on the base.
- ``from_codes`` of codes that spell a pool member returns it; of any other codes
  the pool member nearest in Hamming distance (ties: the first in pool order, which
  is sorted by key), so a strategy that builds codes freely (crossover, a sampled
  distribution) always lands in the pool.
- ``validate`` accepts every architecture of the base (a pool member is one); the
  view changes what is proposed, not what is an architecture.

The view belongs to a run, not to a table: it is never stored, and ``config``
identifies the pool by its size and a digest of its keys rather than rebuilding it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nasbench_suite.errors import SpaceConfigError
from nasbench_suite.spaces.base import Arch, CellGraph, Decision, SearchSpace, checked_codes


class PoolSpace(SearchSpace):
    """``base`` restricted to the architectures ``keys`` (text forms or values, at least two).

    Raises:
        SpaceConfigError: fewer than two distinct architectures in the pool.
        MalformedArchError: a key that is not an architecture of ``base``.
    """

    def __init__(self, base: SearchSpace, keys: Sequence[Any]):
        archs = {base.key(k): base.validate(k) for k in keys}
        if len(archs) < 2:
            raise SpaceConfigError(base.name, {"pool": len(archs)}, "a pool needs at least two architectures")
        self.base = base
        self.name = base.name
        self.graph_view = base.graph_view
        # The graph bounds the encodings size their vectors by (path encodings: one column per
        # path up to the longest): a pool's graphs are its base's, so are the bounds. Without
        # them a pool of NB201 cells was sized as a generic chain (4,096 mostly empty columns).
        for bound in ("max_graph_nodes", "max_path_length"):
            if callable(getattr(base, bound, None)):
                setattr(self, bound, getattr(base, bound))
        self.keys = sorted(archs)
        self.archs = [archs[k] for k in self.keys]
        self.size = len(self.archs)
        self._index = {k: i for i, k in enumerate(self.keys)}
        self._codes = np.array([base.to_codes(a) for a in self.archs], dtype=np.int64)

    # --- delegated to the base ------------------------------------------------------

    def parse(self, text: str) -> Arch:
        return self.base.parse(text)

    def format(self, arch: Arch) -> str:
        return self.base.format(arch)

    def validate(self, arch: Arch | str) -> Arch:
        return self.base.validate(arch)

    def _validate_value(self, arch: Any) -> Arch:
        return self.base.validate(arch)

    def key(self, arch: Arch | str) -> str:
        return self.base.key(arch)

    def canonical_key(self, arch: Arch | str) -> str:
        return self.base.canonical_key(arch)

    def canonical(self, arch: Arch | str) -> Arch:
        return self.base.canonical(arch)

    def decisions(self) -> tuple[Decision, ...]:
        return self.base.decisions()

    def to_codes(self, arch: Arch | str) -> tuple[int, ...]:
        return self.base.to_codes(arch)

    def live_decisions(self, arch: Arch | str) -> tuple[bool, ...]:
        return self.base.live_decisions(arch)

    def graph_ops(self) -> tuple[str, ...]:
        return self.base.graph_ops()

    def to_graph(self, arch: Arch | str) -> CellGraph:
        return self.base.to_graph(arch)

    # --- the pool ---------------------------------------------------------------------

    def contains(self, arch: Arch | str) -> bool:
        """Whether ``arch`` is a pool member."""
        return self.base.key(arch) in self._index

    def sample(self, rng: np.random.Generator) -> Arch:
        """A pool member drawn uniformly."""
        return self.archs[int(rng.integers(self.size))]

    def neighbours(self, arch: Arch | str) -> list[Arch]:
        """The other pool members at the smallest Hamming distance from ``arch``, in pool order."""
        distance = self._distances(self.base.to_codes(arch))
        distance[distance == 0] = np.iinfo(np.int64).max  # never the architecture itself
        return [self.archs[i] for i in np.flatnonzero(distance == distance.min())]

    def mutate(self, arch: Arch | str, rng: np.random.Generator) -> Arch:
        """One of ``neighbours(arch)`` drawn uniformly (never ``arch`` itself)."""
        near = self.neighbours(arch)
        return near[int(rng.integers(len(near)))]

    def from_codes(self, codes: Sequence[int]) -> Arch:
        """The pool member spelt by ``codes``, else the nearest one (Hamming; ties: pool order).

        Raises:
            MalformedArchError: wrong length or a code out of range.
        """
        values = checked_codes(self.name, codes, self.decisions())
        return self.archs[int(np.argmin(self._distances(values)))]

    def enumerate(self) -> Iterator[Arch]:
        """The pool members, sorted by key."""
        return iter(list(self.archs))

    def config(self) -> dict[str, Any]:
        """The base's config, the pool's size and a digest of its keys (not enough to rebuild it)."""
        digest = hashlib.blake2b("\n".join(self.keys).encode(), digest_size=8).hexdigest()
        return {**self.base.config(), "pool_size": self.size, "pool_digest": digest}

    def _distances(self, codes: Sequence[int]) -> np.ndarray:
        return (self._codes != np.asarray(codes, dtype=np.int64)).sum(axis=1)

    def __repr__(self) -> str:
        return f"PoolSpace(base={self.base!r}, size={self.size})"
