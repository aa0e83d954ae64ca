"""Random search: every proposal is an independent draw from the space.

The baseline every NAS comparison needs (Li & Talwalkar, "Random Search and
Reproducibility for Neural Architecture Search", UAI 2019). It has no settings.
Draws are with replacement, as in the published algorithm: an architecture may
be proposed twice.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasbench_suite.search.base import Strategy
from nasbench_suite.spaces.base import Arch


class RandomSearch(Strategy):
    """Uniform random search (``space.sample`` with the strategy's generator)."""

    name: ClassVar[str] = "random"
    defaults: ClassVar[dict[str, Any]] = {}

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        # RegularizedEvolution's warm-up draws exactly like this (one space.sample on
        # self.rng per proposal) so that REA with population = budget *is* random search.
        return self.space.sample(self.rng), None
