"""``nasbench train --workers 2`` killed with SIGKILL: its worker processes and multiprocessing's
helpers end with it (nothing of its session keeps running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import REPO

pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

TINY = ["--space", "nb201", "--dataset", "synthetic", "--data", "synthetic:60", "--protocol", "nb201-tiny"]


def running_in_session(sid: int) -> list[str]:
    """``pid state command`` of every process of session ``sid`` that is not a zombie."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        comm = text[text.index("(") + 1 : text.rindex(")")]
        state, _ppid, _pgrp, session = text[text.rindex(")") + 2 :].split()[:4]
        if int(session) == sid and state != "Z":
            found.append(f"{entry.name} {state} {comm}")
    return found


def test_workers_end_when_the_training_command_is_killed(tmp_path):
    table = tmp_path / "t.h5"
    cmd = [sys.executable, "-m", "nasbench_suite.cli", "train", *TINY, "--archs", "sample:8"]
    cmd += ["--seeds", "1,2", "--workers", "2", "--threads", "1", "-o", str(table)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    sid = proc.pid
    try:
        # Kill once the command, the resource tracker and both workers run (the workers may
        # still be starting: one that had not started its watch yet must end too).
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if len(running_in_session(sid)) >= 4:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 60  # a bound for a hang, not a measured time
        while running_in_session(sid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running_in_session(sid) == []
    finally:
        for line in running_in_session(sid):
            os.kill(int(line.split()[0]), signal.SIGKILL)
        proc.stderr.close()
