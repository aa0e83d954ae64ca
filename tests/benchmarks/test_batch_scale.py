"""query_batch of 1,000,000 architectures: this implementation against the previous one, side by side.

Measured on the imported NB201 table (``/work/tables/nb201-v2.h5`` or ``nb201.h5`` when
present, else imported from the shared data, else a synthetic table of 15,625 keys), a
million architectures drawn with replacement, seed ``"sample"`` and ``"mean"``::

    python -m pytest tests/benchmarks/test_batch_scale.py --benchmark-enable -s

Three ways side by side: this implementation (``frame``, ``arrays``), the same with the
keys looked up through the public ``Index.get_indexer`` (``index``: the implementation
before the cached hash table), and the one before that (``previous``). On a loaded
machine add ``--benchmark-timer time.process_time`` for the CPU time of the calls.

Peak RSS growth is measured in a subprocess per way: the peak high-water mark
is reset (``/proc/self/clear_refs``) after the inputs are built, so the figure
is what the call itself adds; it is compared with the result's numeric columns.
Figures go to docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nasbench_suite
from nasbench_suite.bench._batch import KeyLookup
from nasbench_suite.tabular import write_table
from tests.support import REPO, synthetic_table

N_ROWS = 1_000_000
SHARED_TABLES = (Path("/work/tables/nb201-v2.h5"), Path("/work/tables/nb201.h5"))


def previous_query_batch(bench, archs, dataset, seed="mean", rng=None, metrics=None):
    """The implementation this replaces (one object column of keys, one lookup of a built list;
    seed "sample" only, or "mean")."""
    import pandas as pd

    view = bench._view(dataset, None, metrics)
    texts = [a if isinstance(a, str) else None for a in archs]
    rows = np.asarray(bench._key_index.get_indexer(pd.Index(texts, dtype=object)), dtype=np.int64)
    seeds = np.asarray(bench.table.dataset(dataset).seeds, dtype=np.int64)
    if seed == "mean":
        seed_values, cost = view.per_seed_mean[rows], view.cost_mean[rows]
        seed_column = np.full(len(rows), -1, dtype=np.int64)
    else:
        present = view.present[rows]
        counts = present.sum(axis=1)
        k = (rng.random(len(rows)) * counts).astype(np.int64)
        cols = np.argmax(np.cumsum(present, axis=1) > k[:, None], axis=1)
        seed_values, cost, seed_column = view.per_seed[rows, cols], view.cost[rows, cols], seeds[cols]
    columns = {"arch": np.asarray(bench.table.keys, dtype=object)[rows], "seed": seed_column}
    for j, name in enumerate(view.seed_names):
        columns[name] = seed_values[:, j]
    for j, name in enumerate(view.arch_names):
        columns[name] = view.per_arch[rows][:, j]
    columns["cost_s"] = cost
    return pd.DataFrame(columns, copy=False)


@pytest.fixture(scope="module")
def table(tmp_path_factory, request):
    for shared in SHARED_TABLES:
        if shared.is_file():
            return shared, "cifar10-valid"
    try:
        return request.getfixturevalue("nb201_table"), "cifar10-valid"
    except pytest.skip.Exception:
        path = tmp_path_factory.mktemp("batch") / "synthetic.h5"
        write_table(path, synthetic_table(n_archs=15_625))
        return path, "toy"


@pytest.fixture(scope="module")
def n_rows(request):
    """A million when timed; a tenth of it in the fast suite, where each runs once untimed."""
    return N_ROWS if request.config.getoption("benchmark_enable", default=False) else N_ROWS // 10


@pytest.fixture(scope="module")
def archs(table, n_rows):
    keys = nasbench_suite.open_benchmark(table[0]).table.keys
    return [keys[i] for i in np.random.default_rng(0).integers(len(keys), size=n_rows).tolist()]


def index_query_batch(bench, archs, dataset, seed="mean", rng=None):
    """query_batch with the keys looked up through the public ``Index.get_indexer`` (which infers
    the type of the whole target first), as before the cached hash table."""
    if not getattr(bench, "_index_lookup", False):
        bench._key_lookup = KeyLookup(bench.table.keys, direct=False)
        bench._index_lookup = True
    return bench.query_batch(archs, dataset, seed=seed, rng=rng)


WAYS = {
    "frame": lambda b, a, d, s, r: b.query_batch(a, d, seed=s, rng=r),
    "arrays": lambda b, a, d, s, r: b.query_arrays(a, d, seed=s, rng=r),
    "index": lambda b, a, d, s, r: index_query_batch(b, a, d, seed=s, rng=r),
    "previous": lambda b, a, d, s, r: previous_query_batch(b, a, d, seed=s, rng=r),
}


@pytest.mark.parametrize("seed", ["sample", "mean"])
@pytest.mark.parametrize("way", list(WAYS))
def test_query_batch_million(benchmark, table, archs, n_rows, way, seed):
    benchmark.group = f"query_batch of 1,000,000 archs, seed {seed}"
    path, dataset = table
    bench = nasbench_suite.open_benchmark(path)
    rng = np.random.default_rng(0)
    run = WAYS[way]
    run(bench, archs[:10], dataset, seed, rng)
    result = benchmark(run, bench, archs, dataset, seed, rng)
    assert len(result["cost_s"]) == n_rows
    if benchmark.stats:
        benchmark.extra_info["rows_per_s_median"] = n_rows / benchmark.stats.stats.median
    bench.close()


RSS_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {repo!r})
    import numpy as np
    import pandas  # imported before the reset: its import is not the call's cost
    import nasbench_suite
    from tests.benchmarks.test_batch_scale import WAYS
    way, path, dataset, n_rows = sys.argv[1:5]
    bench = nasbench_suite.open_benchmark(path)
    keys = bench.table.keys
    archs = [keys[i] for i in np.random.default_rng(0).integers(len(keys), size=int(n_rows)).tolist()]
    WAYS[way](bench, archs[:10], dataset, "sample", np.random.default_rng(0))
    def status(field):
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(field)) / 1024
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset the peak RSS to the current RSS
    before = status("VmRSS:")
    result = WAYS[way](bench, archs, dataset, "sample", np.random.default_rng(0))
    peak = status("VmHWM:")
    numeric = sum(np.asarray(result[k]).nbytes for k in result if k not in ("arch", "row")) / 2**20
    print(json.dumps({{"way": way, "growth_mb": peak - before, "numeric_columns_mb": numeric,
                       "above_numeric_mb": peak - before - numeric}}))
    """
)


def test_peak_rss_growth(table, n_rows, record_property):
    path, dataset = table
    for way in WAYS:
        done = subprocess.run(
            [sys.executable, "-c", RSS_CHILD.format(repo=str(REPO)), way, str(path), dataset, str(n_rows)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(figures))
        record_property(f"rss_{way}", figures)
        if way != "previous":
            assert figures["above_numeric_mb"] < 100


def test_ways_interleaved(request, table, archs, n_rows, record_property):
    """The ways taken in turn, round after round (a loaded machine's load then weighs on each alike):
    median wall and CPU time (``time.process_time``) of each, printed with ``-s``."""
    import time

    if not request.config.getoption("benchmark_enable", default=False):
        pytest.skip("a timing: runs with --benchmark-enable")
    path, dataset = table
    bench = nasbench_suite.open_benchmark(path)
    figures = {}
    for seed in ("sample", "mean"):
        times: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
        for way in WAYS:
            WAYS[way](bench, archs[:10], dataset, seed, np.random.default_rng(0))
        for _ in range(7):
            for way, call in WAYS.items():
                wall, cpu = time.perf_counter(), time.process_time()
                call(bench, archs, dataset, seed, np.random.default_rng(0))
                times[way].append((time.perf_counter() - wall, time.process_time() - cpu))
        for way, pairs in times.items():
            wall_s, cpu_s = (float(np.median(column)) for column in zip(*pairs))
            figures[f"{way}-{seed}"] = {
                "wall_ms": 1e3 * wall_s,
                "cpu_ms": 1e3 * cpu_s,
                "rows_per_s_cpu": n_rows / cpu_s,
            }
            print(json.dumps({"way": way, "seed": seed, **figures[f"{way}-{seed}"]}))
    record_property("interleaved", figures)
    bench.close()
