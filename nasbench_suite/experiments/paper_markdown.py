"""The report of a paper-protocol preset in Markdown and JSON (``nasbench reproduce``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from nasbench_suite import _atomic
from nasbench_suite.provenance import provenance_lines

#: What differs between every preset's published protocol and its run here, whatever the numbers.
PROTOCOL_DIFFERENCES = (
    "**Search signal.** The papers' strategies observe the 12-epoch validation accuracy of a random "
    "seed (`hp='12'`, `is_random=True`); the imported table has no 12-epoch results, so here they observe "
    "the 200-epoch one, a cleaner signal (its rank agreement with the final accuracy is that of a second "
    "seed, not of a short schedule), which favours every method and shrinks the spread over runs; where "
    "a 12-epoch table exists, the section 'What the 12-epoch signal costs' measures by how much.",
    "**Cost.** Each evaluation is charged the 200-epoch training time of its seed, against a budget of "
    "the paper's seconds x 200 / 12: the same number of evaluations when an epoch costs the same in both "
    "schedules. The papers also charge one validation pass per evaluation (about 3 % of a 12-epoch "
    "training on cifar10-valid, whose validation half is as large as its training half; under 0.5 % on "
    "cifar100 and ImageNet16-120); the tables hold no validation time, so runs here afford that much more.",
    "**Noise on cifar100 and ImageNet16-120.** The imported table has no per-seed validation accuracy there: "
    "the observed value is the validation seed mean plus seed noise fitted on the per-seed test accuracy "
    "(protocol v2), not the accuracy of one real seed.",
    "**CIFAR-10 test.** The papers report the ori-test accuracy of the `cifar10` training (train and valid "
    "halves together); the imported per-seed file holds `cifar10-valid` only, so that column is empty here.",
    "**BOHB.** The reference BOHB evaluates at 1..12 epochs of the 12-epoch schedule; the imported table "
    "stores final results only, so the runner refuses it (not applicable) rather than run it without "
    "fidelities.",
    "**Report split.** Beside the papers' seed mean the runner's own figure is given: on cifar10-valid the "
    "held-out seed (docs/protocol.md): with a 200-epoch signal the seed mean contains the observed seed, "
    "which the published 12-epoch search never saw; the gap is given as 'seed mean - held out'.",
    "**Suspect entries.** The 150 architectures the import flags (docs/importers.md) are included, as the "
    "papers included them.",
)


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    """Write ``<out>/<preset>.json`` and ``<out>/<preset>.md``; return their paths."""
    out = Path(out)
    paths = [out / f"{report['preset']}.json", out / f"{report['preset']}.md"]
    text = json.dumps(_nan_free(report), indent=1, sort_keys=True, allow_nan=False)
    _atomic.write_text(paths[0], text + "\n")
    _atomic.write_text(paths[1], report_markdown(report))
    return paths


def _nan_free(value: Any) -> Any:
    """``value`` with every NaN as None (JSON has no NaN; a missing figure reads as null)."""
    if isinstance(value, dict):
        return {k: _nan_free(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_free(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def _fig(mean: float, std: float | None = None, digits: int = 2) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def report_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: protocol, the published figures beside the project's, why they differ."""
    lines = [
        f"# {report['title']}",
        "",
        f"Published: {report['source']}. Here: {report['runs']} runs per method and dataset on "
        f"`{Path(report['bench']).name}` ({report['generated']}).",
        "",
        f"Figures: accuracy in %, mean ± std over the runs (std with ddof 0, as the papers' `np.std`); "
        f"'diff' is here minus published, in points and in standard errors of the difference (the "
        f"published mean's s.e. is its std / sqrt({report['published_runs']})). Published figures: "
        f"{report['published_note']}",
        "",
    ]
    for search in report["searches"]:
        lines += _search_section(search, report)
    if report.get("cheap_signal"):
        from nasbench_suite.experiments.paper_cheap_signal import cheap_signal_markdown

        lines += cheap_signal_markdown(report["cheap_signal"])
    lines += ["## Why the figures differ", ""]
    lines += [f"{i}. {text}" for i, text in enumerate(PROTOCOL_DIFFERENCES, 1)]
    lines += ["", "## Methods and settings", ""]
    lines += ["| method | strategy | options | reference script |", "|---|---|---|---|"]
    for row in report["searches"][0]["rows"]:
        options = ", ".join(f"{k}={v}" for k, v in sorted(row["options"].items())) or "defaults"
        lines.append(f"| {row['method']} | `{row['strategy']}` | {options} | {row['reference']} |")
    lines += ["", "Provenance:", ""] + [f"- {line}" for line in provenance_lines(report["provenance"])]
    return "\n".join(lines) + "\n"


def _search_section(search: dict[str, Any], report: dict[str, Any]) -> list[str]:
    lines = [
        f"## Searched on {search['label']} (`{search['dataset']}`)",
        "",
        f"Budget: {search['paper_budget_s']:,.0f} s of {report['cost_epochs']}-epoch cost in the paper = "
        f"{search['budget_s']:,.0f} simulated s of {report['full_epochs']}-epoch training time here.",
        "",
        "| method | column (split) | published | here | diff | diff / s.e. | runs |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in search["rows"]:
        for column in search["columns"]:
            cell = row["columns"][column["label"]]
            if row["status"] != "ok":
                here = "not applicable"
            elif not column["dataset"]:
                here = "not in the table"
            else:
                here = _fig(cell["mean"], cell["std"])
            diff = "-" if math.isnan(cell["difference"]) else f"{cell['difference']:+.2f}"
            z = "-" if math.isnan(cell["difference_in_se"]) else f"{cell['difference_in_se']:+.1f}"
            runs = str(cell["n"]) + (f" ({cell['missing']} without a value)" if cell.get("missing") else "")
            published = _fig(cell["published_mean"], cell["published_std"])
            lines.append(
                f"| {row['method']} | {column['label']} ({column['split']}) | {published} | {here} | {diff} "
                f"| {z} | {runs} |"
            )
    for column in search["columns"]:
        label = column["label"]
        published, here = _fig(search["published_optimum"][label]), _fig(search["optimum"][label])
        lines.append(f"| optimal | {label} ({column['split']}) | {published} | {here} | | | |")
    lines += ["", "The runner's own figures (docs/protocol.md rule) and the search effort:", ""]
    lines += ["| method | evaluations | runner's report (mean ± std; s.e.) | seed mean - held out | rule |"]
    lines += ["|---|---|---|---|---|"]
    for row in search["rows"]:
        if row["status"] != "ok":
            lines.append(f"| {row['method']} | - | not applicable: {row['message']} | - | - |")
            continue
        held = row["held_out"]
        gap = row.get("seed_mean_minus_held_out")
        gap_text = "-" if gap is None or math.isnan(gap) else f"{gap:+.3f}"
        lines.append(
            f"| {row['method']} | {row['n_evals']:.1f} | {_fig(held['mean'], held['std'])}; {held['se']:.3f} "
            f"| {gap_text} | {row['rule']} |"
        )
    return [*lines, ""]
