"""The weight-sharing supernet of a cell space, on the trainer's operations (torch).

The network is the trainer's NB201 network (stem, three stages of cells joined by
residual reductions, head) with every cell replaced by a search cell whose edges
hold every candidate op of the space, ``none`` included. All cells share one
matrix of architecture parameters ``alphas`` (edges x ops), kept apart from the
weights (:meth:`Supernet.weights`) so that each has its own optimiser.

One forward, four ways of choosing ops (the methods' modes):

- ``weights`` only: every op runs and the edge outputs ``sum_k w_k op_k(x)`` (DARTS);
- ``weights`` and ``index``: only op ``index[e]`` runs on edge ``e``; the others add
  their weight, which is zero in value but carries the gradient to the architecture
  parameters (GDAS's straight-through Gumbel sample, as its reference code does);
- ``index`` only: one op per edge, no architecture parameters (RSPS, ENAS).

The search cells' batch norm follows the published runs: ``affine=False`` and no
running statistics (so evaluation also normalises with the batch's statistics);
the stem, reductions and head keep the trainer's batch norm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasbench_suite.oneshot.settings import OneShotConfigError, supernet_spaces
from nasbench_suite.spaces import nb201
from nasbench_suite.train.counting import NB201NetConfig
from nasbench_suite.train.nb201_net import ResidualReduction, edge_op
from nasbench_suite.train.specs import DatasetSpec


@dataclass(frozen=True)
class CellLayout:
    """The graph view a supernet is built from: nodes, edges ``(src, dst)`` in the
    architecture's order, and the candidate ops of every edge (in the space's op order)."""

    space: str
    n_nodes: int
    edges: tuple[tuple[int, int], ...]
    ops: tuple[str, ...]

    def arch(self, indices: Sequence[int]) -> tuple[str, ...]:
        """The space's architecture (one op name per edge) of op indices."""
        return tuple(self.ops[int(i)] for i in indices)


def cell_layout(space: str) -> CellLayout:
    """The cell layout of ``space``.

    Raises:
        OneShotConfigError: the space has no supernet (a space that is not a single cell DAG
            with one op per edge, such as NB101's, needs its own).
    """
    if space == "nb201":
        return CellLayout("nb201", nb201.N_NODES, nb201.EDGES, nb201.OPS)
    raise OneShotConfigError(
        f"space {space!r} has no supernet; one-shot methods run on: {', '.join(supernet_spaces())}"
    )


class Zero(nn.Module):
    """The ``none`` op: zeros shaped like the input (so the weighted sum keeps its gradient path)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class MixedEdge(nn.Module):
    """Every candidate op of one edge, in the layout's op order."""

    def __init__(self, ops: Sequence[str], c: int, affine: bool, track_running_stats: bool):
        super().__init__()
        modules = [edge_op(op, c, affine, track_running_stats) for op in ops]
        self.ops = nn.ModuleList(Zero() if m is None else m for m in modules)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None, index: int | None) -> torch.Tensor:
        if weights is None:
            return self.ops[index](x)
        if index is None:
            return sum(w * op(x) for w, op in zip(weights, self.ops))
        # GDAS: the unchosen ops are not run; their (zero-valued) weights still enter the sum.
        return sum(w * op(x) if k == index else w for k, (w, op) in enumerate(zip(weights, self.ops)))


class SearchCell(nn.Module):
    """A cell whose edges are :class:`MixedEdge` s; node j sums its incoming edges."""

    def __init__(self, layout: CellLayout, c: int, affine: bool, track_running_stats: bool):
        super().__init__()
        self.edges = nn.ModuleDict()
        self._incoming: list[list[tuple[int, int, str]]] = [[] for _ in range(layout.n_nodes)]
        for e, (src, dst) in enumerate(layout.edges):
            name = f"{src}_{dst}"
            self.edges[name] = MixedEdge(layout.ops, c, affine, track_running_stats)
            self._incoming[dst].append((e, src, name))

    def forward(
        self, x: torch.Tensor, weights: torch.Tensor | None, index: Sequence[int] | None
    ) -> torch.Tensor:
        nodes = [x]
        for incoming in self._incoming[1:]:
            terms = [
                self.edges[name](
                    nodes[src], None if weights is None else weights[e], None if index is None else index[e]
                )
                for e, src, name in incoming
            ]
            nodes.append(sum(terms[1:], terms[0]))
        return nodes[-1]


class Supernet(nn.Module):
    """The supernet of ``space`` at the size ``network`` gives (the trainer's NB201NetConfig fields)."""

    def __init__(
        self,
        space: str,
        dataset: DatasetSpec,
        network: dict[str, Any] | None = None,
        bn_affine: bool = False,
        bn_track_running_stats: bool = False,
    ):
        super().__init__()
        self.layout = cell_layout(space)
        config = NB201NetConfig(**(network or {}))
        config.check()
        c = config.width
        self.stem = nn.Sequential(nn.Conv2d(dataset.channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage:
                layers.append(ResidualReduction(c, 2 * c))
                c *= 2
            layers.extend(
                SearchCell(self.layout, c, bn_affine, bn_track_running_stats)
                for _ in range(config.cells_per_stage)
            )
        self.cells = nn.ModuleList(layers)
        self.head = nn.Sequential(
            nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.classifier = nn.Linear(c, dataset.num_classes)
        # Small random logits as in the reference code (1e-3 * N(0, 1)): ties broken at random.
        self.alphas = nn.Parameter(1e-3 * torch.randn(len(self.layout.edges), len(self.layout.ops)))

    def weights(self) -> list[nn.Parameter]:
        """Every parameter except the architecture parameters."""
        return [p for name, p in self.named_parameters() if name != "alphas"]

    def forward(
        self, x: torch.Tensor, weights: torch.Tensor | None = None, index: Sequence[int] | None = None
    ) -> torch.Tensor:
        """Logits (B, classes); ``weights`` (edges, ops), ``index`` (an op per edge): see the module doc."""
        if weights is None and index is None:
            raise ValueError("a supernet forward needs op weights, an op index per edge, or both")
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x, weights, index) if isinstance(cell, SearchCell) else cell(x)
        return self.classifier(self.head(x))

    def argmax_arch(self) -> tuple[str, ...]:
        """The architecture of the largest parameter on every edge, ``none`` included (as published)."""
        return self.layout.arch(self.alphas.detach().argmax(dim=1).tolist())
