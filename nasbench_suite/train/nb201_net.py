"""The NB201 network in torch (the benchmark's TinyNetwork, written anew).

A 3x3 convolution stem (C channels) with batch norm; three stages of N cells at
C, 2C and 4C channels, joined by residual reduction blocks; batch norm, ReLU,
global average pooling and a linear classifier. Each cell applies the six edge
ops of the architecture (ReLU-conv-BN for the convolutions, 3x3 average pooling
without padded zeros in the average, identity, zero) and sums the edges into
each node. Width, depth and input side are parameters (:class:`NB201NetConfig`)
so that reduced proxies share the code of the published network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nasbench_suite.spaces.nb201 import EDGES, N_NODES, validate_ops
from nasbench_suite.train.counting import NB201NetConfig
from nasbench_suite.train.specs import DatasetSpec


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution without bias, batch norm (the ordering of the benchmark's ops)."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int = 1,
        affine: bool = True,
        track_running_stats: bool = True,
    ):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )


def edge_op(op: str, c: int, affine: bool = True, track_running_stats: bool = True) -> nn.Module | None:
    """The module of one edge op at ``c`` channels; None for ``none`` (the edge adds zero).

    The batch-norm settings exist for supernets (``nasbench_suite.oneshot``), whose published
    runs search with ``affine=False`` and no running statistics in the cells.
    """
    bn = {"affine": affine, "track_running_stats": track_running_stats}
    if op == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, **bn)
    if op == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, **bn)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if op == "skip_connect":
        return nn.Identity()
    return None  # none: the edge contributes zero, so it is left out of the sum


class Cell(nn.Module):
    """One NB201 cell: node j is the sum of op(i -> j)(node i) over its incoming edges."""

    def __init__(self, ops: Sequence[str], c: int):
        super().__init__()
        self.edges = nn.ModuleDict()
        self._incoming: list[list[tuple[int, str]]] = [[] for _ in range(N_NODES)]
        for (src, dst), op in zip(EDGES, ops):
            module = edge_op(op, c)
            if module is not None:
                name = f"{src}_{dst}"
                self.edges[name] = module
                self._incoming[dst].append((src, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for dst in range(1, N_NODES):
            terms = [self.edges[name](nodes[src]) for src, name in self._incoming[dst]]
            nodes.append(sum(terms[1:], terms[0]) if terms else torch.zeros_like(x))
        return nodes[-1]


class ResidualReduction(nn.Module):
    """Halves the side and doubles the channels: two ReLU-conv3x3-BN, shortcut avg-pool + conv1x1."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NB201 network of one architecture; ``forward`` returns logits (B, classes)."""

    def __init__(self, arch: Sequence[str], dataset: DatasetSpec, config: NB201NetConfig | None = None):
        super().__init__()
        ops = validate_ops(arch)
        config = config or NB201NetConfig()
        config.check()
        c = config.width
        self.stem = nn.Sequential(nn.Conv2d(dataset.channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage:
                layers.append(ResidualReduction(c, 2 * c))
                c *= 2
            layers.extend(Cell(ops, c) for _ in range(config.cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.classifier = nn.Linear(c, dataset.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.cells(self.stem(x))))
