"""The official NATS-Bench topology files: exact per-epoch values, partial folders, safe unpickling."""

from __future__ import annotations

import builtins
import bz2
import os
import pickle
import shutil
from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest

from nasbench_suite import importers
from nasbench_suite.errors import ImportSourceError, UnsafePickleError
from nasbench_suite.safe_pickle import load_pbz2, loads
from tests.importer_support import assert_same_table, round_trip
from tests.support import data_path

SPLIT_PREFIX = {"x-valid": "valid", "ori-test": "test", "x-test": "xtest"}


@pytest.fixture(scope="module")
def folder():
    return data_path("nats-tss-simple-sample", "NATS-tss-v1_0-3ffb9-simple")


@pytest.fixture(scope="module")
def data(folder):
    return importers.import_table("nats-tss", folder)


def _files(folder):
    return sorted(folder.glob("0*.pickle.pbz2"))


def test_every_per_epoch_value_is_the_pickled_one(folder, data):
    meta = load_pbz2(folder / "meta.pickle.pbz2")
    indexes = [int(p.name[:6]) for p in _files(folder)]
    assert indexes == [0, 11, 284]
    assert data.keys == [meta["meta_archs"][i] for i in indexes]
    np.testing.assert_array_equal(data.static["nats_index"], indexes)
    checked = 0
    for row, path in enumerate(_files(folder)):
        for budget, info in load_pbz2(path).items():
            for (dataset, seed), r in info["all_results"].items():
                ds = data.datasets[dataset if budget == "200" else f"{dataset}@{budget}"]
                col = int(np.flatnonzero(ds.seeds == seed)[0])
                assert ds.present[row, col]
                e = r["epochs"]
                np.testing.assert_array_equal(ds.epochs, np.arange(1, e + 1))
                for metric, field in (("train_acc", "train_acc1es"), ("train_loss", "train_losses"),
                                      ("epoch_train_time_s", "train_times")):  # fmt: skip
                    expected = [r[field][i] for i in range(e)]
                    np.testing.assert_array_equal(ds.curves[metric][row, col], expected)
                    checked += e
                for split in r["eval_names"]:
                    p = SPLIT_PREFIX[split]
                    for metric, field in ((f"{p}_acc", "eval_acc1es"), (f"{p}_loss", "eval_losses"),
                                          (f"{p}_time_s", "eval_times")):  # fmt: skip
                        expected = [r[field].get(f"{split}@{i}", np.nan) for i in range(e)]
                        np.testing.assert_array_equal(ds.curves[metric][row, col], expected)
                        checked += e
                    assert ds.per_seed[f"{p}_acc"][row, col] == r["eval_acc1es"][f"{split}@{e - 1}"]
                    assert ds.per_seed[f"{p}_loss"][row, col] == r["eval_losses"][f"{split}@{e - 1}"]
                assert ds.per_seed["train_acc"][row, col] == r["train_acc1es"][e - 1]
                assert ds.per_seed["train_time_s"][row, col] == sum(r["train_times"][i] for i in range(e))
                assert ds.per_arch["params_m"][row] == r["params"]
                assert ds.per_arch["flops_m"][row] == r["flop"]
                assert ds.per_arch["latency_s"][row] == sum(r["latency"]) / len(r["latency"])
    assert checked > 50_000


def test_dataset_names_seeds_and_missing_evaluations(data):
    assert sorted(data.datasets) == sorted(
        ["cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"]
        + ["cifar10-valid@12", "cifar10@12", "cifar100@12", "ImageNet16-120@12"]
    )
    np.testing.assert_array_equal(data.datasets["cifar10-valid@12"].seeds, [111, 777])
    np.testing.assert_array_equal(data.datasets["cifar100"].seeds, [777, 888, 999])
    # cifar100 at 200 epochs evaluates x-valid only after the last epoch: NaN before, value at the end.
    valid = data.datasets["cifar100"].curves["valid_acc"]
    assert np.isnan(valid[:, :, :-1]).all() and not np.isnan(valid[:, :, -1]).any()
    assert "xtest_acc" not in data.datasets["cifar10"].per_seed
    assert data.datasets["cifar10"].metrics["latency_s"].unit == "s"
    assert data.datasets["cifar10@12"].protocol["epochs"] == 12


def test_final_numbers_agree_with_the_per_seed_csv(data):
    csv = pd.read_csv(data_path("nb201", "nb201_per_seed.csv")).set_index(["dataset", "index", "seed"])
    for dataset, metric in (
        ("cifar10-valid", "valid_acc"),
        ("cifar100", "test_acc"),
        ("ImageNet16-120", "test_acc"),
    ):
        ds = data.datasets[dataset]
        for row, index in enumerate(data.static["nats_index"].astype(int)):
            for col, seed in enumerate(ds.seeds):
                published = csv.loc[(dataset, index, seed)]
                # The CSV rounds the official numbers: accuracy to <= 6 decimals, time to 4.
                assert abs(ds.per_seed[metric][row, col] - published["accuracy"]) < 1e-6
                assert abs(ds.per_seed["train_time_s"][row, col] - published["train_time_s"]) <= 5e-5
                assert ds.per_arch["params_m"][row] == published["params_mb"]


def test_round_trip_and_per_seed_only(data, folder, tmp_path):
    assert_same_table(data, round_trip(data, tmp_path))
    light = importers.import_table("nats-tss", folder, curves=False)
    assert all(not ds.curves and len(ds.epochs) == 0 for ds in light.datasets.values())
    for name, ds in light.datasets.items():
        for metric, values in ds.per_seed.items():
            np.testing.assert_array_equal(values, data.datasets[name].per_seed[metric])


@pytest.mark.parametrize("keep", [["000284"], ["000000", "000284"]])
def test_a_folder_with_some_architectures_imports_those(folder, data, tmp_path, keep):
    shutil.copy(folder / "meta.pickle.pbz2", tmp_path)
    for stem in keep:
        shutil.copy(folder / f"{stem}.pickle.pbz2", tmp_path)
    part = importers.import_table("nats-tss", tmp_path)
    rows = [data.static["nats_index"].tolist().index(int(s)) for s in keep]
    assert part.keys == [data.keys[r] for r in rows]
    for name, ds in part.datasets.items():
        np.testing.assert_array_equal(ds.curves["train_loss"], data.datasets[name].curves["train_loss"][rows])


def test_layout_errors(folder, tmp_path):
    with pytest.raises(ImportSourceError, match="no such folder"):
        importers.import_table("nats-tss", tmp_path / "absent")
    shutil.copy(folder / "000011.pickle.pbz2", tmp_path)
    with pytest.raises(ImportSourceError, match=r"no meta\.pickle\.pbz2"):
        importers.import_table("nats-tss", tmp_path)
    shutil.copy(folder / "meta.pickle.pbz2", tmp_path)
    (tmp_path / "000011.pickle.pbz2").write_bytes(b"not a bz2 stream")
    with pytest.raises(ImportSourceError, match=r"000011\.pickle\.pbz2: not a bz2"):
        importers.import_table("nats-tss", tmp_path)
    (tmp_path / "000011.pickle.pbz2").write_bytes(bz2.compress(b"garbage, not a pickle"))
    with pytest.raises(ImportSourceError, match="not a valid pickle"):
        importers.import_table("nats-tss", tmp_path)
    shutil.copy(folder / "000000.pickle.pbz2", tmp_path / "000011.pickle.pbz2")
    with pytest.raises(ImportSourceError, match="holds index 0"):
        importers.import_table("nats-tss", tmp_path)
    (tmp_path / "000011.pickle.pbz2").unlink()
    with pytest.raises(ImportSourceError, match="no architecture files"):
        importers.import_table("nats-tss", tmp_path)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.marker}",))


def test_malicious_pickle_is_refused_without_running(folder, tmp_path):
    marker = tmp_path / "marker"
    payload = pickle.dumps(OrderedDict([("200", _Exploit(marker))]))
    with pytest.raises(UnsafePickleError, match=r"global (posix|nt|os)\.system"):
        loads(payload)
    shutil.copy(folder / "meta.pickle.pbz2", tmp_path)
    (tmp_path / "000005.pickle.pbz2").write_bytes(bz2.compress(payload))
    with pytest.raises(UnsafePickleError, match=r"000005\.pickle\.pbz2"):
        importers.import_table("nats-tss", tmp_path)
    for name in ("eval", "getattr"):
        with pytest.raises(UnsafePickleError, match=f"builtins.{name}"):
            loads(pickle.dumps(getattr(builtins, name)))
    assert not marker.exists()


def test_safe_loader_admits_plain_data():
    value = OrderedDict([("a", [1, 2.5, (3, "x")]), ("b", {None: np.float64(0.25)}), ("c", np.dtype("f8"))])
    assert loads(pickle.dumps(value)) == value
