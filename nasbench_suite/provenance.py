"""Provenance of a report: which code made it, how it was called, on what machine, from which benchmark.

One record, built here for every written report (leaderboards in Markdown, HTML and PNG,
trajectory files, surrogate evaluation reports, fitted artefacts and their model cards):

- ``version``: the nasbench-suite version;
- ``commit``: the git commit of the checkout the package runs from, with ``+ changes`` when
  its ``nasbench_suite/`` has uncommitted changes; ``"unknown"`` for an installed copy;
- ``command``: the command line (``nasbench ...`` as the CLI recorded it, else ``sys.argv``);
- ``extras``: the optional extras whose library is installed (``torch``, ``ray``);
- ``libraries``: the versions of the libraries results depend on (``"not installed"``);
- ``python`` and ``machine``;
- ``benchmark``: what answered (``kind`` table or surrogate, ``source``, ``checksum``), as the
  caller passes it (``Benchmark.identity()``); this floor knows no benchmark.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Libraries whose versions a report records, in this order.
LIBRARIES = (
    "numpy",
    "scipy",
    "pandas",
    "h5py",
    "pyarrow",
    "scikit-learn",
    "xgboost",
    "matplotlib",
    "optuna",
    "torch",
    "ray",
)
#: Optional extras of the package, by the library each one installs.
EXTRAS = {"torch": "torch", "ray": "ray"}
UNKNOWN = "unknown"

_command: list[str] | None = None


def record_command(argv: Sequence[str]) -> None:
    """Remember the command line of this process (the CLI calls it with ``["nasbench", *args]``)."""
    global _command
    _command = [str(a) for a in argv]


def command_line() -> str:
    """The recorded command line, else this process's ``sys.argv`` (program by its file name)."""
    argv = _command if _command is not None else [Path(sys.argv[0]).name if sys.argv else "", *sys.argv[1:]]
    return shlex.join(argv)


def machine_description() -> str:
    """A short description of this machine for reports (OS, architecture, CPU count)."""
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {platform.machine()} ({cpu}), {os.cpu_count()} CPUs"


#: Distributions that install a library's module under another name (the CPU-only XGBoost wheel).
ALTERNATIVE_DISTRIBUTIONS = {"xgboost": ("xgboost", "xgboost-cpu")}


def installed_version(name: str) -> str:
    """The installed version of library ``name`` under any distribution that provides it.

    Raises:
        importlib.metadata.PackageNotFoundError: none is installed.
    """
    for dist in ALTERNATIVE_DISTRIBUTIONS.get(name, (name,)):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    raise importlib.metadata.PackageNotFoundError(name)


def library_versions() -> dict[str, str]:
    """Installed version of each of :data:`LIBRARIES` (``"not installed"`` otherwise); nothing is imported."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = installed_version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the git checkout holding this package, or ``"unknown"``.

    Only a checkout whose top level holds this very ``nasbench_suite/`` (tracked by git)
    counts: an installed copy inside some other repository (a virtual environment in a
    checkout) is not that repository's code.
    """
    package = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(package), *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        top = Path(git("rev-parse", "--show-toplevel")).resolve()
        if top / "nasbench_suite" != package or not git("ls-files", "--", str(package)):
            return UNKNOWN
        commit = git("rev-parse", "--short=12", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", str(package))
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return f"{commit} + changes" if changed else commit


def provenance(benchmark: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The provenance record of a report made now (see the module docstring).

    Args:
        benchmark: ``Benchmark.identity()`` of what answered (kind, source, checksum), or None
            for a report that used no benchmark.
    """
    from nasbench_suite._version import __version__

    libraries = library_versions()
    return {
        "version": __version__,
        "commit": git_commit(),
        "command": command_line(),
        "extras": sorted(
            e for e, lib in EXTRAS.items() if libraries.get(lib, "not installed") != "not installed"
        ),
        "libraries": libraries,
        "python": platform.python_version(),
        "machine": machine_description(),
        "benchmark": dict(benchmark) if benchmark is not None else None,
    }


def provenance_lines(record: Mapping[str, Any]) -> list[str]:
    """``record`` as short lines of text for a report (Markdown list items, HTML, PNG metadata)."""
    libraries = ", ".join(f"{k} {v}" for k, v in record.get("libraries", {}).items() if v != "not installed")
    lines = [
        f"nasbench-suite {record.get('version', UNKNOWN)}, commit {record.get('commit', UNKNOWN)}",
        f"command: `{record.get('command', UNKNOWN)}`",
        f"extras installed: {', '.join(record.get('extras') or []) or 'none'}; libraries: {libraries}",
        f"Python {record.get('python', UNKNOWN)} on {record.get('machine', UNKNOWN)}",
    ]
    bench = record.get("benchmark")
    if bench:
        lines.append(
            f"benchmark `{bench.get('source', UNKNOWN)}` ({bench.get('kind', UNKNOWN)}), "
            f"checksum `{bench.get('checksum', UNKNOWN)}`"
        )
    return lines


def png_metadata(record: Mapping[str, Any] | None) -> dict[str, str]:
    """PNG text chunks of a plot: ``Software`` (version and commit), ``Source`` (the benchmark)
    and ``Comment`` (the whole record as JSON); ``"not recorded"`` without a record."""
    if not record:
        return {"Software": "nasbench-suite", "Comment": "provenance not recorded"}
    version, commit = record.get("version", UNKNOWN), record.get("commit", UNKNOWN)
    return {
        "Software": f"nasbench-suite {version} (commit {commit})",
        "Source": json.dumps(record.get("benchmark"), sort_keys=True),
        "Comment": json.dumps(record, sort_keys=True),
    }
