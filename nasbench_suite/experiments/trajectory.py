"""Trajectories on disk: one Parquet file of many runs.

Each row is one finished evaluation of one run: the run's identity (``run``, its
index in the file, then strategy, dataset, seed, workers, bench) and the runner's columns (``runner.COLUMNS``:
simulated time, arch, observed value, cost, incumbent, its report value,
regret). The file's schema metadata holds, under ``nasbench_suite.runs``, the
provenance of the sweep (version, commit, command, libraries, machine, benchmark
kind and checksum) and a JSON list with each run's config, status, message, summary
and benchmark checksum, so runs that were not
applicable (no rows) are recorded too and a file can be re-summarised without
re-running anything.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.errors import NasbenchError
from nasbench_suite.experiments.config import RunConfig
from nasbench_suite.experiments.runner import COLUMNS, RunResult

if TYPE_CHECKING:
    import pandas as pd

METADATA_KEY = b"nasbench_suite.runs"
FORMAT = "nasbench-suite-runs"
FORMAT_VERSION = 1
ID_COLUMNS = ("run", "strategy", "dataset", "seed", "workers", "bench")


class RunsFileError(NasbenchError, ValueError):
    """A file is not a runs file written by ``write_runs`` (the message says what is wrong)."""


def runs_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """All runs' trajectories as one long DataFrame (identity columns first)."""
    import pandas as pd

    frames = []
    for index, result in enumerate(results):
        if not result.ok:
            continue
        n = len(result.trajectory["eval"])
        c = result.config
        ids = {
            "run": np.full(n, index, dtype=np.int64),
            "strategy": np.full(n, c.strategy, dtype=object),
            "dataset": np.full(n, c.dataset, dtype=object),
            "seed": np.full(n, c.seed, dtype=np.int64),
            "workers": np.full(n, c.workers, dtype=np.int64),
            "bench": np.full(n, c.bench, dtype=object),
        }
        frames.append(pd.DataFrame({**ids, **{k: result.trajectory[k] for k in COLUMNS}}, copy=False))
    if not frames:
        return pd.DataFrame({name: [] for name in (*ID_COLUMNS, *COLUMNS)})
    return pd.concat(frames, ignore_index=True)


def write_runs(
    path: str | Path, results: Sequence[RunResult], provenance: dict[str, Any] | None = None
) -> Path:
    """Write ``results`` to a Parquet file at ``path`` (replaced atomically, a symlink written
    through; :mod:`nasbench_suite._atomic`), with ``provenance``
    (``nasbench_suite.provenance.provenance()`` of the sweep) in its metadata.

    Raises:
        OutputError: ``path`` is a FIFO, a device or a folder, or writing failed.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    _atomic.resolve_output(path)  # refused before the work
    table = pa.Table.from_pandas(runs_frame(results), preserve_index=False)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "provenance": provenance,
        "runs": [
            {
                "config": r.config.to_dict(),
                "status": r.status,
                "message": r.message,
                "summary": {k: _json_float(v) for k, v in r.summary.items()},
                "bench_checksum": r.bench_checksum,
                "rule": r.rule,
            }
            for r in results
        ],
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return _atomic.write_bytes(path, buffer.getbuffer())


def read_runs(path: str | Path) -> tuple[pd.DataFrame, list[RunResult]]:
    """The trajectories frame and the runs (config, status, summary; trajectories from the frame).

    Raises:
        RunsFileError: not a runs file, or one of another format version.
        FileNotFoundError: no such file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        table = pq.read_table(path)
    except pa.ArrowInvalid as exc:
        raise RunsFileError(f"{path}: not a Parquet file ({exc})") from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise RunsFileError(f"{path}: a Parquet file without nasbench-suite run metadata")
    meta = json.loads(raw)
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise RunsFileError(
            f"{path}: format {meta.get('format')!r} v{meta.get('format_version')}, "
            f"this version reads {FORMAT} v{FORMAT_VERSION}"
        )
    frame = table.to_pandas()
    groups = dict(iter(frame.groupby("run", sort=False))) if len(frame) else {}
    results = []
    for index, entry in enumerate(meta["runs"]):
        config = RunConfig.from_dict(entry["config"])
        rows = groups.get(index)
        trajectory: dict[str, Any] = {}
        if rows is not None:
            trajectory = {k: rows[k].to_numpy() for k in COLUMNS if k in rows}
        summary = {k: (math.nan if v is None else v) for k, v in entry["summary"].items()}
        checksum = entry.get("bench_checksum", "")
        results.append(
            RunResult(
                config,
                entry["status"],
                trajectory,
                summary,
                entry["message"],
                checksum,
                entry.get("rule", ""),
            )
        )
    return frame, results


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance recorded in a runs file (None for files written before it was recorded).

    Raises:
        RunsFileError, FileNotFoundError: as :func:`read_runs`.
    """
    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise RunsFileError(f"{path}: a Parquet file without nasbench-suite run metadata")
    return json.loads(raw).get("provenance")


def _json_float(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v
