"""Acceptance on the real NB201 data: every published per-seed value comes back exactly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import nasbench_suite
from nasbench_suite.cli import main
from nasbench_suite.errors import UnknownSeedError
from tests.support import data_path


@pytest.fixture(scope="module")
def per_seed_csv():
    return pd.read_csv(data_path("nb201", "nb201_per_seed.csv"))


def test_every_per_seed_value_through_query(nb201_table, per_seed_csv):
    bench = nasbench_suite.open_benchmark(nb201_table)
    mismatches = 0
    for row in per_seed_csv.itertuples(index=False):
        metric = "valid_acc" if row.dataset == "cifar10-valid" else "test_acc"
        r = bench.query(
            row.arch,
            dataset=row.dataset,
            seed=int(row.seed),
            metrics=[metric, "train_time_s", "params_m_published"],
        )
        mismatches += (
            r.metrics[metric] != row.accuracy
            or r.cost_s != row.train_time_s
            or r.metrics["train_time_s"] != row.train_time_s
            or r.metrics["params_m_published"] != row.params_mb
            or r.seed != row.seed
        )
    assert mismatches == 0
    bench.close()


def test_every_per_seed_value_through_query_batch(nb201_table, per_seed_csv):
    bench = nasbench_suite.open_benchmark(nb201_table)
    for (dataset, seed), group in per_seed_csv.groupby(["dataset", "seed"]):
        metric = "valid_acc" if dataset == "cifar10-valid" else "test_acc"
        df = bench.query_batch(group["arch"].tolist(), dataset=dataset, seed=int(seed))
        np.testing.assert_array_equal(df[metric].to_numpy(), group["accuracy"].to_numpy())
        np.testing.assert_array_equal(df["cost_s"].to_numpy(), group["train_time_s"].to_numpy())
    bench.close()


def test_seed_mean_and_missing_seeds(nb201_table, per_seed_csv):
    bench = nasbench_suite.open_benchmark(nb201_table)
    two_seed = per_seed_csv.groupby(["dataset", "arch"]).filter(lambda g: len(g) == 2)
    arch = two_seed[two_seed.dataset == "cifar10-valid"].arch.iloc[0]
    runs = per_seed_csv[(per_seed_csv.arch == arch) & (per_seed_csv.dataset == "cifar10-valid")]
    assert sorted(runs.seed) == [777, 888]
    with pytest.raises(UnknownSeedError, match="seed 999 is not stored"):
        bench.query(arch, dataset="cifar10-valid", seed=999)
    mean = bench.query(arch, dataset="cifar10-valid", seed="mean")
    assert mean.metrics["valid_acc"] == pytest.approx(runs.accuracy.mean(), abs=1e-12)
    rng = np.random.default_rng(5)
    sampled = {bench.query(arch, dataset="cifar10-valid", seed="sample", rng=rng).seed for _ in range(50)}
    assert sampled == {777, 888}


def test_isomorphic_strings_resolve_to_their_own_entries(nb201_table, per_seed_csv):
    bench = nasbench_suite.open_benchmark(nb201_table)
    space = bench.space
    first = per_seed_csv[(per_seed_csv.dataset == "cifar10-valid") & (per_seed_csv.seed == 777)]
    by_class: dict[str, list[str]] = {}
    for arch in first.arch:
        by_class.setdefault(space.canonical_key(arch), []).append(arch)
    twins = next(v for v in by_class.values() if len(v) >= 2)
    acc = dict(zip(first.arch, first.accuracy))
    for arch in twins:
        r = bench.query(arch, dataset="cifar10-valid", seed=777)
        assert r.arch == arch and r.metrics["valid_acc"] == acc[arch]


def test_info_reports_archs_and_canonical_classes(nb201_table, capsys):
    assert main(["info", str(nb201_table), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_archs"] == 15625 and info["n_canonical"] == 6466
    assert sorted(info["datasets"]) == ["ImageNet16-120", "cifar10-valid", "cifar100"]
    assert main(["verify", str(nb201_table)]) == 0
