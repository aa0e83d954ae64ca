"""Parameter and FLOP counts of the NB201 network in closed form (no torch), in the space.

The conventions are those of the benchmark authors' counter (``docs/trainer.md``):
parameters of every tensor, batch-norm affine weights included, also those of ops on
dead paths; FLOPs of convolutions ``k*k*Cin*Cout*Hout*Wout`` and the classifier
``in*out + out``, nothing else. The importer stores these counts as ``params_m`` /
``flops_m``; ``train.counting.nb201_stats`` is this function with the trainer's
dataset and size objects.
"""

from __future__ import annotations

from collections.abc import Sequence


def _edge_cost(op: str, c: int, hw: int) -> tuple[int, int]:
    if op == "nor_conv_3x3":
        return 9 * c * c + 2 * c, 9 * c * c * hw
    if op == "nor_conv_1x1":
        return c * c + 2 * c, c * c * hw
    return 0, 0  # avg_pool_3x3, none, skip_connect


def nb201_counts(
    ops: Sequence[str],
    num_classes: int,
    input_size: int,
    channels: int = 3,
    width: int = 16,
    cells_per_stage: int = 5,
) -> tuple[int, int]:
    """``(parameters, FLOPs per image)`` of the NB201 network whose cell has the six edge ``ops``.

    Args:
        ops: the six op names, in the space's edge order (already validated).
        num_classes: size of the classifier.
        input_size: input side in pixels (a multiple of 4).
        channels: input channels.
        width: channels of the first stage (C); stages have C, 2C, 4C.
        cells_per_stage: cells in each of the three stages (N).
    """
    c, hw = width, input_size * input_size
    params = channels * 9 * c + 2 * c
    flops = channels * 9 * c * hw
    cell = [_edge_cost(op, c, hw) for op in ops]
    for stage in range(3):
        if stage:
            c_in, c, hw = c, 2 * c, hw // 4
            # ReLU-conv3x3(stride 2)-BN, ReLU-conv3x3-BN, shortcut AvgPool2d(2) + conv1x1.
            params += 9 * c_in * c + 2 * c + 9 * c * c + 2 * c + c_in * c
            flops += (9 * c_in * c + 9 * c * c + c_in * c) * hw
            cell = [_edge_cost(op, c, hw) for op in ops]
        params += cells_per_stage * sum(p for p, _ in cell)
        flops += cells_per_stage * sum(f for _, f in cell)
    params += 2 * c + c * num_classes + num_classes
    flops += c * num_classes + num_classes
    return params, flops
