"""Proxies of many architectures into a table, resumable through the trainer's journal.

The coordinator reuses the trainer's machinery: ``--archs`` parsing
(``train.jobs.parse_archs``), its executors (in this process, worker processes,
Ray tasks) with :func:`run_proxy_job` as the job, the fsync'd journal beside the
table (``train.journal``; one record per architecture, its ``seed`` the proxy
seed and its ``protocol_hash`` the settings' hash) and the table's one
crash-safe writer (``append_table`` via ``train.entries.flush``). A kill at any
instant loses at most the architectures in flight; a rerun moves journal records
missing from the table into it and computes only what is left.

Table entries: dataset ``TABLE_DATASET`` (default ``DATASET@zc``) holds, per
architecture, ``zc_<proxy>``, ``zc_time_s`` and ``zc_hardware_id``; its protocol
is the settings' (proxies, batch, seed, network, conventions, hash), so a table
refuses proxies computed otherwise under the same dataset name.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _progress, spaces
from nasbench_suite.proxies.settings import ProxyConfigError, ProxySettings, metric_infos, metric_name
from nasbench_suite.tabular import Table
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData
from nasbench_suite.train import entries
from nasbench_suite.train.journal import Journal, journal_path, json_safe


@dataclass
class ProxySummary:
    """Outcome of :func:`proxies_to_table`: architecture counts and failures (key, message)."""

    requested: int
    skipped: int
    computed: int
    recovered: int
    failures: list[tuple[str, str]] = field(default_factory=list)


def run_proxy_job(settings: ProxySettings, arch: str, seed: int) -> dict[str, Any]:
    """One architecture's proxies in the calling process (an executor's job function)."""
    from nasbench_suite.proxies.compute import timed_proxies

    if seed != settings.seed:
        raise ProxyConfigError(f"job seed {seed} differs from the settings' seed {settings.seed}")
    return timed_proxies(settings, spaces.get(settings.space).parse(arch))


def stored_keys(table: Path, settings: ProxySettings, dataset: str) -> set[str]:
    """Keys whose proxies ``table`` already holds under ``dataset``; empty if there is no table.

    Raises:
        ProxyConfigError: a table of another space, or ``dataset`` computed under other settings.
    """
    if not table.exists():
        return set()
    with Table(table) as t:
        if t.space != settings.space:
            raise ProxyConfigError(f"{table}: a table of space {t.space!r}, not {settings.space!r}")
        if dataset not in t.datasets:
            return set()
        stored = t.dataset(dataset).protocol.get("hash")
        if stored != settings.hash:
            raise ProxyConfigError(
                f"{table}: dataset {dataset!r} holds proxies of settings {stored!r}, not {settings.hash!r}"
                " (other proxies, batch, seed or network); choose another --table-dataset"
            )
        done = t.metric(dataset, "zc_time_s", "per_arch")
        return {t.keys[i] for i in np.flatnonzero(~np.isnan(done))}


def records_to_table(settings: ProxySettings, dataset: str, records: list[dict[str, Any]]) -> TableData:
    """A TableData holding the proxies of journal ``records`` (one per architecture)."""
    keys = list(dict.fromkeys(r["key"] for r in records))
    row = {k: i for i, k in enumerate(keys)}
    infos = metric_infos(settings.proxies)
    infos["zc_hardware_id"] = MetricInfo(
        "id", "48-bit hash of the hardware; static provenance zc_hardware/<id>"
    )
    per_arch = {name: np.full(len(keys), np.nan) for name in infos}
    hardware: dict[str, str] = {}
    for r in records:
        i, result = row[r["key"]], r["result"]
        for proxy in settings.proxies:
            value = result["values"].get(proxy)
            per_arch[metric_name(proxy)][i] = np.nan if value is None else float(value)
        per_arch["zc_time_s"][i] = float(result["time_s"])
        hw = entries.hardware_id(result["hardware"])
        hardware[f"zc_hardware/{hw}"] = result["hardware"]
        per_arch["zc_hardware_id"][i] = float(hw)
    protocol = settings.protocol()
    ds = DatasetData(
        seeds=np.zeros(0, dtype=np.int64),
        present=np.zeros((len(keys), 0), dtype=bool),
        per_arch=per_arch,
        metrics=infos,
        protocol=protocol,
        provenance={
            "source": "nasbench-suite proxies (nasbench proxies)",
            "data": settings.data_source,
            "time_hardware": "zc_hardware_id per architecture; static provenance zc_hardware/<id>",
            "protocol_hash": protocol["hash"],
        },
    )
    space = spaces.get(settings.space)
    return TableData(
        space=settings.space,
        space_config=space.config(),
        keys=keys,
        datasets={dataset: ds},
        static_provenance=hardware,
        description="zero-cost proxies computed by nasbench-suite",
    )


def proxies_to_table(
    table: Path,
    settings: ProxySettings,
    archs: Sequence[str],
    executor: Any,
    dataset: str,
    flush_every: int = 32,
    flush_interval_s: float = 60.0,
) -> ProxySummary:
    """Compute the proxies of every architecture not yet in ``table`` or its journal; add them.

    Args:
        table: output table (created if absent); its journal lies beside it.
        settings: the proxy settings.
        archs: architectures in the space's text form (``train.jobs.parse_archs``).
        executor: a ``train.jobs.LocalExecutor`` or ``train.ray_jobs.RayExecutor`` built
            with ``job=run_proxy_job``.
        dataset: the dataset name in the table.
        flush_every, flush_interval_s: journal records reach the table after this many
            architectures or seconds, whichever first, and at the end.

    Raises:
        ProxyConfigError: a table of another space, or the dataset under other settings.
        JournalLockedError: another command writes this table.
    """
    stored = stored_keys(table, settings, dataset)
    sp = spaces.get(settings.space)
    text_of: dict[str, str] = {}
    for text in archs:
        text_of.setdefault(sp.key(sp.parse(text)), text)
    with Journal(journal_path(table)) as journal:
        done = {key: r for (key, _), r in journal.done(dataset, settings.hash).items()}
        recovered = [r for key, r in done.items() if key not in stored]
        if recovered:
            entries.flush(table, records_to_table(settings, dataset, recovered))
        todo = [key for key in text_of if key not in stored and key not in done]
        summary = ProxySummary(len(text_of), len(text_of) - len(todo), 0, len(recovered))
        key_of = {text_of[k]: k for k in todo}
        buffer: list[dict[str, Any]] = []
        last_flush = time.monotonic()
        try:
            with _progress.Progress("proxies", len(todo), rate_unit="archs", transient=False) as progress:
                jobs = [(text_of[k], settings.seed) for k in todo]
                for (text, _), outcome in executor.run(settings, jobs):
                    key = key_of[text]
                    if isinstance(outcome, str):
                        summary.failures.append((key, outcome))
                        progress.advance(failed=True)
                        continue
                    record = {"dataset": dataset, "protocol_hash": settings.hash, "key": key}
                    record.update(arch=text, seed=settings.seed, result=json_safe(outcome))
                    journal.append(record)
                    buffer.append(record)
                    summary.computed += 1
                    progress.advance()
                    if len(buffer) >= flush_every or time.monotonic() - last_flush > flush_interval_s:
                        entries.flush(table, records_to_table(settings, dataset, buffer))
                        buffer, last_flush = [], time.monotonic()
        finally:
            if buffer:
                entries.flush(table, records_to_table(settings, dataset, buffer))
    return summary
