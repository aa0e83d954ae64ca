"""The NB101 JSON-lines importer: exact values, duplicates, bad lines, zero-cost side file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nasbench_suite import importers, spaces
from nasbench_suite.errors import ImportSourceError, InvalidArchError, MalformedArchError
from nasbench_suite.importers.nb101 import NASLIB_OPS
from tests.importer_support import assert_same_table, round_trip
from tests.support import data_path

CHAIN = {
    "adjacency": [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
    "ops": ["input", "conv3x3-bn-relu", "maxpool3x3", "output"],
}
# Two interior nodes in parallel; swapping their labels gives an isomorphic cell.
FORK = {
    "adjacency": [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
    "ops": ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "output"],
}
FORK_SWAPPED = {**FORK, "ops": ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]}


def _write(path, cells):
    path.write_text("\n".join(json.dumps({**c, "accuracy": a}) for c, a in cells) + "\n")
    return path


def test_real_sample_values_and_keys(tmp_path):
    source = data_path("nb101")
    records = [json.loads(line) for line in (source / "nb101_sample_2500.jsonl").read_text().splitlines()]
    data = importers.import_table("nb101", source)
    space = spaces.get("nb101")
    assert data.keys == [space.key({"adjacency": r["adjacency"], "ops": r["ops"]}) for r in records]
    ds = data.datasets["cifar10"]
    assert ds.seeds.shape == (0,) and ds.present.shape == (2500, 0)
    assert sorted(ds.per_arch) == ["test_acc_mean"]
    np.testing.assert_array_equal(ds.per_arch["test_acc_mean"], [100.0 * r["accuracy"] for r in records])
    assert ds.metrics["test_acc_mean"].unit == "%"
    # The NASLib proxies cover none of the sample's cells: nothing is added, and that is recorded.
    assert any("0 of them cells of this table" in n for n in ds.provenance["notes"])
    assert_same_table(data, round_trip(data, tmp_path))


def test_split_option_names_the_metric(tmp_path):
    path = _write(tmp_path / "s.jsonl", [(CHAIN, 0.5)])
    data = importers.import_table("nb101", path, split="valid")
    assert list(data.datasets["cifar10"].per_arch) == ["valid_acc_mean"]
    with pytest.raises(ValueError, match="split"):
        importers.import_table("nb101", path, split="train")


def test_isomorphic_duplicates_are_refused_naming_both_lines(tmp_path):
    path = _write(tmp_path / "dup.jsonl", [(FORK, 0.9), (CHAIN, 0.8), (FORK_SWAPPED, 0.91)])
    with pytest.raises(ImportSourceError, match=r"line 3: the same cell .* as line 1"):
        importers.import_table("nb101", path)


def test_bad_lines_give_their_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    cases = [
        ('{"adjacency": [[0]], "ops": ["input"]}', ImportSourceError, "line 2: expected an object"),
        ('{"adjacency": 1, "ops": [], "accuracy": 1.5}', ImportSourceError, "line 2: accuracy 1.5"),
        ("[1, 2", ImportSourceError, "line 2: not valid JSON"),
    ]
    for line, error, message in cases:
        path.write_text(json.dumps({**CHAIN, "accuracy": 0.5}) + "\n" + line + "\n")
        with pytest.raises(error, match=message):
            importers.import_table("nb101", path)
    disconnected = {**CHAIN, "adjacency": [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]}
    _write(path, [(CHAIN, 0.5), (disconnected, 0.5)])
    with pytest.raises(MalformedArchError, match=r"line 2 of bad\.jsonl") as info:
        importers.import_table("nb101", path)
    assert isinstance(info.value, InvalidArchError)


def test_folder_must_hold_one_jsonl(tmp_path):
    with pytest.raises(ImportSourceError, match=r"exactly one \.jsonl"):
        importers.import_table("nb101", tmp_path)
    _write(tmp_path / "a.jsonl", [(CHAIN, 0.5)])
    _write(tmp_path / "b.jsonl", [(CHAIN, 0.5)])
    with pytest.raises(ImportSourceError, match=r"exactly one \.jsonl"):
        importers.import_table("nb101", tmp_path)
    with pytest.raises(ImportSourceError, match="no such file"):
        importers.import_table("nb101", tmp_path / "absent.jsonl")


def _naslib_key(cell):
    n = len(cell["ops"])
    matrix = np.zeros((7, 7), dtype=int)
    # Pad to 7 nodes by inserting unconnected nodes before the output (pruned away again).
    matrix[: n - 1, : n - 1] = np.array(cell["adjacency"])[: n - 1, : n - 1]
    matrix[: n - 1, 6] = np.array(cell["adjacency"])[: n - 1, n - 1]
    ops = [*cell["ops"][:-1], *["maxpool3x3"] * (7 - n), "output"]
    return str(tuple(matrix.flatten().tolist()) + tuple(NASLIB_OPS.index(o) for o in ops))


def test_zero_cost_side_file_fills_cells_of_the_table(tmp_path):
    path = _write(tmp_path / "s.jsonl", [(CHAIN, 0.5), (FORK, 0.6)])
    proxies = {
        _naslib_key(CHAIN): {"snip": 3.0, "jacov": -1e8, "flops": 10.5, "params": 0.2, "val_accuracy": 1.0},
        # The same cell listed twice with different measurements: left NaN.
        _naslib_key(FORK): {"snip": 1.0, "jacov": 2.0, "flops": 7.0, "params": 0.1, "val_accuracy": 2.0},
        _naslib_key(FORK_SWAPPED): {
            "snip": 1.5,
            "jacov": 2.0,
            "flops": 7.0,
            "params": 0.1,
            "val_accuracy": 2.0,
        },
    }
    (tmp_path / "nb101_zero_cost_3.json").write_text(json.dumps({"nasbench101": {"cifar10": proxies}}))
    data = importers.import_table("nb101", path)
    pa = data.datasets["cifar10"].per_arch
    assert sorted(pa) == ["flops_m", "params_m", "test_acc_mean", "zc_jacov", "zc_snip"]
    np.testing.assert_array_equal(pa["zc_snip"], [3.0, np.nan])
    np.testing.assert_array_equal(pa["zc_jacov"], [np.nan, np.nan])
    np.testing.assert_array_equal(pa["flops_m"], [10.5, np.nan])
    without = importers.import_table("nb101", path, zero_cost=False)
    assert sorted(without.datasets["cifar10"].per_arch) == ["test_acc_mean"]
