"""The trainer end to end on a tiny protocol: train, journal, table, query; resume; Ray."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.cli import main
from nasbench_suite.tabular import Table
from nasbench_suite.train.errors import TrainConfigError
from nasbench_suite.train.journal import Journal, journal_path
from nasbench_suite.train.protocols import load_protocol
from tests.support import REPO

torch = pytest.importorskip("torch")

TINY = ["--space", "nb201", "--dataset", "synthetic", "--data", "synthetic:100", "--protocol", "nb201-tiny"]
DATASET = "synthetic@nb201-tiny"


@pytest.fixture(autouse=True)
def _one_thread(torch_one_thread):
    """One torch thread, restored afterwards (conftest.torch_one_thread)."""


def _train(table: Path, archs: str, seeds: str, *extra: str) -> int:
    return main(
        ["train", *TINY, "--archs", archs, "--seeds", seeds, "-o", str(table), "--threads", "1", *extra]
    )


def _runs(table: Path) -> set[tuple[str, int]]:
    with Table(table) as t:
        present = t.present(DATASET)
        seeds = t.dataset(DATASET).seeds
        return {(t.keys[i], int(seeds[j])) for i, j in zip(*np.nonzero(present))}


def test_train_journal_table_query_and_skip(tmp_path: Path, capsys):
    table = tmp_path / "t.h5"
    assert _train(table, "sample:2", "1,2", "--flush-every", "3", "--deterministic") == 0
    assert "4 runs trained" in capsys.readouterr().out
    assert len(_runs(table)) == 4
    with Journal(journal_path(table)) as journal:
        records = journal.records
    assert len(records) == 4

    from nasbench_suite import open_benchmark

    key = records[0]["key"]
    with Table(table) as t:
        info = t.dataset(DATASET)
        assert info.protocol["hash"] == load_protocol("nb201-tiny").hash
        assert list(info.epochs) == [1, 2]
        hw = int(t.metric(DATASET, "hardware_id")[t.row_of[key], 0])
        assert "torch" in t.manifest["static_provenance"][f"trainer_hardware/{hw}"]
        params = t.metric(DATASET, "params_m")[t.row_of[key]]
    result = open_benchmark(table).query(key, dataset=DATASET, seed=records[0]["seed"])
    assert 0 <= result.metrics["valid_acc"] <= 100
    assert params > 0

    # A rerun with more archs and seeds trains only what is missing.
    assert _train(table, "sample:3", "1,2") == 0
    assert "2 runs trained, 4 already done" in capsys.readouterr().out
    assert len(_runs(table)) == 6


def test_deterministic_cpu_runs_repeat_exactly(tmp_path: Path):
    for name in ("a.h5", "b.h5"):
        assert _train(tmp_path / name, "sample:1", "5", "--deterministic") == 0
    with Table(tmp_path / "a.h5") as a, Table(tmp_path / "b.h5") as b:
        for metric in ("valid_acc", "train_loss", "test_loss"):
            np.testing.assert_array_equal(a.metric(DATASET, metric), b.metric(DATASET, metric))


def test_journal_records_missing_from_the_table_are_recovered(tmp_path: Path, capsys):
    table = tmp_path / "t.h5"
    assert _train(table, "sample:2", "1") == 0
    # Simulate a kill after journaling but before the table append: drop the table, and
    # cut the journal's last line in half, as a kill during a write would.
    jpath = journal_path(table)
    lines = jpath.read_text().splitlines(keepends=True)
    table.unlink()
    jpath.write_text(lines[0] + lines[1][: len(lines[1]) // 2])
    capsys.readouterr()
    assert _train(table, "sample:2", "1") == 0
    assert "1 runs trained, 1 already done (1 moved from the journal)" in capsys.readouterr().out
    assert len(_runs(table)) == 2
    assert len(jpath.read_text().splitlines()) == 2


def test_another_protocol_for_the_same_table_dataset_is_refused(tmp_path: Path, capsys):
    table = tmp_path / "t.h5"
    assert _train(table, "sample:1", "1") == 0
    other = tmp_path / "p.json"
    obj = load_protocol("nb201-tiny").to_dict()
    obj.pop("hash")
    other.write_text(json.dumps({**obj, "epochs": 1}))
    args = [
        "train",
        *TINY[:-1],
        str(other),
        "--archs",
        "sample:1",
        "-o",
        str(table),
        "--table-dataset",
        DATASET,
    ]
    assert main(args) == 2
    assert "protocol hash" in capsys.readouterr().err


def test_bad_arguments_are_one_line_errors(tmp_path: Path, capsys):
    assert _train(tmp_path / "t.h5", "sample:x", "1") == 2
    assert "sample:N" in capsys.readouterr().err
    assert _train(tmp_path / "t.h5", "sample:1", "a,b") == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["train", *TINY[:-1], "nope", "--archs", "all", "-o", str(tmp_path / "t.h5")]) == 2
    assert "unknown protocol" in capsys.readouterr().err
    out = ["--protocol", "nb201-tiny", "--archs", "sample:1", "-o", str(tmp_path / "t.h5")]
    assert main(["train", "--space", "nb201", "--dataset", "cifar10", "--data", "synthetic", *out]) == 2
    assert "synthetic data goes with --dataset synthetic" in capsys.readouterr().err
    assert (
        main(["train", "--space", "nb201", "--dataset", "cifar10", "--data", str(tmp_path / "no"), *out]) == 2
    )
    assert "no such file" in capsys.readouterr().err
    archs = tmp_path / "archs.txt"
    archs.write_text("# one arch\n|none~0|+|none~0|none~1|+|none~0|none~1|bad~2|\n")
    assert _train(tmp_path / "t.h5", str(archs), "1") == 2
    assert "bad" in capsys.readouterr().err


def test_kill_and_resume_loses_nothing_and_duplicates_nothing(tmp_path: Path):
    """SIGKILL a training command at several instants, rerun it to completion: every run once."""
    table = tmp_path / "t.h5"
    archs = tmp_path / "archs.txt"
    space = spaces.get("nb201")
    keys = [space.key(a) for a in (space.sample(np.random.default_rng(s)) for s in range(40))]
    keys = list(dict.fromkeys(keys))[:6]
    archs.write_text("\n".join(keys) + "\n")
    cmd = [
        sys.executable,
        "-m",
        "nasbench_suite.cli",
        "train",
        *TINY,
        "--archs",
        str(archs),
        "--seeds",
        "1,2",
    ]
    cmd += ["-o", str(table), "--threads", "1", "--flush-every", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    jpath = journal_path(table)
    killed = 0
    for kills in range(2):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Kill after a different number of journaled runs each time (mid-run, mid-flush).
        target = 1 + 3 * kills + (len(jpath.read_text().splitlines()) if jpath.exists() else 0)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if jpath.exists() and len(jpath.read_text().splitlines()) >= target:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
    assert killed == 2
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _runs(table) == {(k, s) for k in keys for s in (1, 2)}
    lines = [json.loads(line) for line in jpath.read_text().splitlines()]
    assert len({(r["key"], r["seed"]) for r in lines}) == len(lines) == 12


def test_worker_processes(tmp_path: Path, capsys):
    table = tmp_path / "t.h5"
    assert _train(table, "sample:2", "1", "--workers", "2") == 0
    assert "2 runs trained" in capsys.readouterr().out
    assert len(_runs(table)) == 2


def test_ray_executor_on_a_local_instance(tmp_path: Path, environment_restored):
    ray = pytest.importorskip("ray")
    from nasbench_suite.train.jobs import TrainSettings, parse_archs, train_to_table
    from nasbench_suite.train.ray_jobs import RayExecutor

    settings = TrainSettings(
        space="nb201",
        dataset="synthetic",
        data_source="synthetic:50",
        protocol=load_protocol("nb201-tiny").to_dict(),
        threads=1,
    )
    archs = parse_archs("sample:2", "nb201")
    executor = RayExecutor(init_options={"num_cpus": 1, "num_gpus": 0}, max_retries=1)
    table = tmp_path / "t.h5"
    # Runs that fail inside their task (here: a data source the worker rejects) are retried by
    # Ray, then reported; nothing reaches the journal or the table, so a rerun trains them.
    broken = dataclasses.replace(settings, data_source="synthetic:5")
    try:
        failed = train_to_table(table, broken, archs, [1], executor, DATASET)
        summary = train_to_table(table, settings, archs, [1], executor, DATASET)
    finally:
        ray.shutdown()
    assert failed.trained == 0 and len(failed.failures) == 2
    assert all("synthetic:N" in message for _, message in failed.failures)
    assert (summary.trained, summary.skipped, summary.failures) == (2, 0, [])
    assert len(_runs(table)) == 2


def test_parse_archs_and_errors(tmp_path: Path):
    from nasbench_suite.train.jobs import parse_archs

    assert len(parse_archs("all", "nb201")) == 15_625
    assert parse_archs("sample:5", "nb201", seed=3) == parse_archs("sample:5", "nb201", seed=3)
    assert len(set(parse_archs("sample:50", "nb201"))) == 50
    with pytest.raises(TrainConfigError):
        parse_archs(str(tmp_path / "missing.txt"), "nb201")


def test_nb101_cells_train_into_a_table_keyed_by_graph_hash(tmp_path: Path, capsys):
    """NB101 keys are graph hashes, from which no cell can be rebuilt: jobs carry the text form."""
    protocol = load_protocol("nb201-tiny").to_dict()
    protocol.pop("hash")
    protocol.update(name="nb101-tiny", network={"stem_channels": 4, "modules_per_stack": 1, "input_size": 8})
    path = tmp_path / "nb101-tiny.json"
    path.write_text(json.dumps(protocol))
    table = tmp_path / "t.h5"
    args = ["train", "--space", "nb101", "--dataset", "synthetic", "--data", "synthetic:40", "--protocol"]
    args += [str(path), "--archs", "sample:2", "--seeds", "3", "-o", str(table), "--threads", "1"]
    assert main(args) == 0
    assert "2 runs trained" in capsys.readouterr().out
    from nasbench_suite import open_benchmark
    from nasbench_suite.train.jobs import parse_archs

    space = spaces.get("nb101")
    keys = [space.key(space.parse(text)) for text in parse_archs("sample:2", "nb101")]
    with open_benchmark(table) as bench:
        frame = bench.query_batch(keys, "synthetic@nb101-tiny", seed=3, metrics=["valid_acc", "params_m"])
    assert list(frame.arch) == keys and (frame.params_m > 0).all()
    assert main(args) == 0
    assert "0 runs trained, 2 already done" in capsys.readouterr().out


def test_one_thread_cpu_runs_are_timed_by_cpu_time_and_others_by_the_wall_clock():
    from nasbench_suite.train.trainer import _run_clock

    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert _run_clock(torch.device("cpu")) is time.process_time
        torch.set_num_threads(2)
        assert _run_clock(torch.device("cpu")) is time.perf_counter
        assert _run_clock(torch.device("cuda")) is time.perf_counter
    finally:
        torch.set_num_threads(previous)
