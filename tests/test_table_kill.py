"""Crash safety: SIGKILL an appending process at random instants; the table must survive.

After every kill the table opens, verifies, and holds exactly the content of one
of the states the appender went through (never a partial append). An append to a
format-2 table writes its part past the committed end of the file, so a kill mid-write
shows as bytes past that end (cut off by the next writer). ``run_kill_trials`` is shared
with the large-table version in tests/benchmarks/test_append_speed.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from nasbench_suite.tabular import Table, append_table, merge_tables, read_table, verify_table, write_table
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


def _committed_end(path) -> int:
    with Table(path) as table:
        return table.commit.end


def _wait_for_growth(path, size: int, proc, timeout_s: float = 10.0) -> None:
    """Return as soon as the writer has written past ``size`` bytes (or has ended)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if os.stat(path).st_size > size:
            return
        time.sleep(0.0002)


def run_kill_trials(
    path, script, reset, check, trials: int, max_wait_s: float, growth_timeout_s: float = 10.0
) -> int:
    """Kill the appender ``script`` ``trials`` times, each after ``reset()`` put the table at
    ``path`` back to its first state; after each kill the table must verify and
    ``check(path, n_archs)`` must accept its content as one the appender went through. Returns
    the kills that landed mid-write (bytes past the committed end)."""
    rng = np.random.default_rng(2024)
    killed_mid_write = 0
    for trial in range(trials):
        reset()
        size = os.stat(path).st_size
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        assert proc.stdout.readline().strip() == "ready"
        if trial % 2:
            time.sleep(float(rng.uniform(0.0, max_wait_s)))
        else:
            _wait_for_growth(path, size, proc, growth_timeout_s)  # half land while a part is written
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_mid_write += os.stat(path).st_size > _committed_end(path)
        assert verify_table(path) == [], f"trial {trial}: table corrupt after SIGKILL"
        with Table(path) as table:
            n = table.n_archs
        check(path, n)
    return killed_mid_write


def _same_content(got, want) -> None:
    assert got.keys == want.keys
    for m, values in want.datasets["toy"].curves.items():
        np.testing.assert_array_equal(got.datasets["toy"].curves[m], values)
    for m, values in want.datasets["toy"].per_seed.items():
        np.testing.assert_array_equal(got.datasets["toy"].per_seed[m], values)


def test_sigkill_during_append_leaves_a_sound_table(tmp_path):
    path = tmp_path / "t.h5"
    states = {1: expected_state(1), 41: expected_state(41), 81: expected_state(81)}
    script = tmp_path / "appender.py"
    script.write_text(APPENDER)

    def reset() -> None:
        write_table(path, states[1], overwrite=True)

    def check(path, n: int) -> None:
        assert n in states, f"partial append ({n} archs)"
        _same_content(read_table(path), states[n])

    killed_mid_write = run_kill_trials(path, script, reset, check, 20, 0.15)
    # The kills must have hit the writer while it was writing, or the test proves nothing.
    print(f"{killed_mid_write} of 20 kills landed while a part was being written")
    assert killed_mid_write >= 1
    # What the killed writers left past the end is cut off by the next append.
    before = _committed_end(path)
    n = read_table(path).n_archs
    append_table(path, synthetic_table(n_archs=1, offset=n, epochs=EPOCHS, seed=99))
    with Table(path) as table:
        assert os.stat(path).st_size == table.commit.end > before
    assert verify_table(path) == []
