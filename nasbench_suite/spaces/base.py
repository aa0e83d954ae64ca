"""The search-space interface every space implements.

A space owns everything about what an architecture *is*: parsing and formatting
its text form, validation, the stored identity (``key``), the isomorphism class
(``canonical_key``), sampling, mutation, neighbours and enumeration. Nobody else
parses architecture strings.

Architectures are immutable, hashable Python values chosen by the space (a
tuple of op names for NB201, a small frozen dataclass for NB101). Every public
method that takes an architecture also accepts its text form.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator
from typing import Any

import numpy as np

Arch = Hashable


class SearchSpace(ABC):
    """Abstract base of a search space.

    Subclasses set ``name`` and implement the abstract methods. ``size`` is the
    number of architectures (``None`` when not enumerable).
    """

    name: str = ""
    size: int | None = None

    # --- text form ----------------------------------------------------------

    @abstractmethod
    def parse(self, text: str) -> Arch:
        """Parse the text form into an architecture.

        Raises:
            MalformedArchError: naming the bad token or the broken constraint.
        """

    @abstractmethod
    def format(self, arch: Arch) -> str:
        """The text form of ``arch`` (``parse(format(a)) == a``)."""

    def validate(self, arch: Arch | str) -> Arch:
        """Return ``arch`` as the space's architecture value; parse text forms.

        Raises:
            MalformedArchError: if ``arch`` is not an architecture of this space.
        """
        if isinstance(arch, str):
            return self.parse(arch)
        return self._validate_value(arch)

    @abstractmethod
    def _validate_value(self, arch: Any) -> Arch:
        """Check a non-text architecture value, returning it normalised."""

    # --- identity -----------------------------------------------------------

    def key(self, arch: Arch | str) -> str:
        """The identity under which a table stores ``arch`` (default: its text form)."""
        return self.format(self.validate(arch))

    @abstractmethod
    def canonical_key(self, arch: Arch | str) -> str:
        """A string equal for exactly the architectures that compute the same function
        up to isomorphism, by the rule the space documents."""

    # --- sampling and neighbourhoods ---------------------------------------

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Arch:
        """One architecture drawn uniformly (or by the space's documented law)."""

    @abstractmethod
    def mutate(self, arch: Arch | str, rng: np.random.Generator) -> Arch:
        """A random neighbour of ``arch`` (differs in one choice; never ``arch`` itself)."""

    @abstractmethod
    def neighbours(self, arch: Arch | str) -> list[Arch]:
        """All architectures one mutation away from ``arch``, in a fixed order."""

    def enumerate(self) -> Iterator[Arch]:
        """Every architecture of the space in a fixed order.

        Raises:
            NotImplementedError: for spaces too large to enumerate.
        """
        raise NotImplementedError(f"space {self.name!r} cannot be enumerated")

    def config(self) -> dict[str, Any]:
        """JSON-able settings that, with ``name``, rebuild this space (stored in tables)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
