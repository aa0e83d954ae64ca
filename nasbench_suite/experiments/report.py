"""Writing a leaderboard: Markdown, HTML, regret plots per dataset (against simulated time and
against evaluations), the critical-difference diagram across datasets and the runs' Parquet file.

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
from nasbench_suite.experiments.protocol import PROTOCOL_VERSION
from nasbench_suite.experiments.ranking import RankSummary
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
    """Write ``leaderboard.md``, ``leaderboard.html``, per dataset ``regret_<dataset>.png``
    (against simulated time; time budgets only) and ``regret_evals_<dataset>.png`` (against
    evaluations), ``critical_difference.png`` (average ranks across datasets, when two or more
    strategies ran on every dataset) and ``runs.parquet`` into the folder ``out`` (created if
    needed); returns the paths written, the two reports first.

    Each further section (``board.sections``, another benchmark) adds its part to the two reports
    and writes its files with the prefix ``<benchmark>_`` (``regret_<benchmark>_<dataset>.png``,
    ``critical_difference_<benchmark>.png``, ``runs_<benchmark>.parquet``).

    ``oneshot``: results of ``nasbench oneshot`` (one per method), shown as a section of their own
    beside the black-box strategies (``experiments.oneshot_report``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    parts = [_write_section(board, out, "", written)]
    for section in board.sections:
        parts.append(_write_section(section, out, f"{_slug(section.bench)}_", written))
    section = ""
    if oneshot:
        from nasbench_suite.experiments.oneshot_report import build_section, render_markdown

        section = render_markdown(build_section(oneshot))
    _atomic.write_text(out / "leaderboard.md", _markdown(board, parts, section))
    _atomic.write_text(out / "leaderboard.html", _html(board, parts, section))
    return [out / "leaderboard.md", out / "leaderboard.html", *written]


_Part = tuple[dict[str, dict[str, str]], "RankSummary | None", str]


def _write_section(board: Leaderboard, out: Path, prefix: str, written: list[Path]) -> _Part:
    """The runs file and the plots of one section: (dataset -> {what: image}, rank summary, its image)."""
    from nasbench_suite.experiments.plots import plot_critical_difference, plot_regret
    from nasbench_suite.experiments.ranking import rank_summary
    from nasbench_suite.experiments.trajectory import write_runs

    runs = f"runs_{prefix[:-1]}.parquet" if prefix else "runs.parquet"
    written.append(write_runs(out / runs, board.results, board.provenance))
    images: dict[str, dict[str, str]] = {}
    where = _bench_text(board)
    metadata = png_metadata(board.provenance)
    for b in board.boards:
        images[b.dataset] = {}
        plots = [("evals", "regret_evals", b.curves_evals, _evals_end(b), "evaluations")]
        if b.time_unit == "s":
            plots.insert(0, ("time", "regret", b.curves, b.budget_value, "simulated training time (s)"))
        for what, stem, curves, end, xlabel in plots:
            png = out / f"{stem}_{prefix}{_slug(b.dataset)}.png"
            title = f"{b.dataset}: regret against {xlabel.split(' (')[0]}\n{where}"
            plot_regret(curves, end, b.initial_regret, png, title, xlabel, metadata)
            images[b.dataset][what] = png.name
            written.append(png)
    summary = rank_summary(board)
    cd_name = f"critical_difference_{prefix[:-1]}.png" if prefix else "critical_difference.png"
    if summary is not None:
        title = f"Average rank by final regret over {', '.join(summary.datasets)}\n{where}"
        written.append(plot_critical_difference(summary, out / cd_name, title, metadata))
    return images, summary, cd_name


def _evals_end(b: DatasetBoard) -> float:
    """The x-axis end of a regret-against-evaluations plot: the budget, or the most evaluations
    any run made within a time budget."""
    if b.time_unit == "evals":
        return b.budget_value
    counts = [len(t) for runs in b.curves_evals.values() for t, _ in runs]
    return float(max(counts, default=1) or 1)


def _bench_text(board: Leaderboard) -> str:
    """``"nb201 (surrogate benchmark)"``: the benchmark and its kind, for titles."""
    kind = _bench_kind(board)
    return f"{board.bench} ({kind + ' benchmark' if kind else 'benchmark kind not recorded'})"


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
        f"W = {workers} simulated worker(s); protocol v{PROTOCOL_VERSION} and its metric rule in "
        "docs/protocol.md.",
        "Accuracy is the incumbent's report metric, measured on data the search never observed (the rule "
        "since protocol v2: x-test, or a held-out seed; each section names its rule); regret is the best "
        "seed-mean value in "
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


def _markdown(board: Leaderboard, parts: list[_Part], oneshot: str = "") -> str:
    lines = ["# Leaderboard", "", *_intro(board), "", *_markdown_body(board, *parts[0], oneshot)]
    for section, part in zip(board.sections, parts[1:]):
        lines += ["", f"# Section: benchmark `{section.bench}`", "", *_intro(section), ""]
        lines += _markdown_body(section, *part)
    return "\n".join(lines) + "\n"


def _budget_rule(board: Leaderboard, dataset: str) -> list[str]:
    rule = (board.settings.get("budget_rules") or {}).get(dataset)
    return [f"Budget: {rule}.", ""] if rule else []


def _markdown_body(
    board: Leaderboard,
    images: dict[str, dict[str, str]],
    summary: RankSummary | None,
    cd_name: str,
    oneshot: str = "",
) -> list[str]:
    lines: list[str] = []
    for b in board.boards:
        lines += [f"## {b.dataset} (budget {b.budget})", "", f"Rule: {b.rule}.", ""]
        lines += _budget_rule(board, b.dataset)
        lines += ["| " + " | ".join(HEADERS) + " |"]
        lines.append("|" + "---|" * len(HEADERS))
        lines += ["| " + " | ".join(_cells(row, b.best)) + " |" for row in b.rows]
        hypervolumes = _hypervolume_lines(b)
        if hypervolumes:
            lines += ["", "Hypervolume (normalised, higher is better; mean ± s.e.):", ""]
            lines += [f"- {line}" for line in hypervolumes]
        lines.append("")
        lines += [
            f"![regret against {_AGAINST[w]}, {b.dataset}]({name})" for w, name in images[b.dataset].items()
        ]
        lines.append("")
    if summary is not None:
        intro, rows = _rank_text(summary)
        lines += ["## Average rank across datasets", "", intro, ""]
        lines += ["| strategy | average rank | groups |", "|---|---|---|"]
        lines += [f"| {name} | {rank} | {groups} |" for name, rank, groups in rows]
        lines += ["", f"![critical-difference diagram of average ranks]({cd_name})", ""]
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
    return lines


def _html(board: Leaderboard, parts: list[_Part], oneshot: str = "") -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Leaderboard</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}"
        "tr.best{font-weight:bold}</style></head><body><h1>Leaderboard</h1>",
    ]
    out += [f"<p>{_code(e(line))}</p>" for line in _intro(board)]
    out += _html_body(board, *parts[0], oneshot)
    for section, part in zip(board.sections, parts[1:]):
        out.append(f"<h1>Section: benchmark <code>{e(section.bench)}</code></h1>")
        out += [f"<p>{_code(e(line))}</p>" for line in _intro(section)]
        out += _html_body(section, *part)
    out[-1] += "</body></html>"
    return "\n".join(out) + "\n"


def _html_body(
    board: Leaderboard,
    images: dict[str, dict[str, str]],
    summary: RankSummary | None,
    cd_name: str,
    oneshot: str = "",
) -> list[str]:
    e = html.escape
    parts: list[str] = []
    for b in board.boards:
        budget = "".join(f"<p>{e(line)}</p>" for line in _budget_rule(board, b.dataset) if line)
        parts.append(
            f"<h2>{e(b.dataset)} (budget {e(b.budget)})</h2><p>Rule: {e(b.rule)}.</p>{budget}<table><tr>"
        )
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
        parts += [
            f"<p><img src='{e(name)}' alt='regret against {_AGAINST[w]}, {e(b.dataset)}'></p>"
            for w, name in images[b.dataset].items()
        ]
    if summary is not None:
        intro, rows = _rank_text(summary)
        parts.append(f"<h2>Average rank across datasets</h2><p>{e(intro)}</p><table>")
        parts.append("<tr><th>strategy</th><th>average rank</th><th>groups</th></tr>")
        parts += [f"<tr><td>{e(n)}</td><td>{e(r)}</td><td>{e(g)}</td></tr>" for n, r, g in rows]
        parts.append(f"</table><p><img src='{e(cd_name)}' alt='critical-difference diagram'></p>")
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
    parts.append("</ul>")
    return parts


_AGAINST = {"time": "simulated time", "evals": "evaluations"}


def _rank_text(summary: RankSummary) -> tuple[str, list[tuple[str, str, str]]]:
    """The summary's explanation, and per strategy (best first) its average rank and the
    letters of the groups it belongs to (strategies sharing a letter do not differ)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    member = {
        n: "".join(letters[i % 26] for i, g in enumerate(summary.groups) if n in g)
        for n in summary.strategies
    }
    friedman = "n/a" if math.isnan(summary.friedman_p) else f"{summary.friedman_p:.2g}"
    intro = (
        f"Rank by final regret in each of {summary.n_blocks} blocks (dataset x seed: "
        f"{', '.join(summary.datasets)}), averaged; 1 is best. Strategies sharing a letter differ by "
        f"less than the critical difference CD = {summary.cd:.2f} (Nemenyi, alpha = {ALPHA}; Demsar 2006) "
        f"and are not significantly different; Friedman's test that all rank alike: p = {friedman}."
    )
    rows = [
        (n, f"{r:.2f}", member[n] or "-") for n, r in zip(summary.strategies, summary.avg_ranks, strict=True)
    ]
    return intro, rows


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
