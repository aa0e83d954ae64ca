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
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench_suite.errors import MalformedArchError

Arch = Hashable


@dataclass(frozen=True)
class Decision:
    """One categorical choice that, with the others, spells an architecture.

    Attributes:
        name: what is chosen, e.g. ``"edge 0->1"``.
        options: the names of the choices; a code is an index into it.
    """

    name: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class CellGraph:
    """An architecture as a DAG with labelled nodes (what graph encodings and GNNs read).

    Attributes:
        adjacency: ``(n, n)`` 0/1 array, upper triangular; node 0 is the input,
            node ``n - 1`` the output.
        ops: ``n`` node labels; ``"input"`` and ``"output"`` at the two ends, the
            others taken from :meth:`SearchSpace.graph_ops`.
    """

    adjacency: np.ndarray
    ops: tuple[str, ...]


def checked_codes(space: str, codes: Any, decisions: Sequence[Decision]) -> tuple[int, ...]:
    """``codes`` as ints, one per decision, each an index into its options.

    Raises:
        MalformedArchError: not integers, the wrong count, or a code out of range.
    """
    try:
        values = tuple(int(c) for c in codes)
    except (TypeError, ValueError):
        raise MalformedArchError(space, codes, "expected a sequence of integer codes") from None
    if len(values) != len(decisions):
        raise MalformedArchError(space, codes, f"expected {len(decisions)} codes, got {len(values)}")
    for i, (c, d) in enumerate(zip(values, decisions, strict=True)):
        if not 0 <= c < len(d.options):
            raise MalformedArchError(
                space, codes, f"code {c} of decision {d.name!r} (#{i}) is outside 0..{len(d.options) - 1}"
            )
    return values


class SearchSpace(ABC):
    """Abstract base of a search space.

    Subclasses set ``name`` and implement the abstract methods. ``size`` is the
    number of architectures (``None`` when not enumerable).
    """

    name: str = ""
    size: int | None = None
    #: Whether :meth:`to_graph` is a real cell graph (NB201, NB101) rather than the default
    #: chain of decisions. It picks the default encoding of predictors, surrogate fits and
    #: model-based strategies (``surrogates.encodings.default_encoding``): graph encodings
    #: (paths, structural features) for graph spaces, one-hot for chain and categorical
    #: ones, where the path encoding is thousands of mostly empty columns.
    graph_view: bool = False

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

    # --- decisions: the architecture as a vector of categorical codes ----------
    #
    # Strategies that learn a distribution over choices (REINFORCE, genetic
    # crossover, Optuna samplers) and the one-hot encoding work on this view.

    @abstractmethod
    def decisions(self) -> tuple[Decision, ...]:
        """The categorical choices that spell an architecture, in a fixed order."""

    @abstractmethod
    def to_codes(self, arch: Arch | str) -> tuple[int, ...]:
        """``arch`` as one option index per decision."""

    @abstractmethod
    def from_codes(self, codes: Sequence[int]) -> Arch:
        """The architecture spelt by ``codes`` (one option index per decision).

        Raises:
            MalformedArchError: wrong length or an index out of range.
            InvalidArchError: the codes spell no valid architecture (e.g. an NB101
                cell with no path or too many edges); strategies redraw then.
        """

    def live_decisions(self, arch: Arch | str) -> tuple[bool, ...]:
        """Per decision, whether it affects what ``arch`` computes (False for an op on a
        dead edge). Default: every decision is live."""
        return (True,) * len(self.decisions())

    # --- graph view ----------------------------------------------------------

    def graph_ops(self) -> tuple[str, ...]:
        """Vocabulary of interior node labels in :meth:`to_graph` (default: every option
        name of every decision, in first-seen order)."""
        return tuple(dict.fromkeys(opt for d in self.decisions() for opt in d.options))

    def to_graph(self, arch: Arch | str) -> CellGraph:
        """``arch`` as a labelled DAG. Default: a chain input -> one node per decision,
        labelled with its chosen option -> output. Cell spaces override it."""
        labels = [d.options[c] for d, c in zip(self.decisions(), self.to_codes(arch), strict=True)]
        n = len(labels) + 2
        adjacency = np.eye(n, k=1, dtype=np.uint8)
        return CellGraph(adjacency, ("input", *labels, "output"))

    def config(self) -> dict[str, Any]:
        """JSON-able settings that, with ``name``, rebuild this space (stored in tables)."""
        return {}

    def canonical(self, arch: Arch | str) -> Arch:
        """The representative of ``arch``'s equivalence class (:meth:`canonical_key`): one fixed
        member, the same for every member, so that a model fed representatives gives the same
        answer to every spelling of a class. Default: ``arch`` itself, which is right for spaces
        whose classes are single architectures (chains; ``canonical_key == key``)."""
        return self.validate(arch)

    # --- exports for external optimisers (spaces/export.py has the rules) --------

    def to_configspace(self, seed: int | None = None) -> Any:
        """This space as a ``ConfigSpace.ConfigurationSpace`` (needs the configspace extra)."""
        from nasbench_suite.spaces.export import to_configspace

        return to_configspace(self, seed)

    def to_optuna(self) -> dict[str, Any]:
        """This space as a dict parameter name -> Optuna ``CategoricalDistribution``."""
        from nasbench_suite.spaces.export import to_optuna

        return to_optuna(self)

    def to_syne_tune(self) -> dict[str, dict[str, Any]]:
        """This space in syne-tune's JSON config-space form (plain data)."""
        from nasbench_suite.spaces.export import to_syne_tune

        return to_syne_tune(self)

    def from_config(self, config: Any) -> Arch:
        """The architecture an exported configuration spells (parameter name -> option name)."""
        from nasbench_suite.spaces.export import from_config

        return from_config(self, config)

    def to_config(self, arch: Arch | str) -> dict[str, str]:
        """``arch`` as an exported configuration (parameter name -> option name)."""
        from nasbench_suite.spaces.export import to_config

        return to_config(self, arch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
