"""Our proxies against the published ones and against trained accuracy: the report (torch-free).

For each proxy of a table written by ``nasbench proxies``:

- Spearman rho against the seed-mean 200-epoch accuracy of an accuracy table
  (``nb201.h5``, ``valid_acc_mean`` of ``cifar10-valid``), beside the |rho| that
  Abdelfattah et al. 2021 report for CIFAR-10, and beside the published files' own
  rho on the same architectures;
- against each published file (``nb201_zero_cost_cifar10.csv``, NASLib's 491-architecture
  JSON): rank correlation on the architectures both hold, and the median ratio
  ours / published (values agree where the definitions coincide);
- the two published files against each other on the architectures both hold.

``nasbench proxies-report`` writes ``proxies.md``, ``proxies.json`` and ``proxies.png``.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.proxies.published import PUBLISHED_NAMES, read_csv, read_naslib
from nasbench_suite.proxies.settings import metric_name
from nasbench_suite.stats import rank_correlations
from nasbench_suite.tabular import Table

#: Abdelfattah et al. 2021, Table (NB201): |Spearman rho| on CIFAR-10, CIFAR-100, ImageNet16-120.
ABDELFATTAH_RHO = {
    "grad_norm": (0.59, 0.64, 0.58),
    "snip": (0.60, 0.64, 0.58),
    "grasp": (0.51, 0.55, 0.55),
    "fisher": (0.36, 0.39, 0.33),
    "jacob_cov": (0.73, 0.70, 0.70),
    "synflow": (0.74, 0.76, 0.75),
}
_CSV = "nb201_zero_cost_cifar10.csv"
_NASLIB = "nb201_zero_cost_491_naslib.json"


def _pair(ours: dict[str, float], theirs: dict[str, float]) -> dict[str, Any]:
    keys = sorted(k for k in ours if k in theirs and math.isfinite(ours[k]) and math.isfinite(theirs[k]))
    x = np.array([ours[k] for k in keys])
    y = np.array([theirs[k] for k in keys])
    out: dict[str, Any] = {"n": len(keys)}
    if len(keys) >= 2:
        corr = rank_correlations(x, y)
        out.update(spearman=corr["spearman"], kendall_tau=corr["kendall_tau"])
        nonzero = (y != 0) & (x != 0)
        if nonzero.any():
            ratio = x[nonzero] / y[nonzero]
            out["median_ratio"] = float(np.median(ratio))
            out["within_10pct"] = float(np.mean(np.abs(ratio - 1) <= 0.10))
    return out


def build_report(
    table: Path,
    dataset: str,
    accuracy_table: Path,
    published: Path | None,
    accuracy_dataset: str = "cifar10-valid",
) -> dict[str, Any]:
    """The report's data (JSON-able): see the module docstring.

    Raises:
        TableError, UnknownDatasetError, UnknownMetricError: unreadable tables or names.
    """
    with Table(table) as t:
        info = t.dataset(dataset)
        proxies = list(info.protocol.get("proxies", []))
        keys = list(t.keys)
        values = {p: t.metric(dataset, metric_name(p), "per_arch") for p in proxies}
        times = t.metric(dataset, "zc_time_s", "per_arch")
        protocol = info.protocol
        hardware = {k: v for k, v in t.manifest.get("static_provenance", {}).items() if k.startswith("zc_")}
    done = np.isfinite(times)
    ours = {p: {k: float(v) for k, v, ok in zip(keys, values[p], done) if ok} for p in proxies}
    with Table(accuracy_table) as acc_table:
        acc_all = acc_table.metric(accuracy_dataset, "valid_acc_mean", "per_arch")
        accuracy = {k: float(acc_all[i]) for k, i in acc_table.row_of.items()}
    csv = read_csv(published / _CSV) if published and (published / _CSV).exists() else {}
    naslib = (
        read_naslib(published / _NASLIB, "cifar10") if published and (published / _NASLIB).exists() else {}
    )
    rows = []
    for p in proxies:
        name = PUBLISHED_NAMES.get(p)
        csv_p = {k: v[name] for k, v in csv.items() if name in v}
        naslib_p = {k: v[name] for k, v in naslib.items() if name in v}
        row: dict[str, Any] = {"proxy": p, "n": len(ours[p])}
        row["accuracy"] = _pair(ours[p], accuracy)
        row["published_rho_cifar10"] = ABDELFATTAH_RHO.get(p, (None,))[0]
        row["vs_csv"] = _pair(ours[p], csv_p)
        row["vs_naslib"] = _pair(ours[p], naslib_p)
        row["csv_vs_naslib"] = _pair(csv_p, naslib_p)
        in_csv = {k: v for k, v in csv_p.items() if k in ours[p]}
        row["csv_accuracy_same_archs"] = _pair(in_csv, accuracy)
        row["ours_accuracy_csv_archs"] = _pair({k: ours[p][k] for k in in_csv}, accuracy)
        rows.append(row)
    return {
        "table": str(table),
        "dataset": dataset,
        "accuracy": f"{accuracy_table.name}: {accuracy_dataset} valid_acc_mean (seed mean, 200 epochs)",
        "n_done": int(done.sum()),
        "n_listed": len(keys),
        "seconds_per_arch_median": float(np.median(times[done])) if done.any() else math.nan,
        "hardware": hardware,
        "settings": {k: v for k, v in protocol.items() if k != "conventions"},
        "conventions": protocol.get("conventions", {}),
        "proxies": rows,
    }


def _f(value: Any, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown."""
    lines = [
        "# Zero-cost proxies on NB201 (CIFAR-10) against published values and accuracy",
        "",
        "Generated by `nasbench proxies-report` from the table of `nasbench proxies`;"
        f" {report['n_done']} architectures computed ({report['table']}, dataset `{report['dataset']}`).",
        f"Accuracy: {report['accuracy']}. Median {_f(report['seconds_per_arch_median'])} s per architecture",
        f"for all proxies ({'; '.join(sorted(set(report['hardware'].values()))) or 'hardware unknown'}).",
        f"Settings: `{json.dumps(report['settings'], sort_keys=True)}`.",
        "",
        "## Spearman rho against accuracy",
        "",
        "| proxy | n | ours | published (Abdelfattah et al. 2021, CIFAR-10)"
        " | ours, CSV archs | CSV, same archs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in report["proxies"]:
        lines.append(
            f"| {r['proxy']} | {r['accuracy']['n']} | {_f(r['accuracy'].get('spearman'))}"
            f" | {_f(r['published_rho_cifar10'])} | {_f(r['ours_accuracy_csv_archs'].get('spearman'))}"
            f" (n={r['ours_accuracy_csv_archs']['n']}) | {_f(r['csv_accuracy_same_archs'].get('spearman'))} |"
        )
    lines += [
        "",
        "## Against the published per-architecture values",
        "",
        "Spearman rho, median ratio ours/published and share within 10 % on the architectures both hold.",
        "",
        "| proxy | vs CSV: n, rho, ratio, within 10 % | vs NASLib 491: n, rho, ratio, within 10 %"
        " | CSV vs NASLib: n, rho, ratio |",
        "| --- | --- | --- | --- |",
    ]

    def cell(d: dict[str, Any], share: bool = True) -> str:
        text = f"{d['n']}, {_f(d.get('spearman'))}, {_f(d.get('median_ratio'))}"
        return text + (f", {_f(d.get('within_10pct'))}" if share else "")

    for r in report["proxies"]:
        lines.append(
            f"| {r['proxy']} | {cell(r['vs_csv'])} | {cell(r['vs_naslib'])}"
            f" | {cell(r['csv_vs_naslib'], False)} |"
        )
    lines += ["", "## Conventions", ""]
    lines += [f"- **{k}**: {v}" for k, v in report["conventions"].items()]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], folder: Path) -> list[Path]:
    """Write ``proxies.md``, ``proxies.json`` and ``proxies.png`` (ours vs the CSV) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    md, js, png = folder / "proxies.md", folder / "proxies.json", folder / "proxies.png"
    _atomic.write_text(md, to_markdown(report))
    _atomic.write_text(js, json.dumps(report, indent=1, sort_keys=True, default=float) + "\n")
    _plot(report, png)
    return [md, js, png]


def _plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["proxies"]
    fig, axes = plt.subplots(1, len(rows), figsize=(2.2 * len(rows), 2.4))
    for ax, r in zip(np.atleast_1d(axes), rows):
        rho = r["accuracy"].get("spearman")
        published = r["published_rho_cifar10"]
        ax.bar([0, 1], [abs(rho) if rho is not None else 0, published or 0], color=["C0", "C1"])
        ax.set_xticks([0, 1], ["ours", "paper"])
        ax.set_ylim(0, 1)
        ax.set_title(r["proxy"], fontsize=9)
    fig.suptitle(f"|Spearman rho| with CIFAR-10 accuracy (n = {report['n_done']})", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    _atomic.write_bytes(path, buffer.getbuffer())
