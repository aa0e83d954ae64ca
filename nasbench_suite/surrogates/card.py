"""Model cards of surrogate artefacts, and the figures of the table-vs-surrogate agreement check.

A model card (``MODEL_CARD.md`` in the artefact directory) is written from the
manifest alone: what the surrogate was fitted on, its cross-validated quality
per target, the noise-model check and the artefact's size. The agreement section
comes from ``agreement.json`` beside it when present: final regrets of search
strategies run on the training table and on the surrogate (``nasbench surrogate
card --table``, which runs them with the experiment runner; this module only
turns their results into figures, so it never imports the runner).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nasbench_suite.surrogates import artefact

AGREEMENT = "agreement.json"
CARD = "MODEL_CARD.md"


# --- agreement figures --------------------------------------------------------------


def _mean_se(values: list[float]) -> dict[str, float]:
    finite = [v for v in values if math.isfinite(v)]
    n = len(finite)
    if n == 0:
        return {"mean": math.nan, "se": math.nan, "n": 0}
    mean = sum(finite) / n
    se = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1) / n) if n > 1 else math.nan
    return {"mean": mean, "se": se, "n": n}


def _overlap(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """Whether the intervals mean ± SE of ``a`` and ``b`` overlap (an SE of NaN counts as 0)."""
    se_a = a["se"] if math.isfinite(a["se"]) else 0.0
    se_b = b["se"] if math.isfinite(b["se"]) else 0.0
    return abs(a["mean"] - b["mean"]) <= se_a + se_b


def _welch_p(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Two-sided p-value of Welch's t-test of two groups given their mean, SE and n.

    Identical to ``scipy.stats.ttest_ind(x, y, equal_var=False)`` on the raw values
    (the SE times sqrt(n) is the sample std), so saved figures can be re-tested.
    NaN when either group has fewer than two values or both have no spread.
    """
    from scipy import stats

    if a["n"] < 2 or b["n"] < 2 or not (math.isfinite(a["se"]) and math.isfinite(b["se"])):
        return math.nan
    if a["se"] == 0 and b["se"] == 0:
        return 1.0 if a["mean"] == b["mean"] else 0.0
    result = stats.ttest_ind_from_stats(
        a["mean"], a["se"] * math.sqrt(a["n"]), a["n"],
        b["mean"], b["se"] * math.sqrt(b["n"]), b["n"],
        equal_var=False,
    )  # fmt: skip
    return float(result.pvalue)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given; NaNs stay NaN and do not count)."""
    finite = sorted((p, i) for i, p in enumerate(pvalues) if math.isfinite(p))
    m = len(finite)
    adjusted = [math.nan] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(finite):
        # Step-down: the k-th smallest p is multiplied by (m - k), kept monotone.
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


#: Family-wise error rate of the table-vs-surrogate tests.
ALPHA = 0.05


def add_significance(datasets: Mapping[str, Any], alpha: float = ALPHA) -> None:
    """Add ``p_welch``, ``p_holm`` and ``differs`` to every (dataset, strategy) entry, in place.

    Welch's t-test of the final regrets on the table against the surrogate, per entry,
    Holm-corrected across all entries of all datasets (one family). Works from the
    stored mean, SE and n, so an ``agreement.json`` without p-values can be completed.
    """
    entries = [e for d in datasets.values() for _, e in sorted(d["strategies"].items())]
    raw = [_welch_p(e["table"], e["surrogate"]) for e in entries]
    for entry, p, adjusted in zip(entries, raw, holm(raw), strict=True):
        entry["p_welch"] = p
        entry["p_holm"] = adjusted
        entry["differs"] = bool(math.isfinite(adjusted) and adjusted < alpha)


def agreement_figures(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Compare final regrets of strategies on a table and on its surrogate, per dataset.

    Args:
        rows: one per run: ``backend`` (``"table"`` or ``"surrogate"``), ``dataset``,
            ``strategy``, ``seed`` and ``final_regret`` (accuracy points).

    Returns:
        ``{dataset: {"strategies": {name: {"table": {mean, se, n}, "surrogate": {...},
        "within_se": bool, "p_welch": float, "p_holm": float, "differs": bool}},
        "order_table": [...], "order_surrogate": [...], "same_order": bool,
        "consistent_order": bool, "all_within_se": bool}}``.
        Orders rank strategies by mean final regret (best first). ``within_se``: the
        two intervals mean ± SE overlap. ``p_welch``: Welch's t-test of table against
        surrogate; ``p_holm``: Holm-corrected across all (dataset, strategy) entries;
        ``differs``: ``p_holm`` < :data:`ALPHA`. ``consistent_order``: every pair of
        strategies ordered differently on the two backends is a tie within SE on both.
    """
    grouped: dict[str, dict[str, dict[str, list[float]]]] = {}
    for row in rows:
        backend = str(row["backend"])
        if backend not in ("table", "surrogate"):
            raise ValueError(f"backend must be 'table' or 'surrogate', not {backend!r}")
        by_strategy = grouped.setdefault(str(row["dataset"]), {}).setdefault(str(row["strategy"]), {})
        by_strategy.setdefault(backend, []).append(float(row["final_regret"]))
    out: dict[str, Any] = {}
    for dataset, strategies in sorted(grouped.items()):
        stats = {
            name: {
                "table": _mean_se(values.get("table", [])),
                "surrogate": _mean_se(values.get("surrogate", [])),
            }
            for name, values in sorted(strategies.items())
        }
        for entry in stats.values():
            entry["within_se"] = _overlap(entry["table"], entry["surrogate"])
        orders = {
            backend: sorted(stats, key=lambda s, b=backend: (stats[s][b]["mean"], s))
            for backend in ("table", "surrogate")
        }
        consistent = True
        names = list(stats)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                flipped = orders["table"].index(a) < orders["table"].index(b)
                flipped ^= orders["surrogate"].index(a) < orders["surrogate"].index(b)
                tie = all(_overlap(stats[a][k], stats[b][k]) for k in ("table", "surrogate"))
                if flipped and not tie:
                    consistent = False
        out[dataset] = {
            "strategies": stats,
            "order_table": orders["table"],
            "order_surrogate": orders["surrogate"],
            "same_order": orders["table"] == orders["surrogate"],
            "consistent_order": consistent,
            "all_within_se": all(e["within_se"] for e in stats.values()),
        }
    add_significance(out)
    return out


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
            as :func:`agreement_figures` returns them), or None for no agreement section.

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
        "(the same model and settings as the shipped one); tau is Kendall's, P@k% the overlap of the "
        "predicted and true top k %.",
        "",
        "| dataset | target | n | folds | tau | sparse tau | Spearman | R2 | MAE | RMSE | P@1% | P@5% |",
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
    lines += _noise_section(m)
    lines += _size_section(root)
    lines += _agreement_section(agreement)
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from nasbench_suite import open_benchmark",
        f'bench = open_benchmark("{root.name}")  # or the path of this folder',
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


def _noise_section(m: Mapping[str, Any]) -> list[str]:
    lines = [
        "",
        "## Noise model check",
        "",
        "Per-seed spread as a function of the seed mean (binned std, interpolated). For every "
        "architecture with two or more runs, the table's seed-to-seed difference (first two seeds) "
        "is compared with the difference of two draws of the noise model at the surrogate's predicted "
        "mean: two-sample KS statistic on the absolute differences, and the std of the differences by "
        "quantile bin of the table's seed mean.",
        "",
    ]
    any_check = False
    for dataset, entry in sorted(m["datasets"].items()):
        check = entry.get("noise_check")
        if not check:
            lines.append(
                f"- {dataset}: no noise model (the table has fewer than two seeds per architecture)."
            )
            continue
        any_check = True
        lines += [
            f"**{dataset}** (`{entry['metric']}`, {check['n_archs']:,} archs with 2+ runs): KS statistic "
            f"{check['ks_statistic']:.3f} (p = {check['ks_pvalue']:.2g}); std of differences "
            f"{check['table_diff_std']:.3f} in the table, {check['model_diff_std']:.3f} sampled.",
            "",
            "| seed mean from | to | table diff std | sampled diff std |",
            "|---:|---:|---:|---:|",
        ]
        for b in check["bins"]:
            lines.append(
                f"| {b['mean_from']:.2f} | {b['mean_to']:.2f} | {b['table_diff_std']:.3f} | "
                f"{b['model_diff_std']:.3f} |"
            )
        lines.append("")
    arch_checks = [
        (dataset, name, target["arch_noise_check"])
        for dataset, entry in sorted(m["datasets"].items())
        for name, target in sorted(entry["targets"].items())
        if target.get("arch_noise_check")
    ]
    if arch_checks:
        lines += [
            "Per-architecture metrics get one fixed draw per architecture of the decoupling noise "
            '(docs/surrogates.md, "Noise and cost models"), so that they follow the reference '
            "accuracy as loosely as in the table: std of the residual against a linear fit on the "
            "reference, in the table, in the fitted values, and in the fitted values with the draws.",
            "",
            "| dataset | metric | reference | table | fitted | fitted + draw |",
            "|---|---|---|---:|---:|---:|",
        ]
        for dataset, name, c in arch_checks:
            lines.append(
                f"| {dataset} | {name} | {c['reference']} | {c['table_residual_std']:.3f} | "
                f"{c['fitted_residual_std']:.3f} | {c['perturbed_residual_std']:.3f} |"
            )
        lines.append("")
    rough = [(d, e["roughness"]) for d, e in sorted(m["datasets"].items()) if e.get("roughness")]
    if rough:
        lines += [
            "Roughness: the table is rougher than the models' smooth fit, so each architecture gets one "
            "fixed draw, shared by its accuracies, with the spread of the held-out (cross-validated) "
            "residual less the seed noise of the seed mean, per quantile bin of the prediction "
            '(docs/surrogates.md, "Roughness"). Its std: '
            + "; ".join(
                f"{d} {min(r['stds']):.2f} to {max(r['stds']):.2f} (top bin {r['stds'][-1]:.2f})"
                for d, r in rough
            )
            + ".",
            "",
        ]
    if any_check:
        lines.append(
            "With thousands of architectures the KS test detects even small shape differences "
            "(the p-value is small); the statistic and the per-bin spreads are the figures to judge."
        )
    return lines


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
        "within SE on both backends.",
        f"Generated {s.get('generated', '?')} on {s.get('machine', '?')}.",
        "",
    ]
    if s.get("note"):
        lines += [s["note"], ""]
    datasets = copy.deepcopy(dict(agreement["datasets"]))
    if any("p_holm" not in e for d in datasets.values() for e in d["strategies"].values()):
        add_significance(datasets)  # figures saved before the test existed
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


def write_model_card(root: str | Path) -> Path:
    """Write ``root/MODEL_CARD.md`` from the manifest and ``root/agreement.json`` (if present)."""
    root = Path(root)
    agreement_path = root / AGREEMENT
    agreement = json.loads(agreement_path.read_text()) if agreement_path.is_file() else None
    path = root / CARD
    path.write_text(model_card_markdown(root, agreement))
    return path
