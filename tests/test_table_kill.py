"""Crash safety: SIGKILL an appending process at random instants; the table must survive.

After every kill the table opens, verifies, and holds exactly the content of one
of the states the appender went through (never a partial append).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from nasbench_suite.tabular import merge_tables, read_table, verify_table, write_table
from tests.support import REPO, synthetic_table

BLOCK = 40  # archs added by one append
EPOCHS = 1500  # long curves make each append take long enough to be hit mid-write

APPENDER = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, {str(REPO)!r})
    from nasbench_suite.tabular import append_table, read_table
    from tests.support import synthetic_table
    path = sys.argv[1]
    n = len(read_table(path).keys)
    print("ready", flush=True)
    while n + {BLOCK} <= 81:
        append_table(path, synthetic_table(n_archs={BLOCK}, offset=n, epochs={EPOCHS}, seed=n))
        n += {BLOCK}
    print("done", flush=True)
    """
)


def expected_state(n_archs: int):
    """The content after the appends that reached ``n_archs`` architectures."""
    data = synthetic_table(n_archs=1, epochs=EPOCHS, seed=0)
    n = 1
    while n < n_archs:
        data = merge_tables(data, synthetic_table(n_archs=BLOCK, offset=n, epochs=EPOCHS, seed=n))
        n += BLOCK
    return data


def _wait_for_temporary(folder, path, proc, timeout_s: float = 10.0) -> None:
    """Return as soon as the writer's temporary file exists (or the writer has ended)."""
    prefix = f".{path.name}.tmp-"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if any(entry.name.startswith(prefix) for entry in os.scandir(folder)):
            return
        time.sleep(0.0002)


def test_sigkill_during_append_leaves_a_sound_table(tmp_path):
    path = tmp_path / "t.h5"
    states = {1: expected_state(1), 41: expected_state(41), 81: expected_state(81)}
    rng = np.random.default_rng(2024)
    script = tmp_path / "appender.py"
    script.write_text(APPENDER)
    killed_mid_write = 0
    for trial in range(20):
        write_table(path, states[1], overwrite=True)
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        assert proc.stdout.readline().strip() == "ready"
        if trial % 2:
            time.sleep(float(rng.uniform(0.0, 0.15)))
        else:
            # The table is built in memory and its bytes written at the end, so the window
            # with a temporary file on disk is short: half the kills wait for it to appear.
            _wait_for_temporary(tmp_path, path, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stale = list(tmp_path.glob(f".{path.name}.tmp-*"))
        killed_mid_write += bool(stale)

        assert verify_table(path) == [], f"trial {trial}: table corrupt after SIGKILL"
        got = read_table(path)
        assert len(got.keys) in states, f"trial {trial}: partial append ({len(got.keys)} archs)"
        want = states[len(got.keys)]
        assert got.keys == want.keys
        for m, values in want.datasets["toy"].curves.items():
            np.testing.assert_array_equal(got.datasets["toy"].curves[m], values)
        for m, values in want.datasets["toy"].per_seed.items():
            np.testing.assert_array_equal(got.datasets["toy"].per_seed[m], values)
        for tmp in stale:
            os.unlink(tmp)
    # The kills must have hit the writer while it was writing, or the test proves nothing.
    print(f"{killed_mid_write} of 20 kills landed while a temporary file was being written")
    assert killed_mid_write >= 1
