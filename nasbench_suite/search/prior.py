"""Prior knowledge from a source dataset, handed to warm-started strategies by the runner.

A warm-started strategy (``rea-warm``, ``bananas-warm``, ``xgb-bo-warm``) starts from what
is known about the architectures on *another* dataset: their accuracy there, as a
published table gives it. The runner, which holds the benchmark, reads that knowledge and
passes it in :attr:`SearchContext.prior <nasbench_suite.search.base.SearchContext.prior>`,
as it lists the proxies or epochs a benchmark offers; the strategy never sees the table,
and the target dataset's results still come only from what it is told. The source is
prior knowledge: reading it costs nothing on the simulated clock (docs/protocol.md,
"Warm starts").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nasbench_suite.errors import NasbenchError


class PriorError(NasbenchError, ValueError):
    """A transfer prior that is not one: lengths differ, no architecture, a value not finite."""


@dataclass(frozen=True, eq=False)
class TransferPrior:
    """Architectures with their accuracy on a source dataset, best first.

    Attributes:
        source: the source dataset's name.
        keys: the architectures (``space.key`` of the space searched), sorted by decreasing
            source accuracy (ties by key text, so the order never depends on hashing).
        accuracy: their source accuracy (the seed mean of the observed metric, in %), same order.
        metric: the source metric the accuracies are of.

    Raises:
        PriorError: no architecture, lengths that differ, or a value that is not finite.
    """

    source: str
    keys: tuple[str, ...]
    accuracy: tuple[float, ...]
    metric: str = "valid_acc"

    def __post_init__(self) -> None:
        keys, accuracy = tuple(map(str, self.keys)), tuple(map(float, self.accuracy))
        if not keys or len(keys) != len(accuracy):
            raise PriorError(
                f"a transfer prior needs one accuracy per architecture and at least one: "
                f"{len(keys)} architectures, {len(accuracy)} accuracies"
            )
        if not all(math.isfinite(a) for a in accuracy):
            raise PriorError(f"transfer prior from {self.source!r}: accuracies must be finite")
        order = sorted(range(len(keys)), key=lambda i: (-accuracy[i], keys[i]))
        object.__setattr__(self, "keys", tuple(keys[i] for i in order))
        object.__setattr__(self, "accuracy", tuple(accuracy[i] for i in order))

    def __len__(self) -> int:
        return len(self.keys)

    @cached_property
    def _lookup(self) -> dict[str, float]:
        return dict(zip(self.keys, self.accuracy, strict=True))

    @cached_property
    def median(self) -> float:
        """The median source accuracy: what an architecture the prior lacks is taken to have."""
        return float(np.median(self.accuracy))

    def source_of(self, keys: Sequence[str]) -> np.ndarray:
        """``(len(keys),)`` source accuracies of ``keys``; :attr:`median` where the prior lacks one."""
        lookup, fill = self._lookup, self.median
        return np.array([lookup.get(k, fill) for k in keys], dtype=np.float64)

    def __repr__(self) -> str:
        return f"TransferPrior(source={self.source!r}, metric={self.metric!r}, {len(self):,} architectures)"
