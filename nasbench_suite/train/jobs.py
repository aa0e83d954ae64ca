"""Training many runs into a table: job lists, the coordinator, the local executor.

The coordinator (:func:`train_to_table`) owns the journal and the table: it works
out which (architecture, seed) runs are still to do, hands them to an executor,
journals each result as it arrives and flushes results to the table in batches.
Executors only train: :class:`LocalExecutor` (this process, or a pool of worker
processes, several per GPU so that small networks fill a large GPU) and
``ray_jobs.RayExecutor`` (Ray tasks with fractional GPUs, retried on failure).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from typing import Protocol as TypingProtocol

import numpy as np

from nasbench_suite import _progress, spaces
from nasbench_suite.train import entries
from nasbench_suite.train.errors import TrainConfigError
from nasbench_suite.train.journal import Journal, journal_path, json_safe
from nasbench_suite.train.protocols import Protocol, protocol_from_dict
from nasbench_suite.train.specs import dataset_spec

Job = tuple[str, int]  # (architecture: its key in the table, or its text form for executors; seed)
#: What an executor runs for one job: ``(settings, arch text, seed) -> JSON-able result``. A
#: module-level function, so that it pickles by name into worker processes and Ray tasks.
JobFunction = Callable[[Any, str, int], dict[str, Any]]


@dataclass(frozen=True)
class TrainSettings:
    """What every run of one command shares; JSON-able, so it travels to processes and Ray tasks."""

    space: str
    dataset: str
    data_source: str
    protocol: dict[str, Any]
    device: str = "cpu"
    compile: bool = False
    deterministic: bool = False
    jobs_per_device: int = 1
    threads: int = 0


@dataclass
class TrainSummary:
    """Outcome of :func:`train_to_table`: counts of runs and the failures (job, message)."""

    requested: int
    skipped: int
    trained: int
    recovered: int
    failures: list[tuple[Job, str]] = field(default_factory=list)


class Executor(TypingProtocol):
    """Trains jobs and yields ``(job, result or error message)`` in completion order."""

    def run(
        self, settings: TrainSettings, jobs: Sequence[Job]
    ) -> Iterator[tuple[Job, dict[str, Any] | str]]: ...


def parse_archs(spec: str, space: str, seed: int = 0) -> list[str]:
    """Architectures of ``--archs`` in the space's text form: ``all``, ``sample:N`` (distinct,
    drawn with ``seed``) or a file.

    A file holds one architecture a line in the space's text form; blank lines and
    ``#`` comments are ignored. Duplicates (same key) are dropped, order kept. The
    text form, not the key, is what a job carries: a key may be a hash (NB101) from
    which no network can be built.

    Raises:
        TrainConfigError: a bad spec or unreadable file; MalformedArchError: a bad line.
    """
    sp = spaces.get(space)
    if spec == "all":
        return [sp.format(a) for a in sp.enumerate()]
    if spec.startswith("sample:"):
        count = spec.partition(":")[2]
        if not count.isdigit() or int(count) < 1:
            raise TrainConfigError(f"--archs {spec!r}: expected sample:N with N >= 1")
        rng = np.random.default_rng(seed)
        texts: dict[str, str] = {}
        for _ in range(100 * int(count)):
            arch = sp.sample(rng)
            texts.setdefault(sp.key(arch), sp.format(arch))
            if len(texts) == int(count):
                break
        return list(texts.values())
    path = Path(spec)
    if not path.is_file():
        raise TrainConfigError(f"--archs {spec!r}: expected all, sample:N or an existing file")
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    texts = {}
    for line in filter(None, lines):
        arch = sp.parse(line)
        texts.setdefault(sp.key(arch), sp.format(arch))
    return list(texts.values())


# --- the worker side -----------------------------------------------------------------

_DATA_CACHE: dict[tuple[str, ...], Any] = {}
_WORKER_DEVICE: str | None = None


def run_job(settings: TrainSettings, arch: str, seed: int) -> dict[str, Any]:
    """Train one run of ``arch`` (text form) in the calling process; data is loaded once per process."""
    from nasbench_suite.train.data import load_training_data
    from nasbench_suite.train.trainer import RunOptions, prepare_data, train_run

    protocol = protocol_from_dict(settings.protocol)
    device = _WORKER_DEVICE or settings.device
    spec = dataset_spec(settings.dataset)
    cache_key = (settings.space, settings.dataset, settings.data_source, protocol.hash, device)
    if cache_key not in _DATA_CACHE:
        _DATA_CACHE.clear()  # one dataset per process: a large GPU copy is not kept twice
        raw = load_training_data(settings.dataset, settings.data_source)
        _DATA_CACHE[cache_key] = prepare_data(raw, settings.space, spec, protocol, device)
    options = RunOptions(
        device=device,
        compile=settings.compile,
        deterministic=settings.deterministic,
        jobs_per_device=settings.jobs_per_device,
        threads=settings.threads,
    )
    parsed = spaces.get(settings.space).parse(arch)
    return train_run(settings.space, parsed, spec, seed, protocol, _DATA_CACHE[cache_key], options)


def _init_worker(devices: Any) -> None:
    global _WORKER_DEVICE
    _end_with_parent()
    _WORKER_DEVICE = devices.get()


def _end_with_parent() -> None:
    """End this worker process when the process that started it ends, however it ends.

    A worker otherwise outlives a parent killed with SIGKILL: it waits for jobs on a queue
    whose other end the remaining workers still hold. The parent's end of the pipe that
    ``spawn`` started the worker through closes only when the parent exits, so a thread
    waiting on it (``parent_process().join()``) wakes exactly then, without polling. Unlike
    ``PR_SET_PDEATHSIG`` it does not depend on Linux nor on which of the parent's threads
    started the worker, and unlike polling ``os.getppid()`` it costs nothing while it waits.
    """
    import multiprocessing
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait_for_parent() -> None:
        parent.join()
        os._exit(1)  # nothing to report to: results would have no reader

    threading.Thread(target=wait_for_parent, name="end-with-parent", daemon=True).start()


class LocalExecutor:
    """Runs jobs on this machine: in this process (``workers=1``) or in worker processes.

    Args:
        workers: processes; with GPUs, ``len(devices) * jobs_per_device`` is typical.
        devices: device of each worker slot, cycled (e.g. ``["cuda:0", "cuda:0", "cuda:1"]``);
            default: the settings' device for all.
        job: what one job runs (default :func:`run_job`, a training run; the proxies
            command passes its own).
    """

    def __init__(
        self, workers: int = 1, devices: Sequence[str] | None = None, job: JobFunction | None = None
    ):
        if workers < 1:
            raise TrainConfigError(f"--workers must be >= 1, got {workers}")
        self.workers = workers
        self.devices = list(devices or [])
        self.job = job or run_job

    def run(self, settings: TrainSettings, jobs: Sequence[Job]) -> Iterator[tuple[Job, dict[str, Any] | str]]:
        if self.workers == 1 and not self.devices:
            for job in jobs:
                yield job, _guarded(settings, job, self.job)
            return
        import multiprocessing

        # spawn, not fork: a forked child of a process that has touched CUDA or
        # torch's thread pools can deadlock. A plain queue, not a Manager's: a manager is
        # one more process, and one that would outlive a killed parent.
        context = multiprocessing.get_context("spawn")
        slots = context.Queue()
        devices = self.devices or [settings.device]
        for i in range(self.workers):
            slots.put(devices[i % len(devices)])
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(slots,)
        ) as pool:
            queue = list(jobs)
            running: dict[Future, Job] = {}
            while queue or running:
                # Keep each worker busy with one job and one queued: a kill loses few.
                while queue and len(running) < 2 * self.workers:
                    job = queue.pop(0)
                    running[pool.submit(_guarded, settings, job, self.job)] = job
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield running.pop(future), future.result()


def _guarded(settings: Any, job: Job, function: JobFunction = run_job) -> dict[str, Any] | str:
    try:
        return function(settings, *job)
    except Exception as exc:  # a failed run is reported and retried by the next invocation
        return f"{type(exc).__name__}: {exc}"


# --- the coordinator ----------------------------------------------------------------


def train_to_table(
    table: Path,
    settings: TrainSettings,
    archs: Sequence[str],
    seeds: Sequence[int],
    executor: Executor,
    table_dataset: str,
    flush_every: int = 16,
    flush_interval_s: float = 60.0,
) -> TrainSummary:
    """Train every (arch, seed) not yet in ``table`` or its journal; add the results to ``table``.

    Args:
        table: output table (created if absent); its journal lies beside it.
        settings: space, dataset, data source, protocol, device options.
        archs: architectures in the space's text form (as ``parse_archs`` returns them).
        seeds: training seeds.
        executor: a :class:`LocalExecutor` or ``RayExecutor``.
        table_dataset: the dataset name in the table (one protocol per name).
        flush_every, flush_interval_s: results are moved to the table after this many
            runs or seconds, whichever first, and at the end.

    Raises:
        TrainConfigError: the table holds ``table_dataset`` under another protocol or space.
        JournalLockedError: another command writes this table.
    """
    protocol = protocol_from_dict(settings.protocol)
    stored = entries.stored_runs(table, settings.space, table_dataset, protocol)
    sp = spaces.get(settings.space)
    key_of: dict[str, str] = {}  # text form -> key in the table
    text_of: dict[str, str] = {}  # key -> the first text form given for it
    for text in archs:
        key_of.setdefault(text, sp.key(sp.parse(text)))
        text_of.setdefault(key_of[text], text)
    wanted = [(key, int(s)) for key in text_of for s in seeds]
    with Journal(journal_path(table)) as journal:
        done = journal.done(table_dataset, protocol.hash)
        recovered = [r for job, r in done.items() if job not in stored]
        if recovered:
            _flush(table, settings, protocol, table_dataset, recovered)
        todo = [job for job in wanted if job not in stored and job not in done]
        summary = TrainSummary(len(wanted), len(wanted) - len(todo), 0, len(recovered))
        buffer: list[dict[str, Any]] = []
        last_flush = time.monotonic()
        try:
            with _progress.Progress("training", len(todo), rate_unit="runs", transient=False) as progress:
                for (text, seed), outcome in executor.run(settings, [(text_of[k], s) for k, s in todo]):
                    job = (key_of[text], seed)
                    if isinstance(outcome, str):
                        summary.failures.append((job, outcome))
                        progress.advance(failed=True)
                        continue
                    record = {"dataset": table_dataset, "protocol_hash": protocol.hash, "key": job[0]}
                    record.update(arch=text, seed=seed, result=json_safe(outcome))
                    journal.append(record)
                    buffer.append(record)
                    summary.trained += 1
                    progress.advance()
                    if len(buffer) >= flush_every or time.monotonic() - last_flush > flush_interval_s:
                        _flush(table, settings, protocol, table_dataset, buffer)
                        buffer, last_flush = [], time.monotonic()
        finally:
            if buffer:
                _flush(table, settings, protocol, table_dataset, buffer)
    return summary


def _flush(table: Path, settings: TrainSettings, protocol: Protocol, dataset: str, records: list) -> None:
    data = entries.records_to_table(settings.space, dataset, protocol, records, settings.data_source)
    entries.flush(table, data)


def default_threads(workers: int) -> int:
    """CPU threads per worker process so that workers do not oversubscribe the cores."""
    return max(1, (os.cpu_count() or 1) // workers)
