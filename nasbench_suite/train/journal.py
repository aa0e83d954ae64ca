"""The resumable journal of a training command: one fsync'd JSON line per finished run.

The journal is ``<table>.journal.jsonl`` beside the output table. A run's result
is appended (and flushed to disk) the moment it finishes; the table receives
journal records in batches through ``append_table``, the table's single
crash-safe writer. On a restart the command skips every run already in the
table or the journal, first moves journal records missing from the table into
it, and then trains only what is left. A kill at any instant therefore loses at
most the runs in flight, and never duplicates one: the table holds a run at most
once (its merge refuses duplicates) and the journal is consulted before training.

A kill in the middle of a write can leave a partial last line; it is cut off when
the journal is next opened (that run was not recorded, so it is trained again).
A write that fails (a full disk) is cut off at once and raises
:class:`~nasbench_suite.errors.OutputError` naming the journal and the errno.
One command at a time may write a journal: it holds an exclusive lock on it.
The journal is the one file the project appends to rather than replaces
(:mod:`nasbench_suite._atomic`): a record is durable the moment it is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.train.errors import TrainError

#: Version of the record layout, stored in every line.
JOURNAL_VERSION = 1


class JournalLockedError(TrainError):
    """Another training command is writing the same journal (and table)."""


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON: NaN/inf (a diverged run) become None, numpy scalars Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def journal_path(table: Path) -> Path:
    """The journal that belongs to the output table ``table``."""
    return table.with_name(table.name + ".journal.jsonl")


class Journal:
    """An open journal, locked for this process until :meth:`close`.

    Records are dicts with ``dataset`` (the table's dataset name),
    ``protocol_hash``, ``key`` (the architecture as the table stores it),
    ``arch`` (its text form), ``seed`` and ``result`` (see ``trainer.train_run``).
    """

    def __init__(self, path: Path):
        self.path = path
        _atomic.resolve_output(path)  # a FIFO or a device is refused
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered: a failed write is never retried behind our back by a later flush.
            self._fh = open(path, "a+b", buffering=0)
        except OSError as exc:
            raise _atomic.output_error(path, exc) from None
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise JournalLockedError(f"{path}: another 'nasbench train' is writing this table") from None
        self.records: list[dict[str, Any]] = list(self._read_and_repair())

    def _read_and_repair(self) -> Iterator[dict[str, Any]]:
        self._fh.seek(0)
        data = self._fh.readall()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            # A partial last line: a write was cut by a kill. Drop it, so that the next
            # record starts on a line of its own.
            self._fh.truncate(len(complete))
            self._fsync()
        for number, line in enumerate(complete.decode("utf-8", errors="replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise TrainError(f"{self.path}:{number}: not a JSON record; the journal is damaged") from None
            if not isinstance(record, dict) or record.get("v") != JOURNAL_VERSION:
                raise TrainError(f"{self.path}:{number}: not a journal record of version {JOURNAL_VERSION}")
            yield record

    def append(self, record: dict[str, Any]) -> None:
        """Add one record and make it durable before returning."""
        record = {"v": JOURNAL_VERSION, **record}
        line = (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
        end = self._fh.seek(0, os.SEEK_END)
        try:
            view = memoryview(line)
            while view:
                view = view[self._fh.write(view) :]
            self._fsync()
        except OSError as exc:
            with contextlib.suppress(OSError):  # no partial line stays behind
                self._fh.truncate(end)
            raise _atomic.output_error(self.path, exc, "cannot record a finished run") from None
        self.records.append(record)

    def done(self, dataset: str, protocol_hash: str) -> dict[tuple[str, int], dict[str, Any]]:
        """Records of one dataset and protocol, keyed by (architecture key, seed)."""
        return {
            (r["key"], int(r["seed"])): r
            for r in self.records
            if r["dataset"] == dataset and r["protocol_hash"] == protocol_hash
        }

    def _fsync(self) -> None:
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Release the lock and close the file."""
        if not self._fh.closed:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
