"""Validation of a benchmark against real training: ranking, error and interval coverage (torch-free).

``nasbench validate BENCHMARK TRAINED.h5`` asks a benchmark (a surrogate, or a
table) for the architectures of a table of trained runs (``nasbench train``
output) and reports how well its predictions match what training gave:

- ranking: Kendall tau (with a bootstrap interval) and Spearman rho between the
  predicted value and the trained seed mean, per architecture;
- error: MAE, RMSE and bias (predicted minus trained seed mean), in the metric's
  units (accuracy in percent);
- calibration: the share of trained *runs* (architecture, seed) that fall inside the
  benchmark's central predictive interval for one run at the nominal ``level``.

What the interval is depends on the benchmark. A benchmark that supports
``predict_dist`` (``Benchmark.supports_predict_dist``: the surrogate) gives a
predictive mean and standard deviation of one run; the interval is the normal one,
``mean +- z * std``. Any other benchmark (a table) is asked for each of its stored
seeds; from the k runs of an architecture, with mean m and standard deviation s, the
interval for a new run is the normal prediction interval
``m +- t(k - 1) * s * sqrt(1 + 1/k)``, undefined for a single run (such architectures
count for ranking and error, not for coverage).

The report also gives the trained table's own seed-vs-seed Kendall tau when it
holds two or more seeds: the ceiling any predictor of single runs can reach on
those architectures. Nothing here imports torch; the caller opens the benchmark
(``nasbench_suite.open_benchmark``) and passes it in. The statistics are
:mod:`nasbench_suite.stats`'s.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.bench.base import Benchmark
from nasbench_suite.errors import NasbenchError, QueryError, UnknownDatasetError, UnknownMetricError
from nasbench_suite.stats import rank_correlations, seed_vs_seed
from nasbench_suite.tabular import Table
from nasbench_suite.train.journal import json_safe

#: Identifies a validation report file (JSON ``format`` field) and its layout version.
REPORT_FORMAT = "nasbench-suite-validation"
REPORT_VERSION = 1


class ValidationError(NasbenchError, ValueError):
    """A validation cannot be computed: tables of different spaces, no architecture in common,
    a trained table with several datasets and none chosen; the message names the values."""


@dataclass
class ArchRow:
    """One architecture of a validation: trained runs and the benchmark's prediction."""

    arch: str
    trained: list[float]  # one value per trained run (seed order of the trained table)
    seeds: list[int]
    predicted: float
    lower: float  # predictive interval for one run (NaN where there is none)
    upper: float

    @property
    def trained_mean(self) -> float:
        return float(np.mean(self.trained))


@dataclass
class ValidationReport:
    """Figures of one validation (see the module docstring); ``rows`` holds the per-arch detail."""

    benchmark: str
    benchmark_kind: str
    benchmark_dataset: str
    benchmark_metric: str
    trained_table: str
    trained_dataset: str
    metric: str
    protocol: dict[str, Any]
    level: float
    interval_method: str
    n_archs: int
    n_runs: int
    n_archs_not_in_benchmark: int
    kendall_tau: float
    kendall_tau_interval: tuple[float, float]
    spearman: float
    mae: float
    rmse: float
    bias: float
    coverage: float
    n_runs_with_interval: int
    mean_interval_width: float
    seed_vs_seed_kendall_tau: float
    rows: list[ArchRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (NaN becomes None)."""
        body = asdict(self)
        body["rows"] = [{**asdict(r), "trained_mean": r.trained_mean} for r in self.rows]
        return json_safe({"format": REPORT_FORMAT, "version": REPORT_VERSION, **body})


def validate(
    benchmark: Benchmark,
    trained: str | Path,
    *,
    dataset: str | None = None,
    benchmark_dataset: str | None = None,
    metric: str = "valid_acc",
    benchmark_metric: str | None = None,
    level: float = 0.9,
    n_bootstrap: int = 1000,
    seed: int = 0,
    benchmark_name: str | None = None,
) -> ValidationReport:
    """Compare ``benchmark``'s predictions with the trained runs in the table ``trained``.

    Args:
        benchmark: an open Benchmark (``open_benchmark(...)``): one that supports
            ``predict_dist`` (the surrogate) or any other backend (uses its stored seeds).
        trained: table of trained runs.
        dataset: dataset of the trained table (default: its only dataset).
        benchmark_dataset: dataset name in the benchmark (default: ``dataset`` if the
            benchmark has it, else ``dataset`` without its ``@protocol`` suffix).
        metric: per-seed metric of the trained table (default ``valid_acc``).
        benchmark_metric: the benchmark's name for it (default: ``metric``).
        level: nominal coverage of the predictive interval, in (0, 1).
        n_bootstrap: resamples of the bootstrap interval of Kendall tau (0: none).
        seed: seed of the bootstrap generator (the report is deterministic).
        benchmark_name: how the report names the benchmark (default: its repr).

    Raises:
        ValidationError: different spaces, bad level, no architecture in common,
            several trained datasets and none chosen.
        UnknownDatasetError, UnknownMetricError: naming what is stored.
        TableNotFoundError, NotATableError, TableCorruptError: the trained table.
    """
    if not 0 < level < 1:
        raise ValidationError(f"--level {level}: expected a value in (0, 1)")
    benchmark_metric = benchmark_metric or metric
    with Table(trained) as table:
        if table.space != benchmark.space.name:
            raise ValidationError(
                f"{trained}: a table of space {table.space!r}, the benchmark is of {benchmark.space.name!r}"
            )
        dataset = _trained_dataset(table, dataset)
        info = table.dataset(dataset)
        if metric not in info.per_seed:
            raise UnknownMetricError(metric, sorted(info.per_seed))
        values = table.metric(dataset, metric, "per_seed")
        present = table.present(dataset) & ~np.isnan(values)
        keys, seeds = table.keys, [int(s) for s in info.seeds]
        protocol = {k: info.protocol.get(k) for k in ("name", "hash", "epochs") if k in info.protocol}
    bench_dataset = _benchmark_dataset(benchmark, dataset, benchmark_dataset)
    if benchmark_metric not in benchmark.metric_names(bench_dataset):
        raise UnknownMetricError(benchmark_metric, benchmark.metric_names(bench_dataset))
    has_runs = np.flatnonzero(present.any(axis=1))
    wanted = [keys[i] for i in has_runs]
    if benchmark.supports_predict_dist:
        usable = has_runs
        kind = "surrogate: predictive distribution of one run"
        method = f"normal interval mean +- z * std at level {level} (predict_dist)"
        predicted, lower, upper = _from_distribution(
            benchmark, wanted, bench_dataset, benchmark_metric, level
        )
    else:
        stored = set(benchmark.reference_archs(bench_dataset))
        usable = np.array([i for i in has_runs if keys[i] in stored], dtype=np.int64)
        kind = "table: spread of its stored seeds"
        method = (
            f"normal prediction interval m +- t(k-1) * s * sqrt(1 + 1/k) from k stored runs, level {level}"
        )
        predicted, lower, upper = _from_seeds(
            benchmark, [keys[i] for i in usable], bench_dataset, benchmark_metric, level
        )
    kept = [(i, p, lo, hi) for i, p, lo, hi in zip(usable, predicted, lower, upper) if np.isfinite(p)]
    if not kept:
        raise ValidationError(
            f"no architecture of {trained} [{dataset}] has a prediction in the benchmark [{bench_dataset}]"
        )
    rows = [
        ArchRow(
            arch=keys[i],
            trained=[float(values[i, j]) for j in np.flatnonzero(present[i])],
            seeds=[seeds[j] for j in np.flatnonzero(present[i])],
            predicted=float(p),
            lower=float(lo),
            upper=float(hi),
        )
        for i, p, lo, hi in kept
    ]
    kept_rows = np.array([i for i, *_ in kept], dtype=np.int64)
    rng = np.random.default_rng(seed)
    figures = _figures(rows, n_bootstrap, rng)
    return ValidationReport(
        benchmark=benchmark_name or repr(benchmark),
        benchmark_kind=kind,
        benchmark_dataset=bench_dataset,
        benchmark_metric=benchmark_metric,
        trained_table=str(trained),
        trained_dataset=dataset,
        metric=metric,
        protocol=protocol,
        level=level,
        interval_method=method,
        n_archs=len(rows),
        n_runs=sum(len(r.trained) for r in rows),
        n_archs_not_in_benchmark=len(has_runs) - len(rows),
        # Only pairs of seeds sharing three archs count, and ties-only pairs are skipped.
        seed_vs_seed_kendall_tau=seed_vs_seed(
            values[kept_rows], present[kept_rows], min_common=3, skip_undefined=True
        ),
        rows=rows,
        **figures,
    )


def _trained_dataset(table: Table, dataset: str | None) -> str:
    if dataset is not None:
        table.dataset(dataset)  # UnknownDatasetError names the stored ones
        return dataset
    names = sorted(table.datasets)
    if len(names) != 1:
        raise ValidationError(f"{table.path} holds datasets {', '.join(names)}: choose one with --dataset")
    return names[0]


def _benchmark_dataset(benchmark: Benchmark, dataset: str, chosen: str | None) -> str:
    known = benchmark.datasets
    if chosen is not None:
        if chosen not in known:
            raise UnknownDatasetError(chosen, known)
        return chosen
    # The trainer names a dataset DATASET@PROTOCOL; the benchmark knows it as DATASET.
    for name in (dataset, dataset.split("@", 1)[0]):
        if name in known:
            return name
    raise UnknownDatasetError(dataset, known)


def _from_distribution(
    benchmark: Benchmark, keys: list[str], dataset: str, metric: str, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from scipy.stats import norm

    mean, std = (np.asarray(v, dtype=np.float64) for v in benchmark.predict_dist(keys, dataset, metric))
    half = float(norm.ppf(0.5 + level / 2)) * std
    return mean, mean - half, mean + half


def _from_seeds(
    benchmark: Benchmark, keys: list[str], dataset: str, metric: str, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from scipy.stats import t as student_t

    runs = np.full((len(keys), len(benchmark.seeds(dataset))), np.nan)
    for j, s in enumerate(benchmark.seeds(dataset)):
        try:
            runs[:, j] = benchmark.query_batch(keys, dataset, seed=s, metrics=[metric])[metric].to_numpy()
        except QueryError:
            # Some architectures lack this seed: ask one by one, leave the missing ones NaN.
            for i, key in enumerate(keys):
                try:
                    runs[i, j] = benchmark.query(key, dataset, seed=s, metrics=[metric]).metrics[metric]
                except QueryError:
                    continue
    k = (~np.isnan(runs)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(k > 0, np.nansum(runs, axis=1) / k, np.nan)
        squares = np.nansum((runs - mean[:, None]) ** 2, axis=1)
        sd = np.where(k > 1, np.sqrt(squares / (k - 1)), np.nan)
        quantile = np.where(k > 1, student_t.ppf(0.5 + level / 2, np.maximum(k - 1, 1)), np.nan)
        half = quantile * sd * np.sqrt(1 + 1 / np.maximum(k, 1))
    return mean, mean - half, mean + half


def _figures(rows: list[ArchRow], n_bootstrap: int, rng: np.random.Generator) -> dict[str, Any]:
    pred = np.array([r.predicted for r in rows])
    true = np.array([r.trained_mean for r in rows])
    error = pred - true
    ranking = rank_correlations(true, pred, n_bootstrap=n_bootstrap, rng=rng)
    inside, counted, widths = 0, 0, []
    for r in rows:
        if np.isfinite(r.lower) and np.isfinite(r.upper):
            counted += len(r.trained)
            inside += sum(r.lower <= v <= r.upper for v in r.trained)
            widths.append(r.upper - r.lower)
    return {
        **ranking,
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "bias": float(np.mean(error)),
        "coverage": inside / counted if counted else math.nan,
        "n_runs_with_interval": counted,
        "mean_interval_width": float(np.mean(widths)) if widths else math.nan,
    }


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _cell(text: str) -> str:
    # NB201 keys are full of pipes, which end a Markdown table cell even inside backticks.
    return text.replace("|", "\\|")


def format_markdown(report: ValidationReport, worst: int = 10) -> str:
    """The report as Markdown: summary figures, method, the ``worst`` largest errors."""
    lo, hi = report.kendall_tau_interval
    proto = report.protocol
    lines = [
        f"# Validation: {report.benchmark} against {Path(report.trained_table).name}",
        "",
        f"Trained: `{report.trained_table}` [{report.trained_dataset}], metric `{report.metric}`, protocol "
        f"{proto.get('name', '?')} (hash {proto.get('hash', '?')}, {proto.get('epochs', '?')} epochs).",
        f"Benchmark: {report.benchmark} [{report.benchmark_dataset}], metric `{report.benchmark_metric}`"
        f" ({report.benchmark_kind}).",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| architectures compared (runs) | {report.n_archs} ({report.n_runs}) |",
        f"| Kendall tau (90% bootstrap interval) | {_fmt(report.kendall_tau)} ({_fmt(lo)}, {_fmt(hi)}) |",
        f"| Spearman rho | {_fmt(report.spearman)} |",
        f"| MAE / RMSE | {_fmt(report.mae)} / {_fmt(report.rmse)} |",
        f"| bias (predicted - trained) | {_fmt(report.bias)} |",
        f"| coverage of the {report.level:.0%} interval (runs counted) | {_fmt(report.coverage)}"
        f" ({report.n_runs_with_interval}) |",
        f"| mean interval width | {_fmt(report.mean_interval_width)} |",
        f"| trained seed-vs-seed Kendall tau (ceiling) | {_fmt(report.seed_vs_seed_kendall_tau)} |",
    ]
    if report.n_archs_not_in_benchmark:
        lines.append(f"| trained archs the benchmark does not hold | {report.n_archs_not_in_benchmark} |")
    lines += ["", f"Interval: {report.interval_method}.", ""]
    ordered = sorted(report.rows, key=lambda r: -abs(r.predicted - r.trained_mean))
    if ordered:
        lines += [
            f"Largest errors (up to {worst}):",
            "",
            "| arch | trained mean (runs) | predicted | interval |",
            "| --- | --- | --- | --- |",
        ]
        for r in ordered[:worst]:
            lines.append(
                f"| `{_cell(r.arch)}` | {_fmt(r.trained_mean, 2)} ({len(r.trained)}) | {_fmt(r.predicted, 2)}"
                f" | [{_fmt(r.lower, 2)}, {_fmt(r.upper, 2)}] |"
            )
    return "\n".join(lines) + "\n"


def write_report(report: ValidationReport, path: str | Path) -> Path:
    """Write ``report`` as JSON (``.json``) or Markdown (any other suffix, e.g. ``.md``)."""
    path = Path(path)
    if path.suffix == ".json":
        text = json.dumps(report.to_dict(), indent=1, allow_nan=False) + "\n"
    else:
        text = format_markdown(report)
    return _atomic.write_text(path, text)
