"""Shared test helpers: the location of the real data, the toy space registered, synthetic tables."""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData
from nasbench_suite.testing.toy import ToyChainSpace

# Re-exported for the tests that read TOML (pyproject.toml, the docs' entry points).
if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser from PyPI (the test extra installs it there)
    import tomli as tomllib  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def data_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/data/README.md)")
    return path


def code_blocks(doc: str, language: str = "python") -> list[str]:
    """The fenced ``language`` code blocks of ``docs/<doc>``, in order."""
    return re.findall(rf"```{language}\n(.*?)```", (REPO / "docs" / doc).read_text(), flags=re.S)


#: The first line of the docs/extending.md blocks that make up its plugin module.
PLUGIN_MODULE = "# my_plugin.py\n"


def plugin_module_source() -> str:
    """docs/extending.md's ``my_plugin.py``: its module blocks, in order."""
    return "\n".join(b for b in code_blocks("extending.md") if b.startswith(PLUGIN_MODULE))


# The toy space lives in the public conformance suite (its predictor checks fit on it). It is
# registered here, once, when the test helpers are imported (at collection, and in the
# subprocesses that import them) because the synthetic tables store its name: it is part
# of the session's baseline, not something a test leaves behind.
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


def toy_table_file(tmp_path_factory: Any, folder: str) -> str:
    """The 81-architecture toy-chain table the leaderboard tests run on, written once per module."""
    from nasbench_suite.tabular import write_table

    path = tmp_path_factory.mktemp(folder) / "toy.h5"
    write_table(path, synthetic_table(n_archs=81, seed=11))
    return str(path)


def nb201_curve_table(
    n_archs: int = 120,
    epochs: int = 8,
    n_second_seed: int = 40,
    seed: int = 0,
    dataset: str = "toy@nb201-cpu",
    eval_every: int = 1,
) -> TableData:
    """A small NB201 table with per-epoch curves, like the project's trained tables.

    Two seeds (777 for every architecture, 888 for the first ``n_second_seed``). The curves
    depend on the architecture: the level from its convolutions and dead edges, the speed
    of rise from its 3x3 convolutions; each run adds noise that persists across epochs
    (an AR(1) process), shared in part by the valid and test accuracy. The epoch time grows
    with the convolutions (a FLOP proxy) and the first epoch is slower. With ``eval_every`` > 1
    the accuracies are measured every that many epochs and at the last (NaN elsewhere), as the
    trainer's ``eval_every`` leaves them; the epoch times are there for every epoch.
    """
    space = spaces.get("nb201")
    rng = np.random.default_rng(seed)
    keys: list[str] = []
    seen: set[str] = set()
    while len(keys) < n_archs:
        key = space.key(space.sample(rng))
        if space.canonical_key(key) not in seen:
            seen.add(space.canonical_key(key))
            keys.append(key)
    conv3 = np.array([k.count("nor_conv_3x3") for k in keys], dtype=float)
    conv1 = np.array([k.count("nor_conv_1x1") for k in keys], dtype=float)
    dead = np.array([k.count("none") for k in keys], dtype=float)
    level = 30 + 55 / (1 + np.exp(-(0.9 * conv3 + 0.5 * conv1 - 0.8 * dead - 1.5)))
    speed = 0.25 + 0.12 * conv3
    e = np.arange(1, epochs + 1, dtype=float)
    mean_curve = 10 + (level[:, None] - 10) * (1 - np.exp(-speed[:, None] * e[None, :]))
    seeds = (777, 888)
    present = np.zeros((n_archs, 2), dtype=bool)
    present[:, 0] = True
    present[:n_second_seed, 1] = True

    def ar1(shape: tuple[int, ...]) -> np.ndarray:
        w = rng.standard_normal(shape)
        for k in range(1, shape[-1]):
            w[..., k] = 0.7 * w[..., k - 1] + np.sqrt(1 - 0.49) * w[..., k]
        return w

    shared = ar1((n_archs, 2, epochs))
    valid = mean_curve[:, None, :] + 1.5 * shared
    test = mean_curve[:, None, :] - 0.5 + 1.5 * (0.8 * shared + 0.6 * ar1((n_archs, 2, epochs)))
    per_epoch = (2.0 + 0.6 * conv3 + 0.2 * conv1)[:, None, None] * np.where(e == 1, 1.3, 1.0)[None, None, :]
    per_epoch = per_epoch * rng.uniform(0.97, 1.03, (n_archs, 2, epochs))

    def masked(values: np.ndarray) -> np.ndarray:
        return np.where(present[:, :, None] if values.ndim == 3 else present, values, np.nan)

    valid, test, per_epoch = (np.clip(masked(v), 0, 100) for v in (valid, test, per_epoch))
    unmeasured = (e % eval_every != 0) & (e != epochs)
    valid[:, :, unmeasured] = test[:, :, unmeasured] = np.nan
    ds = DatasetData(
        seeds=np.array(seeds, dtype=np.int64),
        present=present,
        per_seed={
            "valid_acc": valid[:, :, -1],
            "test_acc": test[:, :, -1],
            "train_time_s": per_epoch.sum(axis=2),
        },
        curves={"valid_acc": valid, "test_acc": test, "epoch_train_time_s": per_epoch},
        epochs=np.arange(1, epochs + 1, dtype=np.int64),
        metrics={
            "valid_acc": MetricInfo("%", "validation accuracy"),
            "test_acc": MetricInfo("%", "test accuracy"),
            "train_time_s": MetricInfo("s", "training time"),
            "epoch_train_time_s": MetricInfo("s", "time of one epoch"),
        },
        protocol={"epochs": epochs},
        provenance={"source": "synthetic", "time_hardware": "none"},
    )
    return TableData(
        space="nb201",
        space_config=space.config(),
        keys=keys,
        datasets={dataset: ds},
        description="synthetic NB201 table with learning curves",
    )


#: The toy-chain space of the sparse curves tables: 5 ** 6 = 15,625 architectures, as NB201.
SPARSE_SPACE = {"length": 6, "choices": 5}


def sparse_curves_table(
    n_archs: int = 250,
    epochs: int = 12,
    seeds: tuple[int, ...] = (777, 888),
    second_seed_share: float = 0.2,
    seed: int = 0,
    dataset: str = "toy-curves",
) -> TableData:
    """A sparse toy-chain table with per-epoch curves, shaped like a small table of one's own runs.

    ``n_archs`` of the 15,625 architectures of ``ToyChainSpace(6, 5)``, every one trained with
    the first seed and a ``second_seed_share`` of them with the second too. An architecture's
    final accuracy is a score of its choices (so models have something to learn) plus an
    architecture effect; its curve rises towards it as ``1 - exp(-epoch / tau)`` with one
    ``tau`` for all and small per-epoch noise, so early epochs rank architectures much as
    the last one does. Each epoch costs 8-12 s (per architecture). ``test_acc`` is the final
    accuracy plus independent noise (the report metric).
    """
    space = ToyChainSpace(**SPARSE_SPACE)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(space.size, size=n_archs, replace=False))
    everything = list(itertools.islice(space.enumerate(), space.size))
    archs = [everything[i] for i in rows]
    keys = [space.format(a) for a in archs]
    choice_score = np.random.default_rng(99).uniform(0, 1, (space.length, space.choices))
    codes = np.array(archs)
    score = choice_score[np.arange(space.length), codes].mean(axis=1)
    final = 70.0 + 40.0 * (score - 0.3) + rng.normal(0, 1.0, n_archs)
    s = len(seeds)
    present = np.zeros((n_archs, s), dtype=bool)
    present[:, 0] = True
    if s > 1:
        present[:, 1:] = rng.random((n_archs, s - 1)) < second_seed_share
    final_seed = final[:, None] + rng.normal(0, 0.3, (n_archs, s))
    e = np.arange(1, epochs + 1, dtype=float)
    curve = final_seed[:, :, None] - (final_seed[:, :, None] - 10.0) * np.exp(-e / 3.0)
    curve = curve + rng.normal(0, 0.3, curve.shape)
    curve[:, :, -1] = final_seed
    epoch_time = np.repeat(rng.uniform(8.0, 12.0, (n_archs, 1, 1)), s, axis=1) * np.ones(epochs)
    mask3 = present[:, :, None]
    ds = DatasetData(
        seeds=np.array(seeds, dtype=np.int64),
        present=present,
        per_seed={
            "valid_acc": np.where(present, final_seed, np.nan),
            "test_acc": np.where(present, final_seed + rng.normal(0, 0.3, (n_archs, s)), np.nan),
            "train_time_s": np.where(present, epoch_time.sum(axis=2), np.nan),
        },
        metrics={
            "valid_acc": MetricInfo("%", "validation accuracy"),
            "test_acc": MetricInfo("%", "test accuracy"),
            "train_time_s": MetricInfo("s", "training time"),
            "epoch_train_time_s": MetricInfo("s", "time of one epoch"),
        },
        protocol={"epochs": epochs},
        provenance={"source": "synthetic", "time_hardware": "none"},
        epochs=np.arange(1, epochs + 1, dtype=np.int64),
        curves={
            "valid_acc": np.where(mask3, curve, np.nan),
            "epoch_train_time_s": np.where(mask3, epoch_time, np.nan),
        },
    )
    return TableData(
        space="test-chain",
        space_config=dict(SPARSE_SPACE),
        keys=keys,
        datasets={dataset: ds},
        description="synthetic sparse table with learning curves",
    )
