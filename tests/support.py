"""Shared test helpers: the location of the real data, a toy space, synthetic tables."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.errors import MalformedArchError
from nasbench_suite.spaces.base import Decision, SearchSpace
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def data_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/data/README.md)")
    return path


class ToyChainSpace(SearchSpace):
    """A chain of ``length`` layers with one of ``choices`` ops each; text form 'a-b-c'."""

    name = "test-chain"

    def __init__(self, length: int = 4, choices: int = 3):
        self.length, self.choices = length, choices
        self.size = choices**length

    def parse(self, text: str) -> tuple[int, ...]:
        parts = text.split("-")
        if len(parts) != self.length or not all(p.isdigit() and int(p) < self.choices for p in parts):
            raise MalformedArchError(self.name, text, f"expected {self.length} op ids < {self.choices}")
        return tuple(int(p) for p in parts)

    def format(self, arch: tuple[int, ...]) -> str:
        return "-".join(str(o) for o in arch)

    def _validate_value(self, arch: object) -> tuple[int, ...]:
        if not isinstance(arch, tuple) or len(arch) != self.length:
            raise MalformedArchError(self.name, arch, f"expected a tuple of {self.length} op ids")
        return arch

    def canonical_key(self, arch: object) -> str:
        return self.key(arch)

    def sample(self, rng: np.random.Generator) -> tuple[int, ...]:
        return tuple(int(x) for x in rng.integers(self.choices, size=self.length))

    def mutate(self, arch: object, rng: np.random.Generator) -> tuple[int, ...]:
        a = list(self.validate(arch))
        i = int(rng.integers(self.length))
        a[i] = (a[i] + 1 + int(rng.integers(self.choices - 1))) % self.choices
        return tuple(a)

    def decisions(self) -> tuple[Decision, ...]:
        return tuple(Decision(f"layer {i}", tuple(map(str, range(self.choices)))) for i in range(self.length))

    def to_codes(self, arch: object) -> tuple[int, ...]:
        return self.validate(arch)

    def from_codes(self, codes: object) -> tuple[int, ...]:
        return self.validate(tuple(int(c) for c in codes))  # type: ignore[attr-defined]

    def neighbours(self, arch: object) -> list[tuple[int, ...]]:
        a = self.validate(arch)
        return [
            a[:i] + (c,) + a[i + 1 :] for i in range(self.length) for c in range(self.choices) if c != a[i]
        ]

    def enumerate(self) -> Iterator[tuple[int, ...]]:
        return iter(itertools.product(range(self.choices), repeat=self.length))

    def config(self) -> dict:
        return {"length": self.length, "choices": self.choices}


spaces.register("test-chain", ToyChainSpace, replace=True)


def synthetic_table(
    n_archs: int = 20,
    seeds: tuple[int, ...] = (0, 1, 2),
    epochs: int = 0,
    seed: int = 0,
    offset: int = 0,
    missing_fraction: float = 0.2,
) -> TableData:
    """A random toy-chain table; archs ``offset .. offset + n_archs - 1`` of the enumeration."""
    space = ToyChainSpace()
    rng = np.random.default_rng(seed)
    keys = [space.format(a) for a in itertools.islice(space.enumerate(), offset, offset + n_archs)]
    s = len(seeds)
    present = rng.random((n_archs, s)) > missing_fraction
    present[:, 0] = True
    valid = np.where(present, rng.uniform(50, 95, (n_archs, s)), np.nan)
    time = np.where(present, rng.uniform(100, 1000, (n_archs, s)), np.nan)
    ds = DatasetData(
        seeds=np.array(seeds, dtype=np.int64),
        present=present,
        per_seed={"valid_acc": valid, "train_time_s": time},
        per_arch={"params_m": rng.uniform(0.1, 1.5, n_archs)},
        metrics={
            "valid_acc": MetricInfo("%", "validation accuracy"),
            "train_time_s": MetricInfo("s", "training time"),
            "params_m": MetricInfo("M", "parameters"),
        },
        protocol={"epochs": max(epochs, 10)},
        provenance={"source": "synthetic", "time_hardware": "none"},
    )
    if epochs:
        ds.epochs = np.arange(1, epochs + 1, dtype=np.int64)
        curve = np.sort(rng.uniform(10, 95, (n_archs, s, epochs)), axis=2)
        ds.curves["valid_acc"] = np.where(present[:, :, None], curve, np.nan)
        ds.curves["epoch_train_time_s"] = np.where(present[:, :, None], np.full(curve.shape, 10.0), np.nan)
        ds.metrics["epoch_train_time_s"] = MetricInfo("s", "time of one epoch")
    return TableData(
        space="test-chain",
        space_config=space.config(),
        keys=keys,
        datasets={"toy": ds},
        static={"latency_ms_cpu": rng.uniform(1, 5, n_archs)},
        static_metrics={"latency_ms_cpu": MetricInfo("ms", "latency")},
        static_provenance={"source": "synthetic"},
        description="synthetic test table",
    )
