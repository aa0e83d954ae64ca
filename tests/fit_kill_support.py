"""SIGKILL ``fit_surrogate(..., overwrite=True)`` over an existing artefact, at a chosen step of the
replacement or at a random instant, and check what is left: the old or the new artefact loads.

The fitting runs in a child process (:data:`FITTER`). A named kill point makes the child SIGKILL
itself there, by wrapping a function of :mod:`nasbench_suite._atomic` in the child only:

- ``staging``: while the staging folder is flushed (the new artefact is not complete);
- ``swap``: just before the swap (the new artefact is complete beside the old one);
- ``swapped``: just after the swap, before the old content is removed;
- ``removing``: while the old content is being removed (part of it gone);
- ``aside``: the rename-aside fallback, between its two renames (the target is missing until the
  next writer puts the old one back);
- ``none``: no kill point (the parent kills at a random instant, or not at all).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from nasbench_suite import _atomic
from nasbench_suite.bench import open_benchmark
from nasbench_suite.surrogates import artefact
from tests.support import REPO

SMALL = {"n_estimators": 10, "max_depth": 3}

FITTER = textwrap.dedent(
    f"""
    import os, shutil, signal, sys
    sys.path.insert(0, {str(REPO)!r})
    import tests.support  # registers the toy space
    from nasbench_suite import _atomic
    from nasbench_suite.surrogates.fitting import fit_surrogate

    table, out, description, point = sys.argv[1:5]
    _atomic.USE_EXCHANGE = point != "aside"

    def die(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def after(function, then):
        def wrapped(*args, **kwargs):
            result = function(*args, **kwargs)
            then()
            return result
        return wrapped

    if point == "staging":
        _atomic._fsync_tree = die
    elif point == "swap":
        _atomic._swap_in = die
    elif point == "swapped":
        _atomic._exchange = after(_atomic._exchange, die)
    elif point == "removing":
        swapped, rmtree = [], shutil.rmtree
        _atomic._exchange = after(_atomic._exchange, lambda: swapped.append(True))

        def remove_one_then_die(path, *args, **kwargs):
            if not swapped:  # leftovers of earlier kills, removed before the fit
                return rmtree(path, *args, **kwargs)
            sorted(p for p in path.rglob("*") if p.is_file())[0].unlink()
            die()

        _atomic.shutil.rmtree = remove_one_then_die
    elif point == "aside":
        rename = os.rename

        def rename_then_die(a, b):  # the first rename of the fallback puts the old one aside
            rename(a, b)
            die()

        _atomic.os.rename = rename_then_die
    print("ready", flush=True)
    fit_surrogate(table, out, params={SMALL!r}, cv_folds=0, overwrite=True, description=description)
    print("done", flush=True)
    """
)


def start_fit(script: Path, table: Path, out: Path, description: str, point: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(script), str(table), str(out), description, point],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def finish(proc: subprocess.Popen, kill: bool = False) -> int:
    if kill and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    code = proc.wait()
    proc.stdout.close()
    return code


def loaded_description(out: Path, key: str) -> str:
    """The artefact at ``out`` opened and queried (every model file checked); its description."""
    bench = open_benchmark(out)
    bench.query(key, dataset="toy", seed="mean")
    return artefact.read_manifest(out)["description"]


def litter(out: Path) -> list[str]:
    """What lies beside ``out`` other than ``out`` itself (staging and aside folders)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def put_back(out: Path) -> None:
    """What the next writer of ``out`` does first (a fallback kill between renames)."""
    _atomic.recover(out)
