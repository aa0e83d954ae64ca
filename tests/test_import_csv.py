"""The long-format csv/parquet importer with a user-defined space registered here."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from nasbench_suite import importers, spaces
from nasbench_suite.errors import ImportSourceError, MalformedArchError
from nasbench_suite.spaces.base import Decision, SearchSpace
from tests.importer_support import assert_same_table, round_trip

OPS = ("conv", "pool", "skip")


class LayerChain(SearchSpace):
    """``length`` layers, each one of OPS; text 'conv-pool-skip-conv', any letter case."""

    name = "csv-test-layers"

    def __init__(self, length: int = 4):
        self.length = length
        self.size = len(OPS) ** length

    def parse(self, text: str) -> tuple[str, ...]:
        parts = tuple(text.strip().lower().split("-"))
        if len(parts) != self.length or any(p not in OPS for p in parts):
            raise MalformedArchError(self.name, text, f"expected {self.length} of {OPS} joined by '-'")
        return parts

    def format(self, arch) -> str:
        return "-".join(self.validate(arch))

    def _validate_value(self, arch):
        if not (isinstance(arch, tuple) and len(arch) == self.length and set(arch) <= set(OPS)):
            raise MalformedArchError(self.name, arch, "not a tuple of layer ops")
        return arch

    def canonical_key(self, arch) -> str:
        return self.key(arch)

    def sample(self, rng: np.random.Generator):
        return tuple(OPS[i] for i in rng.integers(0, len(OPS), self.length))

    def mutate(self, arch, rng: np.random.Generator):
        a = list(self.validate(arch))
        i = int(rng.integers(self.length))
        a[i] = OPS[(OPS.index(a[i]) + 1 + int(rng.integers(2))) % len(OPS)]
        return tuple(a)

    def neighbours(self, arch):
        a = self.validate(arch)
        return [a[:i] + (op,) + a[i + 1 :] for i in range(self.length) for op in OPS if op != a[i]]

    def enumerate(self) -> Iterator[tuple[str, ...]]:
        return itertools.product(OPS, repeat=self.length)

    def decisions(self) -> tuple[Decision, ...]:
        return tuple(Decision(f"layer {i}", OPS) for i in range(self.length))

    def to_codes(self, arch) -> tuple[int, ...]:
        return tuple(OPS.index(op) for op in self.validate(arch))

    def from_codes(self, codes) -> tuple[str, ...]:
        return tuple(OPS[int(c)] for c in codes)

    def config(self) -> dict:
        return {"length": self.length}


@pytest.fixture(scope="module", autouse=True)
def _layer_chain_registered():
    """The space is registered for this module's tests only, so that no other test sees it."""
    with spaces.registered(LayerChain.name, LayerChain):
        yield


def long_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    archs = ["-".join(a) for a in itertools.islice(itertools.product(OPS, repeat=4), 0, 81, 9)]
    rows = []
    for dataset, seeds in (("toy-a", (1, 2)), ("toy-b", (5,))):
        for arch, s in itertools.product(archs, seeds):
            if rng.random() < 0.2:
                continue  # a run that does not exist
            for epoch in (1, 2, 4):
                rows.append({"arch": arch, "dataset": dataset, "seed": s, "epoch": epoch,
                             "valid_acc": rng.uniform(10, 90), "train_loss": rng.uniform(0, 2)})  # fmt: skip
            rows.append({"arch": arch, "dataset": dataset, "seed": s, "epoch": None,
                         "valid_acc": rng.uniform(10, 90), "train_time_s": rng.uniform(1, 9),
                         "flops": np.nan if rng.random() < 0.3 else rng.uniform(1, 5)})  # fmt: skip
    return pd.DataFrame(rows)


def _check_values(data, frame):
    row_of = {k: i for i, k in enumerate(data.keys)}
    for r in frame.itertuples(index=False):
        ds = data.datasets[r.dataset]
        row, col = row_of[r.arch], int(np.flatnonzero(ds.seeds == r.seed)[0])
        assert ds.present[row, col]
        if pd.isna(r.epoch):
            np.testing.assert_array_equal(ds.per_seed["valid_acc"][row, col], r.valid_acc)
            np.testing.assert_array_equal(ds.per_seed["flops"][row, col], r.flops)
            assert ds.per_seed["train_time_s"][row, col] == r.train_time_s
        else:
            e = int(np.flatnonzero(ds.epochs == r.epoch)[0])
            assert ds.curves["valid_acc"][row, col, e] == r.valid_acc
            assert ds.curves["train_loss"][row, col, e] == r.train_loss
    runs = frame.drop_duplicates(["arch", "dataset", "seed"])
    assert sum(int(ds.present.sum()) for ds in data.datasets.values()) == len(runs)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_user_space_round_trips_exactly(tmp_path, suffix):
    frame = long_frame()
    path = tmp_path / f"long{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    data = importers.import_table("csv", path, space=LayerChain.name, space_config={"length": 4})
    assert data.space == LayerChain.name and data.space_config == {"length": 4}
    assert data.keys == list(dict.fromkeys(frame["arch"]))
    assert sorted(data.datasets) == ["toy-a", "toy-b"]
    np.testing.assert_array_equal(data.datasets["toy-a"].seeds, [1, 2])
    np.testing.assert_array_equal(data.datasets["toy-a"].epochs, [1, 2, 4])
    _check_values(data, frame)
    units = {m: info.unit for m, info in data.datasets["toy-a"].metrics.items()}
    assert units == {"valid_acc": "%", "train_loss": "nats", "train_time_s": "s", "flops": ""}
    assert_same_table(data, round_trip(data, tmp_path))


def test_space_column_units_option_and_text_variants(tmp_path):
    frame = long_frame(seed=1)
    # Another spelling of an architecture is keyed by the space and joins its rows.
    frame.loc[frame["arch"] == frame["arch"].iloc[0], "arch"] = frame["arch"].iloc[0].upper()
    path = tmp_path / "long.parquet"
    frame.assign(space=LayerChain.name).to_parquet(path)
    data = importers.import_table("csv", path, units={"flops": "MFLOPs"})
    assert data.keys[0] == frame["arch"].iloc[0].lower()
    assert data.datasets["toy-a"].metrics["flops"].unit == "MFLOPs"
    _check_values(data, frame.assign(arch=frame["arch"].str.lower()))


def test_duplicates_by_key_and_unknown_archs_name_the_row(tmp_path):
    frame = long_frame()
    path = tmp_path / "long.csv"
    twin = frame.iloc[[3]].assign(arch=frame["arch"].iloc[3].upper())
    pd.concat([frame, twin]).to_csv(path, index=False)
    with pytest.raises(ImportSourceError, match="duplicated"):
        importers.import_table("csv", path, space=LayerChain.name)
    bad = frame.copy()
    bad.loc[4, "arch"] = "conv-conv-conv-dense"
    bad.to_csv(path, index=False)
    with pytest.raises(MalformedArchError, match="data row 5") as info:
        importers.import_table("csv", path, space=LayerChain.name)
    assert info.value.space == LayerChain.name
