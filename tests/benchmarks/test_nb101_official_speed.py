"""Importing the official NB101 file: this importer against reading it the official API's way.

A file in the official format is generated into a temporary folder: the full
size (423,624 cells x 3 runs x 4 budgets, about 2 GB) when benchmarks are
enabled, 300 cells in the fast suite (``NB101_OFFICIAL_FILE=path`` reuses a full-size
file written before by ``tests/nb101_official_support.py``, whose writing takes minutes).
Both ways run in a subprocess of their own, which reports its wall time, its CPU time and
that of its worker processes, and the peak RSS of itself and of its largest worker; then
the written table is opened and queried::

    python -m pytest tests/benchmarks/test_nb101_official_speed.py --benchmark-enable -s

Figures go to docs/performance.md.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nasbench_suite
from tests import nb101_official_support as support
from tests.support import REPO

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    sys.path.insert(0, {repo!r})
    mode, source, out = sys.argv[1:4]
    start = time.perf_counter()
    if mode == "import":
        from nasbench_suite.importers import import_table
        from nasbench_suite.tabular import write_table
        check = sys.argv[4] == "check"
        data = import_table("nb101-official", source, check_hashes=check)
        parsed = time.perf_counter() - start
        write_table(out, data)
        n = data.n_archs
    else:
        from tests.nb101_official_support import official_way
        parsed = None
        n = len(official_way(source))
    seconds = time.perf_counter() - start
    with open("/proc/self/status") as fh:
        hwm_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({{"seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime, "parse_s": parsed,
                       "workers_cpu_s": workers.ru_utime + workers.ru_stime,
                       "cells": n, "peak_rss_mb": hwm_kb / 1024, "ru_maxrss_mb": usage.ru_maxrss / 1024,
                       "worker_peak_rss_mb": workers.ru_maxrss / 1024}}))
    """
)


@pytest.fixture(scope="module")
def official_file(request, tmp_path_factory):
    full = request.config.getoption("benchmark_enable", default=False)
    n = support.FULL_SIZE if full else 300
    given = os.environ.get("NB101_OFFICIAL_FILE")
    if full and given:
        return Path(given), n
    path = tmp_path_factory.mktemp("nb101-official") / "nasbench_full.tfrecord"
    cells = support.chain_cells(n, seed=0)
    return support.write_file(path, cells, budgets=support.FULL_BUDGETS, seed=1), n


def _child(mode: str, source, out, *extra: str) -> dict:
    script = CHILD.format(repo=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", script, mode, str(source), str(out), *extra],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    return tmp_path_factory.mktemp("nb101-table") / "nb101.h5"


@pytest.fixture(scope="module")
def imported(official_file, table_path):
    """The table written by the timed import (run here if that test did not run)."""
    if "check" not in _RESULTS:
        _RESULTS["check"] = _child("import", official_file[0], table_path, "check")
    return table_path


_RESULTS: dict[str, dict] = {}


def _report(benchmark, record_property, figures: dict) -> None:
    for name, value in figures.items():
        record_property(name, value)
        benchmark.extra_info[name] = value
    print(json.dumps(figures))


@pytest.mark.benchmark(group="nb101 official file: import (whole subprocess)")
@pytest.mark.parametrize("way", ["check", "no-check", "official"])
def test_import(benchmark, way, official_file, table_path, tmp_path, record_property):
    """This importer with and without the hash check, and the official API's way."""
    path, n = official_file
    out = table_path if way == "check" else tmp_path / "t.h5"
    mode = "official" if way == "official" else "import"
    out.unlink(missing_ok=True)  # the fixture's table is written again by the timed run
    figures = benchmark.pedantic(_child, args=(mode, path, out, way), rounds=1, iterations=1)
    assert figures["cells"] == n
    _RESULTS[way] = figures
    _report(benchmark, record_property, figures)


@pytest.mark.benchmark(group="nb101 official table: open")
def test_open(benchmark, imported):
    out = imported

    def open_table():
        bench = nasbench_suite.open_benchmark(out)
        bench.close()

    benchmark(open_table)


@pytest.mark.benchmark(group="nb101 official table: single query")
def test_single_query(benchmark, imported):
    out = imported
    bench = nasbench_suite.open_benchmark(out)
    keys = bench.table.keys
    cycle = itertools.cycle(keys[:: max(1, len(keys) // 2000)])
    bench.query(keys[0], dataset="cifar10@108", seed=0)
    assert benchmark(lambda: bench.query(next(cycle), dataset="cifar10@108", seed=0)).cost_s > 0
    bench.close()
