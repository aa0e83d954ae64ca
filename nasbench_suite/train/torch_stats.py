"""Parameter and FLOP counts of a torch model, measured by forward hooks.

Used to cross-check the closed-form counters and to count networks that have
none (NB101). FLOPs follow the NB201 authors' conventions (see ``counting.py``):
convolutions and linear layers only, per image.
"""

from __future__ import annotations

import torch
from torch import nn

from nasbench_suite.train.counting import NetStats


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters (trainable tensors; buffers such as BN statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


def measure_stats(model: nn.Module, input_shape: tuple[int, int, int]) -> NetStats:
    """Parameters and per-image FLOPs of ``model`` on one input of ``input_shape`` (C, H, W)."""
    flops = 0

    def conv_hook(module: nn.Conv2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal flops
        kh, kw = module.kernel_size
        positions = output.shape[0] * output.shape[2] * output.shape[3]
        flops += kh * kw * module.in_channels * module.out_channels // module.groups * positions
        if module.bias is not None:
            flops += module.out_channels * positions

    def linear_hook(module: nn.Linear, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal flops
        batch = output.shape[0]
        flops += batch * module.in_features * module.out_features
        if module.bias is not None:
            flops += batch * module.out_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return NetStats(params=count_parameters(model), flops=flops)
