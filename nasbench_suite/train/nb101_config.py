"""Size of an NB101 network (torch-free, so that protocols can be checked without torch)."""

from __future__ import annotations

from dataclasses import dataclass

from nasbench_suite.train.errors import TrainConfigError


@dataclass(frozen=True)
class NB101NetConfig:
    """Size of an NB101 network; the defaults are the published ones."""

    stem_channels: int = 128
    stacks: int = 3
    modules_per_stack: int = 3
    input_size: int | None = None

    def check(self) -> None:
        """Raises TrainConfigError for a size that cannot be built."""
        if self.stem_channels < 1 or self.stacks < 1 or self.modules_per_stack < 0:
            raise TrainConfigError(f"invalid NB101 network size {self}")
