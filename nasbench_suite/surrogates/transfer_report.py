"""The transfer report: every (source, target) pair of a table's datasets, as JSON, Markdown and a plot.

:func:`transfer_table` runs :func:`~nasbench_suite.surrogates.transfer.evaluate_transfer`
on each pair with the target's seed-noise ceiling beside it, and says per pair and
train size whether the best transfer method (``residual`` or ``meta``) beats both the
target-only predictor and the zero-shot source ranking (paired over the same splits).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.stats import mean_se
from nasbench_suite.surrogates.evaluation import EvaluationError, seed_noise_ceiling
from nasbench_suite.surrogates.report import _fmt, to_json_text
from nasbench_suite.surrogates.table_evaluation import table_checksum, table_targets
from nasbench_suite.surrogates.transfer import TRANSFER_METHODS, evaluate_transfer

#: The methods that use both the source and the target's labels.
TRANSFER_ONLY = ("residual", "meta")
#: Train sizes at which the report gives a verdict (the issue's acceptance).
VERDICT_SIZES = (10, 50)


def transfer_table(
    path: str | Path,
    pairs: Sequence[tuple[str, str]],
    *,
    train_sizes: Sequence[int],
    trials: int,
    seed: int = 0,
    methods: Sequence[str] = TRANSFER_METHODS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Evaluate transfer for each ``(source, target)`` pair of datasets of the table at ``path``.

    Returns:
        A JSON-able report: ``table``, ``space``, ``settings``, ``pairs`` (one entry per pair:
        ``source``, ``target``, ``n_archs``, ``ceiling``, ``summary``, ``verdicts``, ``model_params``).

    Raises:
        TableNotFoundError and the other table errors, UnknownDatasetError, EvaluationError.
    """
    from nasbench_suite import spaces
    from nasbench_suite.tabular import Table

    if any(s == t for s, t in pairs) or not pairs:
        raise EvaluationError(f"transfer needs pairs of two different datasets, got {list(pairs)}")
    out: list[dict[str, Any]] = []
    with Table(path) as table:
        space = spaces.get(table.space, **table.space_config)
        checksum = table_checksum(table)
        targets = {d: table_targets(table, d) for d in sorted({d for pair in pairs for d in pair})}
    for source_name, target_name in pairs:
        source, target = targets[source_name], targets[target_name]
        common = sorted(set(source.keys) & set(target.keys))
        at_source = {k: i for i, k in enumerate(source.keys)}
        index = {k: i for i, k in enumerate(target.keys)}
        at_target = np.array([index[k] for k in common])
        x_source = source.y[[at_source[k] for k in common]]
        y = target.y[at_target]
        if target.per_seed is not None:
            try:
                ceiling = {
                    "available": True,
                    **seed_noise_ceiling(target.per_seed[at_target], target.present[at_target]),
                }
            except EvaluationError as exc:
                ceiling = {"available": False, "reason": str(exc)}
        else:
            ceiling = {"available": False, "reason": f"{target.target} is stored per architecture only"}
        step = (
            None
            if progress is None
            else (lambda text, p=(source_name, target_name): progress(f"{p[0]} -> {p[1]}: {text}"))
        )
        result = evaluate_transfer(
            space,
            common,
            x_source,
            y,
            train_sizes=train_sizes,
            trials=trials,
            seed=seed,
            methods=methods,
            progress=step,
        )
        out.append(
            {
                "source": source_name,
                "target": target_name,
                "target_metric": target.target,
                "n_archs": len(common),
                "ceiling": ceiling,
                "summary": result.summary(),
                "verdicts": verdicts(result.trials),
                "model_params": result.settings.get("model_params", {}),
            }
        )
    return {
        "table": {"path": str(path), "checksum": checksum},
        "space": space.name,
        "settings": {
            "train_sizes": sorted(set(train_sizes)),
            "trials": trials,
            "seed": seed,
            "methods": list(methods),
            "top_test_fraction": 0.1,
        },
        "pairs": out,
    }


def verdicts(trials: Sequence[dict[str, Any]], test_set: str = "all") -> list[dict[str, Any]]:
    """Per verdict size: the best of :data:`TRANSFER_ONLY` by mean Kendall tau, and its paired
    difference (mean ± s.e. over the same splits) from ``target-only`` and ``zero-shot``."""
    tau: dict[tuple[str, int], dict[int, float]] = {}
    for row in trials:
        if row["test_set"] == test_set:
            tau.setdefault((row["model"], row["train_size"]), {})[row["trial"]] = row["kendall_tau"]
    out = []
    for size in VERDICT_SIZES:
        candidates = [m for m in TRANSFER_ONLY if (m, size) in tau]
        if not candidates:
            continue
        best = max(candidates, key=lambda m: np.mean(list(tau[(m, size)].values())))
        entry: dict[str, Any] = {"train_size": size, "best": best, "beats_both": True}
        for other in ("target-only", "zero-shot"):
            if (other, size) not in tau:
                entry[f"vs_{other}"] = None
                entry["beats_both"] = False
                continue
            diffs = [
                tau[(best, size)][t] - tau[(other, size)][t]
                for t in tau[(best, size)]
                if t in tau[(other, size)]
            ]
            mean, se = mean_se(np.array(diffs))
            entry[f"vs_{other}"] = {"mean": mean, "se": se}
            entry["beats_both"] = bool(entry["beats_both"] and mean > 0)
        entry["significant"] = bool(
            entry["beats_both"]
            and all(
                entry[f"vs_{o}"]["mean"] > 2 * (entry[f"vs_{o}"]["se"] or 0.0)
                for o in ("target-only", "zero-shot")
            )
        )
        out.append(entry)
    return out


def transfer_markdown(report: dict[str, Any]) -> str:
    """The report of :func:`transfer_table` as Markdown."""
    s = report["settings"]
    lines = [
        f"# Transfer of accuracy predictors across datasets: {report['space']}",
        "",
        f"- table: `{report['table']['path']}` (manifest checksum `{report['table']['checksum']}`)",
        f"- methods: {', '.join(s['methods'])}; target train sizes: {', '.join(map(str, s['train_sizes']))}",
        f"- {s['trials']} random splits per size (seed {s['seed']}), the harness's: test set = every "
        "architecture of a class with no member in the training set, and its top 10 % by true target "
        "value; target = the target's seed-mean accuracy",
        "- every method may read the source accuracy of every architecture (prior knowledge); the target's "
        'accuracy only on its training set (docs/surrogates.md, "Transfer across datasets")',
    ]
    if report.get("generated"):
        lines.append(f"- generated {report['generated']} on {report.get('machine', 'unknown machine')}")
    lines += [
        "",
        "Values are mean ± standard error over the splits.",
        "",
        "## Verdicts (Kendall tau, all held-out archs)",
        "",
    ]
    lines += [
        "Does the best transfer method (residual or meta) beat both target-only and zero-shot? "
        "Differences are paired over the same splits (mean ± s.e.); *significant* = both above 2 s.e.",
        "",
        "| source -> target | n | best | - target-only | - zero-shot | beats both |",
        "|---|---:|---|---:|---:|---|",
    ]
    wins = {size: 0 for size in VERDICT_SIZES}
    for pair in report["pairs"]:
        for v in pair["verdicts"]:
            wins[v["train_size"]] += v["beats_both"]
            word = ("yes (significant)" if v["significant"] else "yes") if v["beats_both"] else "**no**"
            lines.append(
                f"| {pair['source']} -> {pair['target']} | {v['train_size']} | {v['best']} | "
                f"{_fmt(v['vs_target-only'])} | {_fmt(v['vs_zero-shot'])} | {word} |"
            )
    n = len(report["pairs"])
    lines += [
        "",
        "Pairs where it beats both: " + "; ".join(f"{wins[k]} of {n} at {k}" for k in VERDICT_SIZES) + ".",
    ]
    for pair in report["pairs"]:
        lines += ["", f"## {pair['source']} -> {pair['target']} ({pair['n_archs']:,} architectures)", ""]
        c = pair["ceiling"]
        if c.get("available"):
            lines.append(
                f"Seed-noise ceiling of {pair['target']} (Kendall tau, seed vs seed / vs mean of the rest): "
                f"all {c['kendall_tau_seed_vs_seed']:.3f} / {c['kendall_tau_seed_vs_rest']:.3f}; top 10 % "
                f"{c['top10_kendall_tau_seed_vs_seed']:.3f} / {c['top10_kendall_tau_seed_vs_rest']:.3f}."
            )
        else:
            lines.append(f"Seed-noise ceiling: not available ({c.get('reason')}).")
        lines += [
            "",
            "| method | n | tau | tau top 10 % | rho | R2 | MAE | P@1% | P@5% |",
            "|---|---:|" + "---:|" * 7,
        ]
        rows = {(r["model"], r["train_size"], r["test_set"]): r for r in pair["summary"]}
        for method in s["methods"]:
            for size in s["train_sizes"]:
                r, top = rows.get((method, size, "all")), rows.get((method, size, "top10"))
                if r is None:
                    continue
                cells = [
                    _fmt(r["kendall_tau"]),
                    _fmt(top["kendall_tau"]),
                    _fmt(r["spearman"]),
                    _fmt(r["r2"]),
                    _fmt(r["mae"], 2),
                    _fmt(r["precision_top1pct"]),
                    _fmt(r["precision_top5pct"]),
                ]
                lines.append(f"| {method} | {size} | " + " | ".join(cells) + " |")
    if report.get("plot"):
        lines += ["", f"![Kendall tau on the target against target train size]({report['plot']})"]
    return "\n".join(lines) + "\n"


def plot_transfer(report: dict[str, Any], path: str | Path) -> Path:
    """One panel per pair: Kendall tau (all held-out archs) against target train size per method
    (size 0 drawn at 1 on the log axis), the ceiling band in grey; written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = report["pairs"]
    cols = min(3, len(pairs))
    rows_n = math.ceil(len(pairs) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3.4 * rows_n), squeeze=False)
    for ax, pair in zip(axes.flat, pairs):
        for method in report["settings"]["methods"]:
            rows = sorted(
                (r for r in pair["summary"] if r["model"] == method and r["test_set"] == "all"),
                key=lambda r: r["train_size"],
            )
            x = [max(r["train_size"], 1) for r in rows]
            y = [r["kendall_tau"]["mean"] for r in rows]
            err = [
                r["kendall_tau"]["se"]
                if r["kendall_tau"]["se"] is not None and math.isfinite(r["kendall_tau"]["se"])
                else 0.0
                for r in rows
            ]
            ax.errorbar(x, y, yerr=err, marker="o", ms=3, label=method)
        c = pair["ceiling"]
        if c.get("available"):
            low, high = c["kendall_tau_seed_vs_seed"], c["kendall_tau_seed_vs_rest"]
            ax.axhspan(min(low, high), max(low, high), color="grey", alpha=0.3, label="seed ceiling")
        ax.set_xscale("log")
        ax.set_title(f"{pair['source']} -> {pair['target']}", fontsize="medium")
        ax.set_xlabel("target train size (0 at 1)")
        ax.set_ylabel("Kendall tau")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(pairs) :]:
        ax.axis("off")
    axes.flat[0].legend(loc="lower right", fontsize="x-small")
    fig.tight_layout()
    return save_png(fig, path)


def save_png(fig: Any, path: str | Path) -> Path:
    """Write a matplotlib figure as PNG through the atomic writer and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return _atomic.write_bytes(Path(path), buffer.getbuffer())


def write_report_files(
    report: dict[str, Any],
    directory: str | Path,
    stem: str,
    plot: Callable[[dict[str, Any], Path], Path],
    markdown: Callable[[dict[str, Any]], str],
) -> list[Path]:
    """Write ``stem.png`` (``plot``), ``stem.json`` and ``stem.md`` (``markdown``) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    png = plot(report, directory / f"{stem}.png")
    report = {**report, "plot": png.name}
    json_path = _atomic.write_text(directory / f"{stem}.json", to_json_text(report))
    md_path = _atomic.write_text(directory / f"{stem}.md", markdown(report))
    return [json_path, md_path, png]


def write_transfer_report(report: dict[str, Any], directory: str | Path, stem: str) -> list[Path]:
    """Write ``stem.json``, ``stem.md`` and ``stem.png`` into ``directory``; returns the paths."""
    return write_report_files(report, directory, stem, plot_transfer, transfer_markdown)
