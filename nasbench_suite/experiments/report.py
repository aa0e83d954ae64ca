"""Writing a leaderboard: Markdown, HTML, one regret plot per dataset and the runs' Parquet file.

The tables show, per dataset and strategy, the figures ``leaderboard.summarise``
(``leaderboard.run_leaderboard``) computes, each with its uncertainty (``docs/protocol.md`` defines them).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasbench_suite import _atomic
from nasbench_suite.experiments.leaderboard import BASELINE, DatasetBoard, Leaderboard
from nasbench_suite.provenance import png_metadata, provenance_lines
from nasbench_suite.stats import ALPHA

HEADERS = (
    "strategy",
    "runs",
    "evals",
    "final accuracy (%) mean ± s.e.",
    "median [IQR]",
    "final regret mean ± s.e.",
    "median [IQR]",
    "regret AUC mean ± s.e.",
    "avg rank ± s.e.",
    "Wilcoxon p vs best (Holm)",
    f"Wilcoxon p vs {BASELINE} (Holm)",
    "v1 accuracy − reported (selection bias) mean ± s.e.",
)


def _cells(row: dict[str, Any], best: str) -> list[str]:
    def pm(mean: float, se: float, digits: int = 2) -> str:
        return "n/a" if math.isnan(mean) else f"{mean:.{digits}f} ± {se:.{digits}f}"

    def med(m: float, lo: float, hi: float, digits: int = 2) -> str:
        return "n/a" if math.isnan(m) else f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"

    def p_value(p: float, reference: str, label: str) -> str:
        if row["strategy"] == reference:
            return label
        if math.isnan(p):
            return "n/a"
        return f"{p:.2g}{' *' if p < ALPHA else ''}"

    return [
        row["strategy"],
        str(row["runs"]),
        f"{row['evals_mean']:.0f}",
        pm(row["acc_mean"], row["acc_se"]),
        med(row["acc_median"], row["acc_q25"], row["acc_q75"]),
        pm(row["regret_mean"], row["regret_se"], 3),
        med(row["regret_median"], row["regret_q25"], row["regret_q75"], 3),
        pm(row["auc_mean"], row["auc_se"], 3),
        pm(row["rank_mean"], row["rank_se"]),
        p_value(row["p_holm"], best, "best"),
        p_value(row["p_rs_holm"], BASELINE, "reference"),
        pm(row.get("bias_mean", math.nan), row.get("bias_se", math.nan), 3),
    ]


def write_leaderboard(
    board: Leaderboard, out: str | Path, oneshot: Sequence[dict[str, Any]] | None = None
) -> list[Path]:
    """Write ``leaderboard.md``, ``leaderboard.html``, ``regret_<dataset>.png`` and ``runs.parquet``
    into the folder ``out`` (created if needed); returns the paths written, the two reports first.

    ``oneshot``: results of ``nasbench oneshot`` (one per method), shown as a section of their own
    beside the black-box strategies (``experiments.oneshot_report``)."""
    from nasbench_suite.experiments.plots import plot_regret
    from nasbench_suite.experiments.trajectory import write_runs

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_runs(out / "runs.parquet", board.results, board.provenance)]
    images = {}
    kind = _bench_kind(board)
    for b in board.boards:
        png = out / f"regret_{_slug(b.dataset)}.png"
        xlabel = "simulated training time (s)" if b.time_unit == "s" else "evaluations"
        title = f"{b.dataset}: regret ({board.bench}{', ' + kind if kind else ''})"
        plot_regret(
            b.curves, b.budget_value, b.initial_regret, png, title, xlabel, png_metadata(board.provenance)
        )
        images[b.dataset] = png.name
        written.append(png)
    section = ""
    if oneshot:
        from nasbench_suite.experiments.oneshot_report import build_section, render_markdown

        section = render_markdown(build_section(oneshot))
    _atomic.write_text(out / "leaderboard.md", _markdown(board, images, section))
    _atomic.write_text(out / "leaderboard.html", _html(board, images, section))
    return [out / "leaderboard.md", out / "leaderboard.html", *written]


def _bench_kind(board: Leaderboard) -> str:
    """``"table"`` or ``"surrogate"`` (from the provenance), or "" when not recorded."""
    return ((board.provenance or {}).get("benchmark") or {}).get("kind", "")


def _provenance_lines(board: Leaderboard) -> list[str]:
    if not board.provenance:
        return ["not recorded (runs written before reports carried their provenance)"]
    return provenance_lines(board.provenance)


def _intro(board: Leaderboard) -> list[str]:
    seeds = board.settings.get("seeds") or sorted({r.config.seed for r in board.results})
    workers = board.settings.get("workers") or (board.results[0].config.workers if board.results else 1)
    lines = [
        f"Benchmark `{board.bench}`; seeds {_seed_text(seeds)} ({len(seeds)} per strategy and dataset); "
        f"W = {workers} simulated worker(s); protocol and metric rule in docs/protocol.md.",
        "Accuracy is the incumbent's report metric, measured on data the search never observed (protocol "
        "v2: x-test, or a held-out seed; each section names its rule); regret is the best seed-mean value in "
        "the benchmark minus it (points; a held-out seed can beat the best mean, so a run's regret can dip "
        "below 0). The last column is the version-1 report (seed mean of the split the search observed, or "
        "of ori-test, which contains it) minus the reported accuracy. "
        "Regret AUC is the time-averaged regret over the budget (linear time). Ranks by final regret per "
        "seed. p: paired two-sided Wilcoxon signed-rank test of final regret against the best strategy "
        "(lowest mean final regret), and against random search, each Holm-corrected over the dataset's "
        f"comparisons; * marks p < {ALPHA}.",
    ]
    second = _second_objective(board)
    if second:
        lines.append(
            f"Second objective (minimised): `{second}`. Hypervolume of the (report accuracy, {second}) "
            "points each run evaluated, both scaled to [0, 1] by the benchmark's range, reference point "
            "(worst, largest); higher is better."
        )
    return lines


def _second_objective(board: Leaderboard) -> str | None:
    return board.settings.get("second_objective") or next(
        (r.config.second_objective for r in board.results if r.config.second_objective), None
    )


def _hypervolume_lines(b: DatasetBoard) -> list[str]:
    if all(math.isnan(row["hv_mean"]) for row in b.rows):
        return []
    return [f"{r['strategy']}: {r['hv_mean']:.4f} ± {r['hv_se']:.4f}" for r in b.rows]


def _seed_text(seeds: Sequence[int]) -> str:
    if seeds and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}..{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _timing_lines(board: Leaderboard) -> list[str]:
    """Computer time per strategy that ran, then the totals of model-free and model-based ones."""
    lines, totals = [], {"model-free": 0.0, "model-based": 0.0}
    for name in sorted(board.compute_s):
        if name in board.not_applicable and board.compute_s[name] == 0:
            continue
        kind = "model-based" if board.model_based.get(name) else "model-free"
        totals[kind] += board.compute_s[name]
        lines.append(f"{name} ({kind}): {board.compute_s[name]:.3g} s")
    lines += [f"all {kind} strategies: {total:.3g} s" for kind, total in totals.items() if total]
    return lines


def _markdown(board: Leaderboard, images: dict[str, str], oneshot: str = "") -> str:
    lines = ["# Leaderboard", "", *_intro(board), ""]
    for b in board.boards:
        lines += [f"## {b.dataset} (budget {b.budget})", "", f"Rule: {b.rule}.", ""]
        lines += ["| " + " | ".join(HEADERS) + " |"]
        lines.append("|" + "---|" * len(HEADERS))
        lines += ["| " + " | ".join(_cells(row, b.best)) + " |" for row in b.rows]
        hypervolumes = _hypervolume_lines(b)
        if hypervolumes:
            lines += ["", "Hypervolume (normalised, higher is better; mean ± s.e.):", ""]
            lines += [f"- {line}" for line in hypervolumes]
        lines += ["", f"![regret against simulated time, {b.dataset}]({images[b.dataset]})", ""]
    if board.not_applicable:
        lines += ["## Not applicable", ""]
        lines += [f"- {name}: {msg}" for name, msg in sorted(board.not_applicable.items())]
        lines.append("")
    if oneshot:
        lines += [oneshot.rstrip("\n"), ""]
    lines += ["## Provenance", ""]
    lines += [f"- {line}" for line in _provenance_lines(board)]
    lines.append("")
    lines += [
        "## Compute",
        "",
        f"{_wall_time(board)} Computer time per strategy (sum over runs):",
        "",
    ]
    lines += [f"- {line}" for line in _timing_lines(board)]
    return "\n".join(lines) + "\n"


def _html(board: Leaderboard, images: dict[str, str], oneshot: str = "") -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Leaderboard</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}"
        "tr.best{font-weight:bold}</style></head><body><h1>Leaderboard</h1>",
    ]
    parts += [f"<p>{_code(e(line))}</p>" for line in _intro(board)]
    for b in board.boards:
        parts.append(f"<h2>{e(b.dataset)} (budget {e(b.budget)})</h2><p>Rule: {e(b.rule)}.</p><table><tr>")
        parts += [f"<th>{e(h)}</th>" for h in HEADERS]
        parts.append("</tr>")
        for row in b.rows:
            cls = " class='best'" if row["strategy"] == b.best else ""
            parts.append(f"<tr{cls}>" + "".join(f"<td>{e(c)}</td>" for c in _cells(row, b.best)) + "</tr>")
        parts.append("</table>")
        hypervolumes = _hypervolume_lines(b)
        if hypervolumes:
            parts.append("<p>Hypervolume (normalised, higher is better; mean ± s.e.):</p><ul>")
            parts += [f"<li>{e(line)}</li>" for line in hypervolumes]
            parts.append("</ul>")
        parts.append(f"<p><img src='{e(images[b.dataset])}' alt='regret, {e(b.dataset)}'></p>")
    if board.not_applicable:
        parts.append("<h2>Not applicable</h2><ul>")
        parts += [f"<li>{e(n)}: {e(m)}</li>" for n, m in sorted(board.not_applicable.items())]
        parts.append("</ul>")
    if oneshot:
        # The section's Markdown table, shown as written: its own columns differ from the strategies'.
        title, _, body = oneshot.partition("\n")
        parts.append(f"<h2>{e(title.lstrip('# '))}</h2><pre>{e(body.strip())}</pre>")
    parts.append("<h2>Provenance</h2><ul>")
    parts += [f"<li>{_code(e(line))}</li>" for line in _provenance_lines(board)]
    parts.append("</ul>")
    parts.append(f"<h2>Compute</h2><p>{e(_wall_time(board))} Computer time per strategy:</p><ul>")
    parts += [f"<li>{e(line)}</li>" for line in _timing_lines(board)]
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"


def _wall_time(board: Leaderboard) -> str:
    """The sweep's wall time and where it ran (machine-dependent, unlike every other figure)."""
    if math.isnan(board.elapsed_s):
        return "Wall time of the sweep: not recorded."
    executor = board.settings.get("executor", "?")
    where = (
        "in one process" if executor == "serial" else f"{board.settings.get('processes') or 'all'} processes"
    )
    return f"Wall time of the sweep: {board.elapsed_s:.1f} s ({executor} executor, {where})."


def _code(escaped: str) -> str:
    """Markdown `code` spans of an already escaped line as HTML."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", escaped)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
