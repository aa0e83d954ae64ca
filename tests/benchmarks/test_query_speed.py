"""Speed and memory of the table against the established way: a pickled dict of arch -> record.

The NB201 API and its derivatives load one pickle holding every architecture's
record and answer queries by dict lookups. Each benchmark here runs both ways on
the same data, side by side in one run:

    python -m pytest tests/benchmarks --benchmark-enable --benchmark-group-by=group

In the fast suite (``--benchmark-disable``) every benchmark runs once, untimed.
Figures go to docs/performance.md.
"""

from __future__ import annotations

import itertools
import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import nasbench_suite
from nasbench_suite.tabular import read_table
from tests.support import REPO

DATASET = "cifar10-valid"


@pytest.fixture(scope="module")
def pickled_records(nb201_table, tmp_path_factory):
    """The same per-seed results as a pickled {arch: {dataset: {seed: record}}} dict."""
    data = read_table(nb201_table)
    records: dict[str, dict] = {key: {"params_m": {}} for key in data.keys}
    for ds_name, ds in data.datasets.items():
        metric = "valid_acc" if "valid_acc" in ds.per_seed else "test_acc"
        acc, time_s = ds.per_seed[metric], ds.per_seed["train_time_s"]
        for i, key in enumerate(data.keys):
            runs = {}
            for j, seed in enumerate(ds.seeds.tolist()):
                if ds.present[i, j]:
                    runs[seed] = {metric: float(acc[i, j]), "train_time_s": float(time_s[i, j])}
            records[key][ds_name] = runs
            records[key]["params_m"][ds_name] = float(ds.per_arch["params_m"][i])
    path = tmp_path_factory.mktemp("pickle") / "nb201_records.pkl"
    with open(path, "wb") as fh:
        pickle.dump(records, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


@pytest.fixture(scope="module")
def archs(nb201_table):
    return read_table(nb201_table).keys


# --- open and first query -------------------------------------------------------


@pytest.mark.benchmark(group="open + first query")
def test_open_and_first_query_table(benchmark, nb201_table, archs):
    def open_and_query():
        with nasbench_suite.open_benchmark(nb201_table) as bench:
            return bench.query(archs[0], dataset=DATASET, seed=777)

    result = benchmark(open_and_query)
    assert result.metrics["valid_acc"] > 0


@pytest.mark.benchmark(group="open + first query")
def test_open_and_first_query_pickle(benchmark, pickled_records, archs):
    def open_and_query():
        with open(pickled_records, "rb") as fh:
            records = pickle.load(fh)  # the established way; a file we wrote ourselves
        return records[archs[0]][DATASET][777]

    assert benchmark(open_and_query)["valid_acc"] > 0


# --- single queries -------------------------------------------------------------


@pytest.mark.benchmark(group="single query (seed 777)")
def test_single_query_table(benchmark, nb201_table, archs):
    bench = nasbench_suite.open_benchmark(nb201_table)
    cycle = itertools.cycle(archs[:2000])
    bench.query(archs[0], dataset=DATASET, seed=777)
    result = benchmark(lambda: bench.query(next(cycle), dataset=DATASET, seed=777))
    assert result.cost_s > 0
    bench.close()


@pytest.mark.benchmark(group="single query (seed 777)")
def test_single_query_pickle(benchmark, pickled_records, archs):
    with open(pickled_records, "rb") as fh:
        records = pickle.load(fh)
    cycle = itertools.cycle(archs[:2000])
    assert benchmark(lambda: records[next(cycle)][DATASET][777])["train_time_s"] > 0


@pytest.mark.benchmark(group="single query (seed mean)")
def test_single_query_mean_table(benchmark, nb201_table, archs):
    bench = nasbench_suite.open_benchmark(nb201_table)
    cycle = itertools.cycle(archs[:2000])
    bench.query(archs[0], dataset=DATASET)
    assert benchmark(lambda: bench.query(next(cycle), dataset=DATASET, seed="mean")).cost_s > 0
    bench.close()


@pytest.mark.benchmark(group="single query (seed mean)")
def test_single_query_mean_pickle(benchmark, pickled_records, archs):
    with open(pickled_records, "rb") as fh:
        records = pickle.load(fh)
    cycle = itertools.cycle(archs[:2000])

    def mean_query():
        runs = records[next(cycle)][DATASET].values()
        return {m: sum(r[m] for r in runs) / len(runs) for m in ("valid_acc", "train_time_s")}

    assert benchmark(mean_query)["train_time_s"] > 0


# --- batch queries --------------------------------------------------------------


@pytest.mark.benchmark(group="query_batch (all 15,625 archs, seed sample)")
def test_query_batch_table(benchmark, nb201_table, archs):
    bench = nasbench_suite.open_benchmark(nb201_table)
    rng = np.random.default_rng(0)
    bench.query_batch(archs[:10], dataset=DATASET, seed="sample", rng=rng)
    df = benchmark(lambda: bench.query_batch(archs, dataset=DATASET, seed="sample", rng=rng))
    assert len(df) == len(archs) and df["valid_acc"].notna().all()
    if benchmark.stats:
        benchmark.extra_info["rows_per_s_median"] = len(archs) / benchmark.stats.stats.median
    bench.close()


@pytest.mark.benchmark(group="query_batch (all 15,625 archs, seed sample)")
def test_query_batch_pickle(benchmark, pickled_records, archs):
    with open(pickled_records, "rb") as fh:
        records = pickle.load(fh)
    rng = np.random.default_rng(0)

    def batch():
        rows = []
        for arch in archs:
            runs = records[arch][DATASET]
            seed = list(runs)[rng.integers(len(runs))]
            rows.append({"arch": arch, "seed": seed, **runs[seed]})
        return pd.DataFrame(rows)

    df = benchmark(batch)
    assert len(df) == len(archs)
    if benchmark.stats:
        benchmark.extra_info["rows_per_s_median"] = len(archs) / benchmark.stats.stats.median


# --- memory ---------------------------------------------------------------------

RSS_SCRIPT = textwrap.dedent(
    """
    import json, pickle, sys
    sys.path.insert(0, {repo!r})
    mode, path, dataset = sys.argv[1:4]
    if mode.startswith("table"):
        import nasbench_suite
        bench = nasbench_suite.open_benchmark(path)
        keys = bench.table.keys
        bench.query(keys[0], dataset=dataset, seed=777)
        if mode == "table-everything":
            for ds in bench.datasets:
                bench.query_batch(keys, dataset=ds, seed="mean", metrics="all")
    else:
        with open(path, "rb") as fh:
            records = pickle.load(fh)
    # VmHWM, not ru_maxrss: ru_maxrss also counts the forked copy of the (large)
    # parent before exec, VmHWM only this program's own peak.
    with open("/proc/self/status") as fh:
        hwm_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    print(json.dumps({{"peak_rss_mb": hwm_kb / 1024}}))
    """
)


def _peak_rss_mb(mode: str, path) -> float:
    script = RSS_SCRIPT.format(repo=str(REPO))
    out = subprocess.run(
        [sys.executable, "-c", script, mode, str(path), DATASET], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)["peak_rss_mb"]


def test_peak_rss(nb201_table, pickled_records, record_property):
    """Peak RSS: open + one query; and a batch of every metric of every dataset (with pandas)."""
    first_query_mb = _peak_rss_mb("table-first-query", nb201_table)
    everything_mb = _peak_rss_mb("table-everything", nb201_table)
    pickle_mb = _peak_rss_mb("pickle", pickled_records)
    for name, value in (
        ("table_first_query", first_query_mb),
        ("table_everything", everything_mb),
        ("pickle_load", pickle_mb),
    ):
        record_property(f"peak_rss_mb_{name}", value)
    print(
        f"peak RSS: table open + first query {first_query_mb:.0f} MB, table every metric of every"
        f" dataset via query_batch {everything_mb:.0f} MB, pickled dict load {pickle_mb:.0f} MB"
    )
    assert everything_mb < 250
