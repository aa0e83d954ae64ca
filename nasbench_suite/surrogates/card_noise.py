"""The model card's noise section: the seed-noise model against the table, the per-architecture
decoupling noise, and the roughness draws with their check (docs/surrogates.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def noise_section(m: Mapping[str, Any]) -> list[str]:
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
            "Roughness: the table is rougher than a smooth fit, so each architecture gets one "
            "fixed draw, shared by its accuracies, with the spread of the held-out (cross-validated) "
            "residual less the seed noise of the seed mean and less the spread the shipped fit "
            "already has around the held-out one, per quantile bin of the held-out prediction "
            '(docs/surrogates.md, "Roughness"). Its std: '
            + "; ".join(
                f"{d} {min(r['stds']):.2f} to {max(r['stds']):.2f} (top bin {r['stds'][-1]:.2f})"
                for d, r in rough
            )
            + ".",
            "",
        ]
        checks = [
            (d, check)
            for d, e in sorted(m["datasets"].items())
            if (check := e["targets"][e["metric"]].get("roughness_check"))
        ]
        if checks:
            lines += [
                "Std around the held-out fit, all architectures / top 5 % (the table's less its "
                "seed-mean noise; the answers are the fit plus the draws):",
                "",
                "| dataset | table | shipped fit | answers |",
                "|---|---:|---:|---:|",
            ]
            lines += [
                f"| {d} | {c['table']:.3f} / {c['top_table']:.3f} | {c['fitted']:.3f} / "
                f"{c['top_fitted']:.3f} | {c['answers']:.3f} / {c['top_answers']:.3f} |"
                for d, c in checks
            ]
            lines.append("")
    if any_check:
        lines.append(
            "With thousands of architectures the KS test detects even small shape differences "
            "(the p-value is small); the statistic and the per-bin spreads are the figures to judge."
        )
    return lines
