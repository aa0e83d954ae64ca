"""The NB101 network in torch (google-research/nasbench ``model_builder``, written anew).

A 3x3 conv-BN-ReLU stem (128 channels by default); three stacks of three
modules; 2x2 max pooling and doubled channels between stacks; global average
pooling and a linear classifier. A module is the cell's DAG: every interior
vertex gets a share of the module's output channels (``vertex_channels``), its
input is the sum of its predecessors (truncated to its channels) and, if the
module input feeds it, a 1x1 conv-BN-ReLU projection of that input; the output
concatenates the vertices that feed it, plus a projection of the module input
when input and output are joined directly.
"""

from __future__ import annotations

import torch
from torch import nn

from nasbench_suite.spaces.nb101 import CONV1X1, CONV3X3, MAXPOOL3X3, NB101Cell, prune
from nasbench_suite.train.errors import TrainConfigError
from nasbench_suite.train.nb101_config import NB101NetConfig
from nasbench_suite.train.specs import DatasetSpec


def vertex_channels(c_in: int, c_out: int, matrix: tuple[tuple[int, ...], ...]) -> list[int]:
    """Channels of every vertex of a module (the official rule).

    The output's channels are split evenly (remainder to the first vertices)
    among the vertices that feed the output; every other interior vertex takes
    the largest channel count among its successors, so that truncation, never
    padding, adapts a tensor to the vertex it feeds.
    """
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    in_degree_out = sum(matrix[v][n - 1] for v in range(1, n))
    share, extra = divmod(c_out, in_degree_out)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = share + (1 if extra > 0 else 0)
            extra -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v][dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


class ConvBNReLU(nn.Sequential):
    """Convolution without bias, batch norm, ReLU (NB101's op ordering)."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


def _vertex_op(op: str, c: int) -> nn.Module:
    if op == CONV3X3:
        return ConvBNReLU(c, c, 3)
    if op == CONV1X1:
        return ConvBNReLU(c, c, 1)
    if op == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise TrainConfigError(f"unknown NB101 op {op!r}")


class Module101(nn.Module):
    """One NB101 module (the pruned cell at given input and output channels)."""

    def __init__(self, cell: NB101Cell, c_in: int, c_out: int):
        super().__init__()
        self.matrix = cell.matrix
        n = len(cell.ops)
        self.channels = vertex_channels(c_in, c_out, cell.matrix)
        self.ops = nn.ModuleList(_vertex_op(cell.ops[v], self.channels[v]) for v in range(1, n - 1))
        self.projections = nn.ModuleDict(
            {str(v): ConvBNReLU(c_in, self.channels[v], 1) for v in range(1, n) if cell.matrix[0][v]}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.matrix)
        values = [x]
        concat: list[torch.Tensor] = []
        for v in range(1, n - 1):
            c = self.channels[v]
            terms = [values[src][:, :c] for src in range(1, v) if self.matrix[src][v]]
            if self.matrix[0][v]:
                terms.append(self.projections[str(v)](x))
            value = self.ops[v - 1](sum(terms[1:], terms[0]))
            values.append(value)
            if self.matrix[v][n - 1]:
                concat.append(value)
        if not concat:
            return self.projections[str(n - 1)](x)
        out = torch.cat(concat, dim=1) if len(concat) > 1 else concat[0]
        if self.matrix[0][n - 1]:
            out = out + self.projections[str(n - 1)](x)
        return out


class NB101Network(nn.Module):
    """The NB101 network of one cell; ``forward`` returns logits (B, classes)."""

    def __init__(self, cell: NB101Cell, dataset: DatasetSpec, config: NB101NetConfig | None = None):
        super().__init__()
        config = config or NB101NetConfig()
        config.check()
        cell = prune(cell)
        c = config.stem_channels
        layers: list[nn.Module] = [ConvBNReLU(dataset.channels, c, 3)]
        for stack in range(config.stacks):
            if stack:
                layers.append(nn.MaxPool2d(2, stride=2))
                c_out = 2 * c
            else:
                c_out = c
            for _ in range(config.modules_per_stack):
                layers.append(Module101(cell, c, c_out))
                c = c_out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, dataset.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(2, 3)))
