"""The NB201 folder importer: every value of the real files exactly, layout errors, round trip."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest

from nasbench_suite import importers, spaces
from nasbench_suite.errors import ImportSourceError
from tests.importer_support import assert_same_table, round_trip
from tests.support import data_path

DATASETS = ("ImageNet16-120", "cifar10-valid", "cifar100")


@pytest.fixture(scope="module")
def real():
    source = data_path("nb201")
    return source, importers.import_table("nb201", source)


def _frame(source, name):
    return pd.read_csv(source / name)


def test_keys_are_the_strings_in_official_index_order(real):
    source, data = real
    per_seed = _frame(source, "nb201_per_seed.csv")
    by_index = per_seed.drop_duplicates("index").set_index("index")["arch"]
    assert data.keys == [by_index[i] for i in range(15625)]
    np.testing.assert_array_equal(data.static["nats_index"], np.arange(15625, dtype=np.float64))
    assert sorted(data.datasets) == sorted(DATASETS)


def test_every_per_seed_value_is_exact(real):
    source, data = real
    per_seed = _frame(source, "nb201_per_seed.csv")
    text = pd.read_csv(source / "nb201_per_seed.csv", dtype=str)
    for name in DATASETS:
        ds = data.datasets[name]
        np.testing.assert_array_equal(ds.seeds, [777, 888, 999])
        mask = (per_seed["dataset"] == name).to_numpy()
        sub = per_seed[mask]
        rows, cols = sub["index"].to_numpy(), np.searchsorted(ds.seeds, sub["seed"].to_numpy())
        metric = "valid_acc" if name == "cifar10-valid" else "test_acc"
        assert sorted(ds.per_seed) == sorted([metric, "train_time_s"])
        for column, got in (("accuracy", ds.per_seed[metric]), ("train_time_s", ds.per_seed["train_time_s"])):
            np.testing.assert_array_equal(got[rows, cols], sub[column].to_numpy())
            # ... and pandas' parse is the correctly rounded float of the decimal text.
            exact = np.array([float(t) for t in text.loc[mask, column]])
            np.testing.assert_array_equal(got[rows, cols], exact)
        np.testing.assert_array_equal(ds.per_arch["params_m_published"][rows], sub["params_mb"].to_numpy())
        # Runs that do not exist are absent and NaN, never filled in.
        assert ds.present.sum() == len(sub) and (~ds.present).sum() == 7456
        assert np.isnan(ds.per_seed[metric][~ds.present]).all()
        assert ds.present[rows, cols].all()


def test_side_files_are_exact(real):
    source, data = real
    means = _frame(source, "nb201_valid_mean.csv")
    for name in DATASETS:
        sub = means[means["dataset"] == name]
        got = data.datasets[name].per_arch["valid_acc_mean"][sub["index"].to_numpy()]
        np.testing.assert_array_equal(got, sub["valid_accuracy_mean"].to_numpy())
    for name, tag in (
        ("cifar10-valid", "cifar10"),
        ("cifar100", "cifar100"),
        ("ImageNet16-120", "ImageNet16-120"),
    ):
        hw = _frame(source, f"nb201_hwnasbench_{tag}.csv")
        ds = data.datasets[name]
        for column in hw.columns[2:]:
            np.testing.assert_array_equal(ds.per_arch[f"hw_{column}"][hw["index"]], hw[column].to_numpy())
        assert ds.metrics["hw_edgegpu_latency"].unit == "ms"
        assert ds.metrics["hw_fpga_energy"].unit == "mJ"
        assert ds.metrics["hw_eyeriss_arithmetic_intensity"].unit == "FLOP/byte"
    latency = _frame(source, "nb201_latency_ms.csv")
    assert len(latency.columns) - 2 == 27
    for device in latency.columns[2:]:
        np.testing.assert_array_equal(data.static[f"latency_ms_{device}"][latency["index"]], latency[device])
        assert data.static_metrics[f"latency_ms_{device}"].unit == "ms"


def test_zero_cost_csv_values_sentinels_and_params(real):
    source, data = real
    for name, tag in (("cifar10-valid", "cifar10"), ("ImageNet16-120", "ImageNet16-120")):
        zc = _frame(source, f"nb201_zero_cost_{tag}.csv")
        ds = data.datasets[name]
        rows = zc["index"].to_numpy()
        np.testing.assert_array_equal(ds.per_arch["flops_m_zc"][rows], zc["flops"].to_numpy())
        assert ds.metrics["flops_m_zc"].unit == "MFLOPs"
        proxies = [c for c in zc.columns if c not in ("index", "arch", "flops", "params")]
        assert len(proxies) == 11 and "zc_params" not in ds.per_arch
        for proxy in proxies:
            expected = zc[proxy].to_numpy().copy()
            expected[expected == -1e8] = np.nan
            np.testing.assert_array_equal(ds.per_arch[f"zc_{proxy}"][rows], expected)
        others = np.setdiff1d(np.arange(15625), rows)
        assert np.isnan(ds.per_arch["zc_snip"][others]).all()
        assert any("differs from params_m for 88 of 9445" in n for n in ds.provenance["notes"])
        assert any("not used for this dataset" in n for n in ds.provenance["notes"])


def _naslib_text(key: str) -> str:
    # The data README's rule, written independently of the importer: op ids on edges
    # (1,2) (1,3) (1,4) (2,3) (2,4) (3,4), nodes from 1; the string numbers nodes from 0.
    ops = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
    ids = [int(t) for t in re.findall(r"\d", key)]
    edge = dict(zip([(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)], ids))
    nodes = ["|".join(f"{ops[edge[(i + 1, j + 1)]]}~{i}" for i in range(j)) for j in (1, 2, 3)]
    return "|" + "|+|".join(nodes) + "|"


def test_naslib_json_fills_cifar100_only_by_default(real):
    source, data = real
    raw = json.loads((source / "nb201_zero_cost_491_naslib.json").read_text())["nasbench201"]
    row_of = {k: i for i, k in enumerate(data.keys)}
    # The decoding rule is right: on cifar10 the JSON's flops equal the CSV's for every shared arch.
    zc = _frame(source, "nb201_zero_cost_cifar10.csv").set_index("arch")
    shared = [(k, _naslib_text(k)) for k in raw["cifar10"] if _naslib_text(k) in zc.index]
    assert len(shared) == 303
    assert all(raw["cifar10"][k]["flops"] == zc.loc[t, "flops"] for k, t in shared)
    ds = data.datasets["cifar100"]
    assert "zc_nwot" not in ds.per_arch and "zc_val_accuracy" not in ds.per_arch
    filled = np.zeros(15625, dtype=bool)
    for key, values in raw["cifar100"].items():
        row = row_of[_naslib_text(key)]
        filled[row] = True
        assert ds.per_arch["flops_m_zc"][row] == values["flops"]
        expected = np.nan if values["jacov"] == -1e8 else values["jacov"]
        np.testing.assert_array_equal(ds.per_arch["zc_jacov"][row], expected)
    assert filled.sum() == 491 and np.isnan(ds.per_arch["zc_snip"][~filled]).all()
    # cifar10-valid keeps the CSV alone unless asked to fill.
    assert np.isnan(data.datasets["cifar10-valid"].per_arch["zc_snip"]).sum() == 15625 - 9445


def test_naslib_fill_touches_only_archs_without_csv_values(real):
    source, data = real
    filled = importers.import_table("nb201", source, naslib_fill=True)
    before, after = data.datasets["cifar10-valid"].per_arch, filled.datasets["cifar10-valid"].per_arch
    had = ~np.isnan(before["zc_snip"])
    np.testing.assert_array_equal(after["zc_snip"][had], before["zc_snip"][had])
    assert (~np.isnan(after["zc_snip"])).sum() == 9445 + 188


def test_round_trip_through_the_store(real, tmp_path):
    _, data = real
    assert_same_table(data, round_trip(data, tmp_path))


# --- small synthetic folders: layout errors and optional files -----------------------


def _write_folder(folder, n=6):
    space = spaces.get("nb201")
    archs = [space.format(a) for a in itertools.islice(space.enumerate(), n)]
    rows = []
    for i, arch in enumerate(archs):
        for name, split in (("cifar10-valid", "x-valid"), ("cifar100", "ori-test")):
            for seed in (777, 888) if i % 2 else (777, 888, 999):
                rows.append((i, arch, name, seed, 200, split, 50.0 + i + seed / 1000, 100.0 + i, 0.1 + i))
    columns = ["index", "arch", "dataset", "seed", "epochs", "split", "accuracy", "train_time_s", "params_mb"]
    frame = pd.DataFrame(rows, columns=columns)
    folder.mkdir(exist_ok=True)
    frame.to_csv(folder / "nb201_per_seed.csv", index=False)
    return frame


def test_only_the_per_seed_file_is_required(tmp_path):
    frame = _write_folder(tmp_path)
    data = importers.import_table("nb201", tmp_path)
    ds = data.datasets["cifar100"]
    assert data.n_archs == 6 and ds.present.sum() == (frame["dataset"] == "cifar100").sum()
    np.testing.assert_array_equal(ds.present[:, 2], [True, False] * 3)
    assert "nb201_latency_ms.csv" in ds.provenance["files_absent"]
    assert sorted(data.static) == ["nats_index"]


def test_layout_errors_are_clear(tmp_path):
    with pytest.raises(ImportSourceError, match="no such folder"):
        importers.import_table("nb201", tmp_path / "absent")
    with pytest.raises(ImportSourceError, match="no such file"):
        importers.import_table("nb201", tmp_path)
    frame = _write_folder(tmp_path)
    frame.drop(columns="params_mb").to_csv(tmp_path / "nb201_per_seed.csv", index=False)
    with pytest.raises(ImportSourceError, match=r"missing column.*'params_mb'"):
        importers.import_table("nb201", tmp_path)
    pd.concat([frame, frame.iloc[[3]]]).to_csv(tmp_path / "nb201_per_seed.csv", index=False)
    with pytest.raises(ImportSourceError, match="appears twice"):
        importers.import_table("nb201", tmp_path)
    frame.assign(accuracy=["x"] + [1.0] * (len(frame) - 1)).to_csv(
        tmp_path / "nb201_per_seed.csv", index=False
    )
    with pytest.raises(ImportSourceError, match=r"data row 1.*not a number"):
        importers.import_table("nb201", tmp_path)


def test_side_file_disagreeing_with_per_seed_is_refused(tmp_path):
    frame = _write_folder(tmp_path)
    side = frame[frame["dataset"] == "cifar100"].drop_duplicates("index")[["index", "arch", "dataset"]]
    side = side.assign(valid_accuracy_mean=1.0)
    side.loc[side.index[2], "arch"] = frame["arch"].iloc[0]
    side.to_csv(tmp_path / "nb201_valid_mean.csv", index=False)
    with pytest.raises(ImportSourceError, match="data row 3: index 2 is"):
        importers.import_table("nb201", tmp_path)
