"""Appending 1,000 rows to a ~1 GB table against a ~10 MB one: in parts (format 2) and the old way.

The old way read the whole table, merged the new rows in memory and rewrote the file; an append
in parts writes the new rows past the committed end and commits them in the header. Side by
side in one run:

    python -m pytest tests/benchmarks/test_append_speed.py --benchmark-enable --benchmark-group-by=group

The tables are synthetic (random curves, 3 seeds x 200 epochs x 4 curve metrics, about 22 KB a
row: 46,000 rows ~ 1 GB, 460 rows ~ 10 MB), generated once per session into a temporary
folder and stored uncompressed, so that making them, and rewriting them the old way, costs
seconds rather than minutes of gzip; that flatters the old way, which would compress them.
In the fast suite (``--benchmark-disable``) each case runs once on tables of 200 and 20 rows.

``test_sigkill_during_append_to_a_large_table`` kills appenders of the ~1 GB table at random
instants (minutes; set ``NASBENCH_KILL_LARGE=1``); tests/test_table_kill.py is its fast version.
Figures go to docs/performance.md.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import textwrap
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from nasbench_suite.tabular import Table, append_table, merge_tables, read_table, write_table, writer
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData
from tests.support import REPO
from tests.test_table_kill import run_kill_trials

#: ``NASBENCH_APPEND_SCALE=0.1`` scales both tables down tenfold (~1 MB and ~100 MB), for a
#: machine too busy for the full run; the block of 1,000 rows stays.
SCALE = float(os.environ.get("NASBENCH_APPEND_SCALE", "1"))
ROWS = {"10MB": max(1, round(460 * SCALE)), "1GB": max(1, round(46_000 * SCALE))}
FAST_ROWS = {"10MB": 20, "1GB": 200}
BLOCK, FAST_BLOCK = 1_000, 50
EPOCHS, FAST_EPOCHS = 200, 10
CURVES = ("valid_acc", "valid_loss", "train_loss", "epoch_train_time_s")
LENGTH, CHOICES = 12, 4  # a test-chain space of 16.7 M archs: keys never run out

_BASES: dict[tuple[str, bool], tuple[Path, int]] = {}


def _key(i: int) -> str:
    return "-".join(str((i // CHOICES**d) % CHOICES) for d in reversed(range(LENGTH)))


def curves_table(n: int, offset: int, epochs: int, seed: int) -> TableData:
    """``n`` archs from ``offset`` on, every run present, random per-seed values and curves."""
    rng = np.random.default_rng(seed)
    ds = DatasetData(
        seeds=np.arange(3, dtype=np.int64),
        present=np.ones((n, 3), dtype=bool),
        epochs=np.arange(1, epochs + 1, dtype=np.int64),
        per_seed={"valid_acc": rng.uniform(50, 95, (n, 3)), "train_time_s": rng.uniform(100, 1e3, (n, 3))},
        curves={m: rng.random((n, 3, epochs)) for m in CURVES},
        per_arch={"params_m": rng.uniform(0.1, 1.5, n)},
        metrics={m: MetricInfo("1", m) for m in (*CURVES, "train_time_s", "params_m")},
        protocol={"epochs": epochs},
        provenance={"source": "synthetic", "time_hardware": "none"},
    )
    keys = [_key(i) for i in range(offset, offset + n)]
    config = {"length": LENGTH, "choices": CHOICES}
    return TableData(space="test-chain", space_config=config, keys=keys, datasets={"toy": ds})


@contextlib.contextmanager
def uncompressed():
    """Whole writes store every array contiguous and uncompressed (see the module's docstring)."""
    with mock.patch.object(writer, "_storage", lambda arr: {}):
        yield


def base_table(size: str, fast: bool, folder: Path) -> tuple[Path, int]:
    """The table of ``size``, made once per session: its path and number of rows."""
    if (size, fast) not in _BASES:
        n = (FAST_ROWS if fast else ROWS)[size]
        path = folder / f"base-{size}-{'fast' if fast else 'full'}.h5"
        with uncompressed():
            write_table(path, curves_table(n, 0, FAST_EPOCHS if fast else EPOCHS, seed=0))
        _BASES[size, fast] = (path, n)
    return _BASES[size, fast]


@pytest.fixture(scope="session")
def bases_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("append-bases")


def _rewrite_append(path: Path, new: TableData) -> None:
    """The old append: read everything, merge in memory, write the whole file anew."""
    with uncompressed():
        write_table(path, merge_tables(read_table(path), new), overwrite=True)


@pytest.mark.parametrize("size", ["10MB", "1GB"])
@pytest.mark.parametrize("way", ["parts", "rewrite"])
@pytest.mark.benchmark(group="append 1,000 rows")
def test_append(benchmark, bases_folder, tmp_path, size, way):
    fast = benchmark.disabled
    base, n = base_table(size, fast, bases_folder)
    path = tmp_path / "t.h5"
    block, epochs = (FAST_BLOCK, FAST_EPOCHS) if fast else (BLOCK, EPOCHS)
    counter = itertools.count()

    def setup():
        # Every round appends to a fresh copy of the base table, so each appends to a table of
        # the size named (the copy and the new rows' making are not timed). The copy is flushed
        # to disk first: otherwise the append's fsync would also write the copy's dirty pages,
        # a gigabyte for the large table, and time the copy rather than the append.
        shutil.copyfile(base, path)
        with open(path, "rb+") as f:
            os.fsync(f.fileno())
        return (curves_table(block, n, epochs, seed=1 + next(counter)),), {}

    append = append_table if way == "parts" else _rewrite_append
    rounds = 1 if fast else int(os.environ.get("NASBENCH_APPEND_ROUNDS", "5"))
    benchmark.pedantic(lambda new: append(path, new), setup=setup, rounds=rounds, iterations=1)
    with Table(path) as table:
        assert table.n_archs == n + block
        assert table.n_parts == (2 if way == "parts" else 1)


APPENDER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {repo!r})
    from nasbench_suite.tabular import append_table
    from tests.benchmarks.test_append_speed import BLOCK, EPOCHS, curves_table
    path, n = sys.argv[1], {n}
    print("ready", flush=True)
    for i in range({appends}):
        append_table(path, curves_table(BLOCK, n + i * BLOCK, EPOCHS, seed=1000 + i))
    print("done", flush=True)
    """
)


@pytest.mark.skipif(
    not os.environ.get("NASBENCH_KILL_LARGE"),
    reason="kills appenders of a ~1 GB table (minutes); set NASBENCH_KILL_LARGE=1 to run it",
)
def test_sigkill_during_append_to_a_large_table(bases_folder, tmp_path):
    base, n = base_table("1GB", False, bases_folder)
    path = tmp_path / "t.h5"
    appends = 5
    script = tmp_path / "appender.py"
    script.write_text(APPENDER.format(repo=str(REPO), n=n, appends=appends))

    def reset() -> None:
        shutil.copyfile(base, path)

    def check(path: Path, rows: int) -> None:
        done, rest = divmod(rows - n, BLOCK)
        assert rest == 0 and 0 <= done <= appends, f"partial append ({rows} rows)"
        if done:  # the last block whole; verify_table has checked every other byte
            want = curves_table(BLOCK, n + (done - 1) * BLOCK, EPOCHS, seed=1000 + done - 1)
            with Table(path) as table:
                assert table.keys[-BLOCK:] == want.keys
                for m in CURVES:
                    got = table.metric("toy", m, "curves", cache=False)[-BLOCK:]
                    np.testing.assert_array_equal(got, want.datasets["toy"].curves[m])

    # A busy machine may give the appender little CPU: wait long for its first bytes.
    killed_mid_write = run_kill_trials(
        path, script, reset, check, trials=6, max_wait_s=2.0, growth_timeout_s=600.0
    )
    print(f"{killed_mid_write} of 6 kills landed while a part was being written")
    assert killed_mid_write >= 1
