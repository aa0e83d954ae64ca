"""Model cards of learning-curve artefacts: per-epoch fidelity beside the table's own ceiling.

Rendered from the manifest with the sections the final-result card shares
(:mod:`nasbench_suite.surrogates.card`: size, agreement, provenance); this module
computes no statistic: the figures are the fit's (:mod:`nasbench_suite.surrogates.curves`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nasbench_suite import _atomic
from nasbench_suite.surrogates import artefact
from nasbench_suite.surrogates.card import (
    CARD,
    _agreement_section,
    _f,
    _open_argument,
    _provenance_section,
    _size_section,
)


def curve_card_markdown(root: str | Path, agreement: Mapping[str, Any] | None = None) -> str:
    """The model card of the learning-curve artefact in ``root``, as Markdown.

    Raises:
        SurrogateArtefactError: from reading the manifest.
    """
    root = Path(root)
    m = artefact.read_manifest(root)
    table = m.get("training_table", {})
    model = m.get("model", {})
    first = sorted(m["datasets"])[0]
    lines = [
        f"# Model card: learning-curve surrogate `{root.name}`",
        "",
        m.get("description") or "A learning-curve surrogate fitted on a table with per-epoch curves.",
        "",
        "## What it was fitted on",
        "",
        f"- search space: `{m['space']}`"
        + (f" {json.dumps(m['space_config'])}" if m["space_config"] else ""),
        f"- training table: `{table.get('path', '?')}` ({table.get('n_archs', '?'):,} architectures); "
        f"checksum `{table.get('checksum', '?')}` ({table.get('checksum_kind', '')})",
        f"- model: `{model.get('name', '?')}` (seed {model.get('seed', 0)}), encoding `{m.get('encoding')}`, "
        f"parameters `{json.dumps(model.get('params', {}), sort_keys=True)}`, "
        f"layout asked `{model.get('layout')}`",
        f"- fitted {m.get('created', '?')} with "
        + ", ".join(f"{k} {v}" for k, v in sorted(m["libraries"].items())),
        "",
        "Per dataset: the seed-mean curve of each accuracy (one model per epoch, or the curves' mean "
        "plus their first principal components, one model per component score: the layout with the "
        "lower held-out curve RMSE ships); the time of one epoch (log mean epoch time per architecture "
        "times the table's epoch profile; a query at epoch E costs epochs 1..E); the seed noise of a run's "
        'curve (docs/surrogates.md, "Learning-curve surrogates").',
    ]
    for dataset, entry in sorted(m["datasets"].items()):
        lines += _dataset_section(dataset, entry)
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
        f'r = bench.query(arch, "{first}", seed="sample", rng=rng, '
        f"epoch={m['datasets'][first]['epochs'][0]})",
        "```",
        "",
        "Any architecture of the space answers at every epoch of the table; `sample` is a fresh run "
        "whose seed comes back in the result, so a promoted run continues the same curve. The "
        "surrogate imitates the table: it inherits the table's protocol and cannot be better than its seeds.",
    ]
    return "\n".join(lines) + "\n"


def _dataset_section(dataset: str, entry: Mapping[str, Any]) -> list[str]:
    lines = ["", f"## {dataset}", ""]
    layouts = entry.get("layouts") or {}
    if layouts:
        lines.append(
            f"Layout shipped: **{entry['layout']}**. Held-out (cross-validated) curve RMSE and mean tau over "
            "epochs of each candidate: "
            + "; ".join(
                f"{k} {_f(v.get('curve_rmse'))} / {_f(v.get('mean_kendall_tau'))}"
                for k, v in sorted(layouts.items())
            )
            + "."
        )
    else:
        lines.append(f"Layout shipped: **{entry['layout']}** (no cross-validation).")
    for name, curve in sorted(entry["curves"].items()):
        ev = curve.get("evaluation") or {}
        lines += ["", f"### `{name}` per epoch", ""]
        if not ev:
            lines.append("No held-out figures (fitted with --cv-folds 0).")
            continue
        lines += [
            f"Out-of-fold predictions over {ev['n']:,} architectures against their seed-mean curve. The "
            "ceiling is the table's own: Kendall tau of one seed against the other on the architectures "
            "with both (`n pairs`), and the per-run seed spread (what a perfect predictor of the seed mean "
            "misses one run by).",
            "",
            "| epoch | tau | ceiling tau | RMSE | ceiling RMSE | n pairs |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for r in ev["per_epoch"]:
            lines.append(
                f"| {r['epoch']} | {_f(r.get('kendall_tau'))} | {_f(r.get('ceiling_tau'))} | "
                f"{_f(r.get('rmse'))} | {_f(r.get('ceiling_rmse'))} | {r.get('n_pairs', 0)} |"
            )
        lines += ["", f"Curve RMSE over all epochs: {_f(ev.get('curve_rmse'))}."]
    lines += _cost_lines(entry.get("cost"))
    lines += _noise_lines(entry.get("noise"), entry.get("noise_check"))
    return lines


def _cost_lines(cost: Mapping[str, Any] | None) -> list[str]:
    if not cost:
        return ["", "No training times in the table: queries cost NaN."]
    ev = cost.get("evaluation") or {}
    profile = ", ".join(f"{p:.3f}" for p in cost["profile"])
    return [
        "",
        f"Epoch time: {cost['n_train']:,} architectures; held-out tau {_f(ev.get('kendall_tau'))}, RMSE "
        f"{_f(ev.get('rmse_log'))} (log seconds); epoch profile (time of each epoch over the mean): "
        f"{profile}.",
    ]


def _noise_lines(noise: Mapping[str, Any] | None, check: Mapping[str, Any] | None) -> list[str]:
    if not noise:
        return [
            "",
            "No seed noise: fewer than 10 architectures with two complete runs; runs are the mean curve.",
        ]
    lines = [
        "",
        f"Seed noise: per epoch, the binned per-seed spread at the predicted mean; over epochs an AR(1) "
        f"process with rho = {noise['rho']:.3f} (fitted to the correlations of the table's standardised "
        "seed-pair differences); across metrics, correlation with the primary "
        + ", ".join(f"`{k}` {v:.3f}" for k, v in sorted(noise["correlation"].items()))
        + ".",
    ]
    if check and check.get("lag_correlation"):
        lines += ["", "| lag (epochs) | table correlation | model |", "|---:|---:|---:|"]
        lines += [f"| {r['lag']} | {r['table']:.3f} | {r['model']:.3f} |" for r in check["lag_correlation"]]
    for name, c in sorted((check or {}).get("metrics", {}).items()):
        if "model_diff_std" in c:
            lines += [
                "",
                f"`{name}`: std of seed-pair differences per epoch over {c['n_pairs']} pairs, table vs "
                "two sampled runs at the predicted mean: "
                + ", ".join(f"{t:.2f}/{s:.2f}" for t, s in zip(c["table_diff_std"], c["model_diff_std"]))
                + ".",
            ]
    return lines


def write_curve_card(root: str | Path, agreement: Mapping[str, Any] | None = None) -> Path:
    """Write ``root/MODEL_CARD.md`` of a learning-curve artefact; returns its path."""
    root = Path(root)
    return _atomic.write_text(root / CARD, curve_card_markdown(root, agreement))
