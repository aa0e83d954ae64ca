"""Evaluation reports: JSON, Markdown and a plot of Kendall tau against training-set size."""

from __future__ import annotations

import io
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nasbench_suite import _atomic
from nasbench_suite.provenance import machine_description, png_metadata, provenance, provenance_lines
from nasbench_suite.surrogates.evaluation import METRICS

_LABELS = {
    "kendall_tau": "tau",
    "sparse_kendall_tau": "sparse tau",
    "spearman": "rho",
    "r2": "R2",
    "mae": "MAE",
    "precision_top1pct": "R@1%",
    "precision_top5pct": "R@5%",
    "regret_best": "regret",
    "fit_time_s": "fit s",
    "predict_time_s": "predict s",
}


def stamp(report: dict[str, Any], machine: str | None = None) -> dict[str, Any]:
    """``report`` with ``generated`` (UTC time), ``machine`` (default: this machine's
    description) and ``provenance`` (:func:`nasbench_suite.provenance.provenance`; the
    benchmark is the report's ``table``, when it names one) added."""
    table = report.get("table")
    benchmark = None
    if isinstance(table, dict) and "checksum" in table:
        benchmark = {
            "kind": "table",
            "source": Path(str(table.get("path", ""))).name,
            "checksum": table["checksum"],
        }
    return {
        **report,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine or machine_description(),
        "provenance": provenance(benchmark),
    }


def to_json_text(obj: Any) -> str:
    """JSON with NaN and infinities written as ``null`` (strict JSON readers reject NaN)."""
    return json.dumps(_finite(obj), indent=1, sort_keys=False) + "\n"


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _fmt(stat: dict[str, float] | None, digits: int = 3) -> str:
    if not stat or stat.get("mean") is None or not math.isfinite(stat["mean"]):
        return "n/a"
    se = stat.get("se")
    if se is None or not math.isfinite(se):
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {se:.{digits}f}"


def evaluation_markdown(report: dict[str, Any]) -> str:
    """The report of :func:`~nasbench_suite.surrogates.table_evaluation.evaluate_table` as Markdown."""
    s = report["settings"]
    lines = [
        f"# Surrogate evaluation: {report['space']} / {report['dataset']} ({report['target']})",
        "",
        f"- table: `{report['table']['path']}` (manifest checksum `{report['table']['checksum']}`)",
        f"- architectures with a target: {s['n_archs']:,}; target: seed mean of `{report['target']}`"
        if report["ceiling"].get("available")
        else f"- architectures with a target: {s['n_archs']:,}; target: `{report['target']}`",
        f"- models: {', '.join(s['models'])}; training sizes: {', '.join(map(str, s['train_sizes']))}"
        + (
            f" (dropped, no test set left: {s['dropped_train_sizes']})"
            if s.get("dropped_train_sizes")
            else ""
        ),
        f"- {s['trials']} random splits per size (seed {s['seed']}); test set: every architecture "
        "of a class with no member in the training set"
        + (f" ({s['n_classes']:,} classes; {s['split']})" if s.get("split") else "")
        + f", and its top {round(100 * s['top_test_fraction'])} % by true value",
    ]
    if s.get("note"):
        lines.append(f"- note: {s['note']}")
    proxies = report.get("proxies")
    if proxies:
        lines.append(
            f"- zero-cost proxies given to the models that take them: {', '.join(proxies['names'])}; "
            f"{proxies['rule']} ({proxies['n_with']:,}; {proxies['n_without']:,} without left out)"
        )
    for model, values in sorted(s.get("model_params", {}).items()):
        lines.append(f"- `{model}` parameters: `{json.dumps(values, sort_keys=True)}`")
    if report.get("generated"):
        lines.append(f"- generated {report['generated']} on {report.get('machine', 'unknown machine')}")
    if report.get("provenance"):
        lines += [f"- {line}" for line in provenance_lines(report["provenance"])]
    lines += [
        "",
        "Values are mean ± standard error over the splits; times are wall clock. R@k% is the top-k % "
        "recall: the share of the true top k % of the test set that the predicted top k % holds; "
        "regret is the true best value of the test set less the true value of the architecture the "
        "model ranks first (target units).",
        "",
    ]
    lines += _ceiling_markdown(report["ceiling"])
    for test_set, title in (("all", "All held-out architectures"), ("top10", "Top 10 % of the test set")):
        lines += ["", f"## {title}", ""]
        names = [*METRICS, "fit_time_s", "predict_time_s"]
        lines.append("| model | n train | " + " | ".join(_LABELS[n] for n in names) + " |")
        lines.append("|---|---:|" + "---:|" * len(names))
        rows = [r for r in report["summary"] if r["test_set"] == test_set]
        for r in sorted(rows, key=lambda r: (r["model"], r["train_size"])):
            cells = [_fmt(r[n], 2 if n.endswith("_s") or n == "mae" else 3) for n in names]
            lines.append(f"| {r['model']} | {r['train_size']} | " + " | ".join(cells) + " |")
    if report.get("plot"):
        lines += ["", f"![Kendall tau against training-set size]({report['plot']})"]
    return "\n".join(lines) + "\n"


def _ceiling_markdown(ceiling: dict[str, Any]) -> list[str]:
    lines = ["## Seed-noise ceiling", ""]
    if not ceiling.get("available"):
        return [*lines, f"Not available: {ceiling.get('reason', 'no per-seed results')}."]
    lines += [
        f"How well one training seed ranks the {ceiling['n_archs']:,} architectures with two or more "
        "seeds against the others: what a single training run tells about another. The target above "
        "is the seed mean, which is less noisy than one run, so a good predictor can pass these figures.",
        "",
        "| | Kendall tau (all) | Spearman (all) | Kendall tau (top 10 %) | Spearman (top 10 %) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, key in (("seed vs seed", "seed_vs_seed"), ("seed vs mean of the others", "seed_vs_rest")):
        values = [
            ceiling.get(f"kendall_tau_{key}"),
            ceiling.get(f"spearman_{key}"),
            ceiling.get(f"top10_kendall_tau_{key}"),
            ceiling.get(f"top10_spearman_{key}"),
        ]
        lines.append(f"| {label} | " + " | ".join(_fmt({"mean": v}) for v in values) + " |")
    if ceiling.get("precision_top1pct_seed_vs_rest") is not None:
        lines += [
            "",
            "At the top, one seed against the mean of the others (mean over seeds): top-1 % recall "
            f"{_fmt({'mean': ceiling['precision_top1pct_seed_vs_rest']})}, top-5 % recall "
            f"{_fmt({'mean': ceiling['precision_top5pct_seed_vs_rest']})}, regret of the seed's best "
            f"{_fmt({'mean': ceiling['regret_best_seed_vs_rest']}, 2)}.",
        ]
    return lines


def plot_tau(report: dict[str, Any], path: str | Path) -> Path:
    """Kendall tau against training-set size (log x), one line per model, for the whole test
    set and its top 10 %, with the seed-noise ceiling as a horizontal band; written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    ceiling = report["ceiling"]
    for ax, (test_set, title, prefix) in zip(
        axes, (("all", "all held-out archs", ""), ("top10", "top 10 % of held-out archs", "top10_"))
    ):
        for model in report["settings"]["models"]:
            rows = sorted(
                (r for r in report["summary"] if r["model"] == model and r["test_set"] == test_set),
                key=lambda r: r["train_size"],
            )
            x = [r["train_size"] for r in rows]
            y = [r["kendall_tau"]["mean"] for r in rows]
            err = [r["kendall_tau"]["se"] if r["kendall_tau"]["se"] is not None else 0.0 for r in rows]
            ax.errorbar(x, y, yerr=[e if math.isfinite(e) else 0.0 for e in err], marker="o", label=model)
        if ceiling.get("available"):
            low = ceiling[f"{prefix}kendall_tau_seed_vs_seed"]
            high = ceiling[f"{prefix}kendall_tau_seed_vs_rest"]
            ax.axhspan(min(low, high), max(low, high), color="grey", alpha=0.3, label="seed-noise ceiling")
        ax.set_xscale("log")
        ax.set_xlabel("training-set size")
        ax.set_ylabel("Kendall tau")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize="small")
    fig.suptitle(f"{report['space']} / {report['dataset']}: {report['target']}")
    fig.tight_layout()
    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, metadata=png_metadata(report.get("provenance")))
    plt.close(fig)
    return _atomic.write_bytes(path, buffer.getbuffer())


def write_evaluation_report(report: dict[str, Any], directory: str | Path, stem: str) -> list[Path]:
    """Write ``stem.json``, ``stem.md`` and ``stem.png`` into ``directory``; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    png = plot_tau(report, directory / f"{stem}.png")
    report = {**report, "plot": png.name}
    json_path = directory / f"{stem}.json"
    _atomic.write_text(json_path, to_json_text(report))
    md_path = directory / f"{stem}.md"
    _atomic.write_text(md_path, evaluation_markdown(report))
    return [json_path, md_path, png]
