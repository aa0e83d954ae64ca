"""Parameter and FLOP counts of the NB201 network in closed form (no torch).

The conventions are those of the benchmark authors' counter, which produced the
published ``params`` and ``flop`` values (checked against all 15,625 x 3
published parameter counts and the official NATS-Bench files in
``tests/test_train_counting.py``):

- parameters: every parameter tensor of the network, batch-norm affine weights
  included, also those of ops on dead paths; ``none`` and ``skip_connect`` have none;
- FLOPs: convolutions ``k*k*Cin/groups*Cout*Hout*Wout`` (no bias here) and the
  linear classifier ``in*out + out``; nothing else counts: batch norm, ReLU,
  additions and every pooling (the 3x3 ``avg_pool_3x3`` op, the 2x2 shortcut
  pooling, the global pooling) are zero in the published values, which the
  official files confirm (an ``avg_pool_3x3`` edge adds no FLOPs there).

The closed form itself lives in the space (``spaces/nb201_counts.py``), so that the
importer can store the counts without the trainer. The same numbers come from the
torch model (``nb201_net.py``): the tests compare both on a sample of architectures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nasbench_suite.spaces.nb201 import validate_ops
from nasbench_suite.spaces.nb201_counts import nb201_counts
from nasbench_suite.train.errors import TrainConfigError
from nasbench_suite.train.specs import DatasetSpec


@dataclass(frozen=True)
class NB201NetConfig:
    """Size of an NB201 network; the defaults are the published ones.

    Attributes:
        width: channels of the first stage (C); stages have C, 2C, 4C.
        cells_per_stage: cells in each of the three stages (N).
        input_size: input side in pixels; None uses the dataset's.
    """

    width: int = 16
    cells_per_stage: int = 5
    input_size: int | None = None

    def check(self) -> None:
        """Raises TrainConfigError for a size that cannot be built."""
        if self.width < 1 or self.cells_per_stage < 0:
            raise TrainConfigError(
                f"network width {self.width} and cells per stage {self.cells_per_stage} must be >= 1 and >= 0"
            )
        if self.input_size is not None and (self.input_size < 4 or self.input_size % 4):
            # Two stride-2 reductions must halve the side exactly, or the shortcut and
            # the convolution path of a reduction block disagree in shape.
            raise TrainConfigError(f"input size {self.input_size} must be a multiple of 4")


@dataclass(frozen=True)
class NetStats:
    """Size and cost of one network: parameters and FLOPs, raw counts."""

    params: int
    flops: int

    @property
    def params_m(self) -> float:
        return self.params / 1e6

    @property
    def flops_m(self) -> float:
        return self.flops / 1e6


def nb201_stats(arch: Sequence[str], dataset: DatasetSpec, config: NB201NetConfig | None = None) -> NetStats:
    """Parameters and FLOPs (one image) of the NB201 network of ``arch``.

    Args:
        arch: six op names (or anything ``validate_ops`` accepts).
        dataset: gives the class count and, unless ``config.input_size`` is set, the input side.
        config: network size (default: the published C=16, N=5).

    Raises:
        MalformedArchError: for a bad architecture.
        TrainConfigError: for a size that cannot be built.
    """
    ops = validate_ops(arch)
    config = config or NB201NetConfig()
    config.check()
    side = config.input_size or dataset.input_size
    if side % 4:
        raise TrainConfigError(f"input size {side} must be a multiple of 4")
    params, flops = nb201_counts(
        ops, dataset.num_classes, side, dataset.channels, config.width, config.cells_per_stage
    )
    return NetStats(params=params, flops=flops)
