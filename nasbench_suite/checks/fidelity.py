"""Rank fidelity of a cheap training protocol, epoch by epoch (torch-free).

A reduced protocol is worth its CPU-seconds if, after ``e`` of its epochs, it already ranks
architectures the way the full benchmark does. :func:`epoch_fidelity` measures that on a table of
the project's own training runs (``nasbench train`` output, with per-epoch curves) against a
reference benchmark (the imported NB201 table, or any benchmark of the same space):

- per epoch ``e``: Kendall tau (with a seeded bootstrap interval) and Spearman rho between the
  trained seed mean at epoch ``e`` and the reference's seed mean, over the architectures both hold;
- the trained table's own ceiling at each epoch: the seed-vs-seed Kendall tau of its runs at that
  epoch, on the architectures with two seeds (how well one cheap run ranks against another);
- the reference's own seed-vs-seed tau on the same architectures (the published ceiling);
- the median cumulative training seconds per architecture to reach epoch ``e`` (for tau per
  CPU-second).

The statistics are :mod:`nasbench_suite.stats`'s; the plot is matplotlib's.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.bench.base import Benchmark
from nasbench_suite.checks.validation import ValidationError
from nasbench_suite.errors import NasbenchError
from nasbench_suite.provenance import png_metadata, provenance, provenance_lines
from nasbench_suite.stats import rank_correlations, seed_vs_seed
from nasbench_suite.tabular import Table
from nasbench_suite.train.journal import json_safe

REPORT_FORMAT = "nasbench-suite-epoch-fidelity"
REPORT_VERSION = 1


@dataclass
class EpochRow:
    """Fidelity after one epoch of the cheap protocol."""

    epoch: int
    n_archs: int
    kendall_tau: float
    kendall_tau_interval: tuple[float, float]
    spearman_rho: float
    seed_ceiling: float  # the trained table's seed-vs-seed tau at this epoch (NaN with one seed)
    n_ceiling_archs: int
    median_train_s: float  # median cumulative training seconds per architecture to this epoch


@dataclass
class FidelityReport:
    """What :func:`epoch_fidelity` measured (see the module docstring)."""

    trained: str
    trained_dataset: str
    trained_metric: str
    reference: str
    reference_dataset: str
    reference_metric: str
    reference_seed_ceiling: float
    rows: list[EpochRow] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"format": REPORT_FORMAT, "version": REPORT_VERSION, **json_safe(asdict(self))}


def epoch_fidelity(
    reference: Benchmark,
    trained: str | Path,
    *,
    dataset: str | None = None,
    reference_dataset: str | None = None,
    metric: str = "valid_acc",
    reference_metric: str | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    reference_name: str = "",
) -> FidelityReport:
    """Per-epoch rank fidelity of the trained table's curves against ``reference`` (module docstring).

    Raises:
        ValidationError: spaces differ, no per-epoch curve of ``metric``, fewer than 3 common archs.
    """
    rng = np.random.default_rng(seed)
    with Table(trained) as table:
        if table.space != reference.space.name:
            raise ValidationError(
                f"{trained} is a {table.space} table; the reference is {reference.space.name}"
            )
        if dataset is None:
            if len(table.datasets) != 1:
                raise ValidationError(
                    f"{trained} holds datasets {sorted(table.datasets)}: choose one with --dataset"
                )
            dataset = next(iter(table.datasets))
        info = table.dataset(dataset)
        if metric not in info.curves:
            raise ValidationError(f"{trained}: dataset {dataset!r} has no per-epoch curve of {metric!r}")
        curves = np.asarray(table.metric(dataset, metric, "curves"), dtype=float)  # (N, S, E)
        present = np.asarray(table.present(dataset))
        times = (
            np.asarray(table.metric(dataset, "epoch_train_time_s", "curves"), dtype=float)
            if "epoch_train_time_s" in info.curves
            else np.full(curves.shape, np.nan)
        )
        keys = table.keys
        epochs = list(info.epochs) if info.epochs else list(range(1, curves.shape[2] + 1))
    ref_dataset = reference_dataset or dataset.split("@", 1)[0]
    ref_metric = reference_metric or metric
    ref_values = np.full(len(keys), np.nan)
    ref_runs: list[np.ndarray] = []
    ref_seeds = reference.seeds(ref_dataset) if hasattr(reference, "seeds") else ()
    for i, key in enumerate(keys):
        if not present[i].any():
            continue
        try:
            ref_values[i] = reference.query(key, ref_dataset, seed="mean", metrics=[ref_metric]).metrics[
                ref_metric
            ]
            if ref_seeds and hasattr(reference, "seed_matrix"):
                ref_runs.append(i)  # type: ignore[arg-type]
        except NasbenchError:  # an architecture (or a seed) the reference lacks is left out
            continue
    ref_ceiling = float("nan")
    if ref_runs and hasattr(reference, "seed_matrix"):
        matrix = np.asarray(
            reference.seed_matrix([keys[i] for i in ref_runs], ref_dataset, ref_metric), dtype=float
        )
        ref_ceiling = seed_vs_seed(matrix, np.isfinite(matrix), skip_undefined=True)
    report = FidelityReport(
        str(trained),
        dataset,
        metric,
        reference_name or str(reference),
        ref_dataset,
        ref_metric,
        ref_ceiling,
        provenance=provenance(reference.identity()),
    )
    for e, epoch in enumerate(epochs):
        values = np.where(present, curves[:, :, e], np.nan)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=1)
        ok = np.isfinite(mean) & np.isfinite(ref_values)
        if ok.sum() < 3:
            raise ValidationError(
                f"only {int(ok.sum())} architectures in common with the reference at epoch {epoch}"
            )
        corr = rank_correlations(mean[ok], ref_values[ok], n_bootstrap=n_bootstrap, rng=rng)
        finite = present & np.isfinite(values)
        two = finite.sum(axis=1) >= 2
        ceiling = (
            seed_vs_seed(values[two], finite[two], skip_undefined=True) if two.sum() >= 3 else float("nan")
        )
        cumulative = np.nancumsum(np.where(present[:, :, None], times, np.nan), axis=2)[:, :, e]
        with np.errstate(invalid="ignore"):
            per_arch = np.nanmean(np.where(present, cumulative, np.nan), axis=1)
        report.rows.append(
            EpochRow(
                int(epoch),
                int(ok.sum()),
                float(corr["kendall_tau"]),
                tuple(float(x) for x in corr.get("kendall_tau_interval", (np.nan, np.nan))),  # type: ignore[arg-type]
                float(corr["spearman"]),
                float(ceiling),
                int(two.sum()),
                float(np.nanmedian(per_arch)) if np.isfinite(per_arch).any() else float("nan"),
            )
        )
    return report


def format_markdown(report: FidelityReport) -> str:
    """The report as a Markdown table, one row per epoch."""
    lines = [
        f"# Rank fidelity per epoch: `{report.trained}` ({report.trained_dataset}, {report.trained_metric})",
        "",
        f"Reference: `{report.reference}` ({report.reference_dataset}, "
        f"seed mean of {report.reference_metric}); its own seed-vs-seed Kendall tau on these "
        f"architectures: {report.reference_seed_ceiling:.3f}.",
        "",
        "| epoch | archs | Kendall tau [90% CI] | Spearman rho | own seed ceiling (archs) "
        "| median train s/arch |",
        "|---|---|---|---|---|---|",
    ]
    for row in report.rows:
        lo, hi = row.kendall_tau_interval
        ceiling = "n/a" if np.isnan(row.seed_ceiling) else f"{row.seed_ceiling:.3f} ({row.n_ceiling_archs})"
        lines.append(
            f"| {row.epoch} | {row.n_archs} | {row.kendall_tau:.3f} [{lo:.3f}, {hi:.3f}] | "
            f"{row.spearman_rho:.3f} | {ceiling} | {row.median_train_s:.1f} |"
        )
    if report.provenance:
        lines += ["", "Provenance:", *(f"- {line}" for line in provenance_lines(report.provenance))]
    return "\n".join(lines) + "\n"


def plot(report: FidelityReport, path: str | Path) -> Path:
    """Kendall tau against epoch (with its interval), the own-seed ceiling and the published one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r.epoch for r in report.rows]
    tau = np.array([r.kendall_tau for r in report.rows])
    lo = np.array([r.kendall_tau_interval[0] for r in report.rows])
    hi = np.array([r.kendall_tau_interval[1] for r in report.rows])
    ceiling = np.array([r.seed_ceiling for r in report.rows])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(epochs, tau, marker="o", color="C0", label="tau vs reference seed mean")
    ax.fill_between(epochs, lo, hi, color="C0", alpha=0.2, label="90% bootstrap interval")
    if np.isfinite(ceiling).any():
        ax.plot(epochs, ceiling, marker="s", color="C1", label="own seed-vs-seed tau (ceiling)")
    if np.isfinite(report.reference_seed_ceiling):
        ax.axhline(report.reference_seed_ceiling, color="C2", ls="--", label="reference seed-vs-seed tau")
    ax.set_xlabel(f"epoch of the cheap protocol ({report.trained_dataset})")
    ax.set_ylabel("Kendall tau")
    ax.set_title(f"Rank fidelity against {report.reference_dataset} ({report.reference_metric})", fontsize=10)
    low = np.concatenate([lo, tau])
    ax.set_ylim(min(0.0, float(np.nanmin(low))) if np.isfinite(low).any() else 0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, metadata=png_metadata(report.provenance))
    plt.close(fig)
    return _atomic.write_bytes(Path(path), buffer.getbuffer())


def write_report(report: FidelityReport, folder: str | Path, stem: str = "fidelity") -> list[Path]:
    """``STEM.json``, ``STEM.md`` and ``STEM.png`` in ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.json", out / f"{stem}.md"]
    _atomic.write_text(paths[0], json.dumps(report.to_dict(), indent=1, sort_keys=True) + "\n")
    _atomic.write_text(paths[1], format_markdown(report))
    paths.append(plot(report, out / f"{stem}.png"))
    return paths
