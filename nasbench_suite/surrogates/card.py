"""Model cards of surrogate artefacts: Markdown rendered from the manifest and the figures given.

A model card (``MODEL_CARD.md`` in the artefact directory) is written from the
manifest: what the surrogate was fitted on, its cross-validated quality per target,
the noise-model check and the artefact's size. The agreement section renders the
figures of the table-vs-surrogate agreement check when the caller passes them
(:mod:`nasbench_suite.checks.agreement` computes them and reads ``agreement.json``);
this module computes no statistic and runs nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nasbench_suite import _atomic
from nasbench_suite.provenance import provenance, provenance_lines
from nasbench_suite.stats import ALPHA
from nasbench_suite.surrogates import artefact
from nasbench_suite.surrogates.card_noise import noise_section

CARD = "MODEL_CARD.md"


# --- the model card -----------------------------------------------------------------


def artefact_size(root: str | Path) -> int:
    """Total bytes of the files under ``root``."""
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def _pm(stat: Mapping[str, float], digits: int = 2) -> str:
    mean, se = stat.get("mean"), stat.get("se")
    if mean is None or not math.isfinite(mean):
        return "n/a"
    if se is None or not math.isfinite(se):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def model_card_markdown(root: str | Path, agreement: Mapping[str, Any] | None = None) -> str:
    """The model card of the artefact in ``root``, as Markdown.

    Args:
        root: artefact directory (its manifest is read and checked).
        agreement: the content of ``agreement.json`` (``settings`` and ``datasets``
            as :func:`nasbench_suite.checks.agreement.agreement_figures` returns them,
            p-values included; ``checks.agreement.read_agreement`` completes older
            files), or None for an agreement section that says it was not checked.

    Raises:
        SurrogateArtefactError: from reading the manifest.
    """
    root = Path(root)
    m = artefact.read_manifest(root)
    table = m.get("training_table", {})
    model = m.get("model", {})
    lines = [
        f"# Model card: surrogate benchmark `{root.name}`",
        "",
        m.get("description") or "A surrogate benchmark fitted on a table.",
        "",
        "## What it was fitted on",
        "",
        f"- search space: `{m['space']}`"
        + (f" {json.dumps(m['space_config'])}" if m["space_config"] else ""),
        f"- training table: `{table.get('path', '?')}` ({table.get('n_archs', '?'):,} architectures); "
        f"checksum `{table.get('checksum', '?')}` ({table.get('checksum_kind', '')})",
        f"- datasets: {', '.join(sorted(m['datasets']))}",
        f"- model: `{model.get('name', '?')}` (seed {model.get('seed', 0)}), encoding "
        f"`{m.get('encoding')}`, parameters `{json.dumps(model.get('params', {}), sort_keys=True)}` "
        "(the rest are the predictor's defaults, recorded per target in the manifest)",
        f"- fitted {m.get('created', '?')} with "
        + ", ".join(f"{k} {v}" for k, v in sorted(m["libraries"].items())),
        "",
        "Each dataset has one model per target: the per-seed accuracy (fitted on the seed mean; "
        "runs add seed noise from the noise model), `valid_acc_mean` where the table has it, and the "
        "training time (`train_time_s`, fitted on log seconds; it is the cost of a query).",
        "",
        "## Held-out quality",
        "",
        "Out-of-fold predictions of K-fold cross-validation over every architecture of the table "
        "(the same model and settings as the shipped one; folds grouped by equivalence class, so that "
        "no class is in a training fold and its test fold at once, where the manifest says so); tau is "
        "Kendall's, R@k% the top-k % recall (the share of the true top k % in the predicted top k %).",
        "",
        "| dataset | target | n | folds | tau | sparse tau | Spearman | R2 | MAE | RMSE | R@1% | R@5% |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dataset, entry in sorted(m["datasets"].items()):
        for name, target in sorted(entry["targets"].items()):
            ev = target.get("evaluation") or {}
            unit = " (log s)" if target.get("transform") == "log" else ""
            lines.append(
                f"| {dataset} | {name}{unit} | {target.get('n_train', 0):,} | {ev.get('folds', 'none')} | "
                + " | ".join(
                    _f(ev.get(k))
                    for k in (
                        "kendall_tau",
                        "sparse_kendall_tau",
                        "spearman",
                        "r2",
                        "mae",
                        "rmse",
                        "precision_top1pct",
                        "precision_top5pct",
                    )
                )
                + " |"
            )
    lines += _top_section(m)
    lines += noise_section(m)
    lines += _size_section(root)
    lines += _agreement_section(agreement)
    lines += _provenance_section(root, m)
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from nasbench_suite import open_benchmark",
        f'bench = open_benchmark("{_open_argument(root)}")',
        f'r = bench.query(arch, "{sorted(m["datasets"])[0]}", seed="sample", rng=rng)',
        "```",
        "",
        "Seed policies answer like the table: `mean` the predicted seed mean (plus the architecture's "
        "fixed roughness draw where the manifest has one); a stored seed a "
        "deterministic draw keyed by (dataset, canonical architecture, seed); `sample` a draw from "
        "the caller's generator. Any architecture of the space can be queried. The surrogate "
        "imitates the table: it inherits the table's biases and cannot be better than its seeds.",
    ]
    return "\n".join(lines) + "\n"


def _provenance_section(root: Path, m: Mapping[str, Any]) -> list[str]:
    """Who fitted the artefact (from its manifest) and who rendered this card (now)."""
    identity = {
        "kind": "surrogate",
        "source": root.name,
        "checksum": artefact.file_checksum(root / artefact.MANIFEST),
    }
    fitted = m.get("provenance")
    lines = ["", "## Provenance", "", "Fitted by:", ""]
    if fitted:
        lines += [f"- {line}" for line in provenance_lines(fitted)]
    else:
        lines.append(
            f"- not recorded: fitted {m.get('created', '?')}, before artefacts recorded their provenance "
            "(the libraries above and the training table's checksum are what the manifest holds)"
        )
    lines += ["", "This card rendered by (the benchmark line is this artefact, its manifest checksum):", ""]
    lines += [f"- {line}" for line in provenance_lines(provenance(identity))]
    return lines


def _open_argument(root: Path) -> str:
    """What ``open_benchmark`` takes to open ``root``: a shipped artefact's name, else its path
    (as given when relative; ``path/to/NAME`` for an absolute one, which would not travel)."""
    if root.resolve().parent == artefact.shipped_root().resolve():
        return root.name
    return f"path/to/{root.name}" if root.is_absolute() else root.as_posix()


def _top_section(m: Mapping[str, Any]) -> list[str]:
    """Fidelity where a search ends: top-k % recall and the regret of the best architecture, out of
    fold, for the shipped model and for one seed against the others (the ceiling)."""
    rows = []
    for dataset, entry in sorted(m["datasets"].items()):
        for name, target in sorted(entry["targets"].items()):
            if name != entry.get("metric") or "fitted" not in target:
                continue  # the accuracy runs are judged by; the card's table above has the rest
            ev, ceiling = target.get("evaluation") or {}, target.get("ceiling") or {}
            # the benchmark's answers (fit plus roughness draw) where the target has them
            fit = target.get("answers") or target["fitted"]
            cells = [
                *(_f(ev.get(k)) for k in ("precision_top1pct", "precision_top5pct")),
                _f(ev.get("regret_best"), 2),
                *(_f(fit.get(k)) for k in ("kendall_tau", "precision_top1pct", "precision_top5pct")),
                _f(fit.get("regret_best"), 2),
                *(_f(ceiling.get(f"{k}_seed_vs_rest")) for k in ("precision_top1pct", "precision_top5pct")),
                _f(ceiling.get("regret_best_seed_vs_rest"), 2),
            ]
            rows.append(f"| {dataset} | {name} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return [
        "",
        "## At the top of the ranking",
        "",
        "A search ends among the best architectures, so the card gives the fidelity there: R@k% the "
        "top-k % recall, *regret* the true best seed mean less the true seed mean of the architecture "
        "the model ranks first (accuracy points: what a search that trusts the surrogate ends with). "
        "*Out of fold* is the cross-validation above; *shipped* what the shipped surrogate answers "
        "for the table's architectures with the `mean` seed policy (the model plus each "
        "architecture's fixed roughness draw; the model alone for targets without one), against "
        "the table's seed means: its best is the one a search on the surrogate finds; "
        "*one seed* ranks by one training seed against the mean of the others (mean over seeds): "
        "the seed-noise ceiling, what a single run tells about the top.",
        "",
        "| dataset | target | R@1% out of fold | R@5% out of fold | regret out of fold | tau shipped "
        "| R@1% shipped | R@5% shipped | regret shipped | R@1% one seed | R@5% one seed | regret one seed |",
        "|---|---|" + "---:|" * 10,
        *rows,
    ]


def _size_section(root: Path) -> list[str]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in files)
    models = sum(
        p.stat().st_size
        for p in files
        if p.suffix in (".ubj", ".json", ".pt") and p.name != artefact.MANIFEST
    )
    return [
        "",
        "## Size",
        "",
        f"{total / 1e6:.2f} MB in {len(files)} files (model files {models / 1e6:.2f} MB; "
        "the manifest, this card and the agreement figures are the rest).",
    ]


def _agreement_section(agreement: Mapping[str, Any] | None) -> list[str]:
    lines = ["", "## Agreement with the table", ""]
    if not agreement:
        return [
            *lines,
            "Not checked yet: run `nasbench surrogate card DIR --table TABLE.h5` to fill this section.",
        ]
    s = agreement["settings"]
    budgets = ", ".join(f"{d}: {json.dumps(b)}" for d, b in sorted(s.get("budgets", {}).items()))
    reports = s.get("report_metrics")
    same = (
        " Both backends report the metric the surrogate has ("
        + ", ".join(f"{d}: {m}" for d, m in sorted(reports.items()))
        + "), also where the table's own rule would pick another (x-test)."
        if reports
        else ""
    )
    lines += [
        f"Strategies {', '.join(s['strategies'])} were run on the training table and on this surrogate "
        f"with the experiment runner, seeds {s['seeds'][0]}..{s['seeds'][-1]} ({len(s['seeds'])} per "
        f"strategy and backend), W = {s.get('workers', 1)}, budgets {budgets}. Figures are the final "
        "regret (accuracy points of the report metric below the backend's own best architecture), mean ± "
        "standard error over seeds. *Within SE*: the two intervals overlap; even under perfect "
        "agreement two independent 1-SE intervals of equal width fail to overlap about 16 % of the time "
        "(|z| > 2 / sqrt(2) = 1.41), so a few misses among many pairs are expected. *p*: Welch's "
        "t-test of the final regrets on the table against the surrogate, then Holm-corrected across all "
        f"(dataset, strategy) pairs; a pair *differs significantly* when p < {ALPHA}. The order is by "
        "mean final regret, best first; *consistent* means every pair ordered differently is a tie "
        f"within SE on both backends.{same}",
        f"Generated {s.get('generated', '?')} on {s.get('machine', '?')}.",
        "",
    ]
    if s.get("note"):
        lines += [s["note"], ""]
    datasets = agreement["datasets"]
    same = sum(d["same_order"] for d in datasets.values())
    pairs = [(ds, name, e) for ds, d in sorted(datasets.items()) for name, e in d["strategies"].items()]
    outside = [f"{name} on {ds}" for ds, name, e in pairs if not e["within_se"]]
    differ = [f"{name} on {ds} (p = {e['p_holm']:.2g})" for ds, name, e in pairs if e["differs"]]
    lines += [
        f"**Summary:** the same order of strategies on {same} of {len(datasets)} datasets; final regrets "
        f"within SE for {len(pairs) - len(outside)} of {len(pairs)} (strategy, dataset) pairs"
        + (f" (not for {', '.join(outside)})" if outside else "")
        + f"; {len(differ)} of {len(pairs)} differ significantly (Welch, Holm-corrected, p < {ALPHA})"
        + (f": {', '.join(differ)}." if differ else "."),
        "",
    ]
    lines += [
        "| dataset | strategy | table | surrogate | within SE | p (Welch) | p (Holm) |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for dataset, d in sorted(datasets.items()):
        for name, e in d["strategies"].items():
            star = " *" if e["differs"] else ""
            lines.append(
                f"| {dataset} | {name} | {_pm(e['table'])} | {_pm(e['surrogate'])} | "
                f"{'yes' if e['within_se'] else 'no'} | {_p(e['p_welch'])} | {_p(e['p_holm'])}{star} |"
            )
    lines += ["", "| dataset | order on the table | order on the surrogate | same | consistent |"]
    lines.append("|---|---|---|---|---|")
    for dataset, d in sorted(datasets.items()):
        lines.append(
            f"| {dataset} | {' < '.join(d['order_table'])} | {' < '.join(d['order_surrogate'])} | "
            f"{'yes' if d['same_order'] else 'no'} | {'yes' if d['consistent_order'] else 'no'} |"
        )
    return lines


def write_model_card(root: str | Path, agreement: Mapping[str, Any] | None = None) -> Path:
    """Write ``root/MODEL_CARD.md`` from the manifest and the agreement figures
    (:func:`model_card_markdown`); returns its path."""
    root = Path(root)
    path = root / CARD
    return _atomic.write_text(path, model_card_markdown(root, agreement))
