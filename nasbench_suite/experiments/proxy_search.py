"""Training-free search beside its published figures: NASWOT at N = 10, 100, 1,000.

``nasbench proxies-search`` runs it.

Each run is the published algorithm through the runner: ``naswot`` with ``n_sample = N``
and ``budget_evals = N + 1`` (N proxy measurements, charged their compute time, then one
training of the best-scored architecture). Beside it, random search with one training
(N = 0: what the proxy adds). Figures per (dataset, N) over the seeds: the mean, standard
deviation and standard error of the reported accuracy of the trained architecture, its
regret, and the simulated seconds charged for the proxies. The published figures (Mellor
et al. 2021, CIFAR-10 test accuracy of NB201's ``cifar10`` training) are shown beside those
of CIFAR-10 with their regrets against the NB201 optimum, because the tables this project
reads hold ``cifar10-valid`` (another training split and a validation report).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.experiments.config import RunConfig
from nasbench_suite.experiments.executors import run_many
from nasbench_suite.experiments.runner import RunResult
from nasbench_suite.provenance import png_metadata, provenance_lines

#: Mellor et al., "Neural Architecture Search without Training", ICML 2021, NB201 table:
#: CIFAR-10 test accuracy (mean over 500 runs) at N = 10, 100, 1000.
PUBLISHED_NASWOT_CIFAR10_TEST = {10: 92.44, 100: 92.81, 1000: 92.96}
#: The best CIFAR-10 test accuracy in NB201 (Dong & Yang 2020, "optimal"), for the published regrets.
NB201_CIFAR10_TEST_OPTIMUM = 94.37


def sweep_configs(
    source: str, datasets: Sequence[str], n_samples: Sequence[int], seeds: Sequence[int], proxy: str
) -> list[RunConfig]:
    """The runs: per dataset, random search with one training (N = 0), then naswot at each N."""
    configs = []
    for dataset in datasets:
        for seed in seeds:
            configs.append(RunConfig("random", source, dataset, seed=seed, budget_evals=1))
        for n in n_samples:
            options = {"n_sample": int(n), "proxy": proxy}
            for seed in seeds:
                configs.append(
                    RunConfig(
                        "naswot", source, dataset, seed=seed, budget_evals=n + 1, strategy_options=options
                    )
                )
    return configs


def naswot_sweep(
    source: str,
    datasets: Sequence[str],
    n_samples: Sequence[int] = (10, 100, 1000),
    seeds: Sequence[int] = tuple(range(100)),
    proxy: str = "nwot",
    executor: str = "serial",
    processes: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run the sweep and return the report (JSON-able).

    Raises:
        StrategyError: the benchmark does not offer ``proxy`` for a dataset; the runner's errors.
    """
    from datetime import datetime, timezone

    from nasbench_suite.experiments.runner import open_cached
    from nasbench_suite.provenance import provenance

    configs = sweep_configs(source, datasets, n_samples, seeds, proxy)
    results = run_many(configs, executor, processes, on_progress=on_progress)
    rows = [_row(group) for group in _groups(results)]
    return {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "provenance": provenance(open_cached(source).identity()),
        "bench": source,
        "proxy": proxy,
        "seeds": len(seeds),
        "rule": results[0].rule if results else "",
        "rows": rows,
        "published": {
            "source": "Mellor et al. 2021 (ICML), NB201, CIFAR-10 test accuracy, mean of 500 runs",
            "accuracy": {str(n): a for n, a in PUBLISHED_NASWOT_CIFAR10_TEST.items()},
            "optimum": NB201_CIFAR10_TEST_OPTIMUM,
        },
    }


def _groups(results: list[RunResult]) -> list[list[RunResult]]:
    groups: dict[tuple[str, int], list[RunResult]] = {}
    for r in results:
        n = int(r.config.options.get("n_sample", 0)) if r.config.strategy == "naswot" else 0
        groups.setdefault((r.config.dataset, n), []).append(r)
    return list(groups.values())


def _row(group: list[RunResult]) -> dict[str, Any]:
    from nasbench_suite.stats import mean_se

    first = group[0]
    report = np.array([r.summary["final_report"] for r in group], dtype=float)
    regret = np.array([r.summary["final_regret"] for r in group], dtype=float)
    # A trained architecture without a report value (15 % of NB201's ImageNet16-120 archs have no
    # x-test accuracy) leaves its run without an incumbent: the figures are over the others.
    reported = np.isfinite(report)
    report, regret = report[reported], regret[reported]
    proxy_s = [float(np.sum(r.trajectory["cost_s"][r.trajectory["epoch"] == 0])) for r in group]
    mean, se = mean_se(report)
    regret_mean, regret_se = mean_se(regret)
    return {
        "dataset": first.config.dataset,
        "strategy": first.config.strategy,
        "n_sample": int(first.config.options.get("n_sample", 0)),
        "runs": len(group),
        "reported": int(reported.sum()),
        "report_mean": mean,
        "report_sd": float(np.std(report, ddof=1)) if len(report) > 1 else math.nan,
        "report_se": se,
        "regret_mean": regret_mean,
        "regret_se": regret_se,
        "best_report": float(first.summary["best_report"]),
        "proxy_s_mean": float(np.mean(proxy_s)),
    }


def sweep_markdown(report: dict[str, Any]) -> str:
    """The sweep as Markdown, the published figures beside CIFAR-10's rows."""
    pub = report["published"]
    lines = [
        f"# Training-free search (NASWOT) on {Path(report['bench']).name}: proxy `{report['proxy']}`",
        "",
        f"{report['seeds']} runs per row (seeds 0..{report['seeds'] - 1}); each run measures the proxy of N "
        "random architectures (charged their compute time on the simulated clock) and trains the best "
        "(`naswot`, `budget_evals = N + 1`); N = 0 is random search with one training.",
        f"Rule: {report['rule']}. A run whose trained architecture has no report value has no "
        "incumbent; the figures are over the runs reported.",
        f"Generated {report['generated']}.",
        f"Published: {pub['source']}; regret against the NB201 CIFAR-10 test optimum {pub['optimum']}.",
        "",
        "| dataset | N | runs reported | accuracy (mean ± s.e.) | s.d. | regret (mean ± s.e.) | "
        "proxy s charged | published accuracy | published regret |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        published = pub["accuracy"].get(str(r["n_sample"])) if r["dataset"].startswith("cifar10") else None
        pub_cells = (
            f"{published:.2f} | {pub['optimum'] - published:.2f}" if published is not None else "- | -"
        )
        lines.append(
            f"| {r['dataset']} | {r['n_sample']} | {r['reported']} of {r['runs']} | "
            f"{r['report_mean']:.2f} ± {r['report_se']:.2f} | "
            f"{r['report_sd']:.2f} | {r['regret_mean']:.2f} ± {r['regret_se']:.2f} | "
            f"{r['proxy_s_mean']:,.0f} | {pub_cells} |"
        )
    if report.get("plot"):
        lines += ["", f"![regret against N]({report['plot']})"]
    lines += ["", "Provenance:", ""] + [f"- {line}" for line in provenance_lines(report["provenance"])]
    return "\n".join(lines) + "\n"


def write_sweep(report: dict[str, Any], out: Path, stem: str = "search") -> list[Path]:
    """``STEM.json``, ``STEM.md`` and ``STEM.png`` (regret against N, published regrets beside)."""
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for dataset in dict.fromkeys(r["dataset"] for r in report["rows"]):
        rows = [r for r in report["rows"] if r["dataset"] == dataset]
        x = [max(r["n_sample"], 1) for r in rows]
        ax.errorbar(
            x, [r["regret_mean"] for r in rows], [r["regret_se"] for r in rows], marker="o", label=dataset
        )
    pub = report["published"]
    ns = sorted(int(n) for n in pub["accuracy"])
    ax.plot(
        ns,
        [pub["optimum"] - pub["accuracy"][str(n)] for n in ns],
        "k--",
        marker="s",
        label="published (CIFAR-10 test)",
    )
    ax.set_xscale("log")
    ax.set_xlabel("N architectures scored by the proxy (1: random search, one training)")
    ax.set_ylabel("regret (accuracy points)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata=png_metadata(report.get("provenance")))
    plt.close(fig)
    out = Path(out)
    paths = [out / f"{stem}.json", out / f"{stem}.md", out / f"{stem}.png"]
    report = {**report, "plot": paths[2].name}
    _atomic.write_bytes(paths[2], buffer.getvalue())
    _atomic.write_text(paths[0], json.dumps(report, indent=1, sort_keys=True) + "\n")
    _atomic.write_text(paths[1], sweep_markdown(report))
    return paths
