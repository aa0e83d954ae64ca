"""One-shot searches scored through a benchmark, and their leaderboard section (torch-free).

A search (``nasbench_suite.oneshot``) derives one architecture per supernet
epoch; :func:`score_runs` queries each in a benchmark (seed ``"mean"``) and adds
its accuracy and regret against the best architecture of the benchmark.
:func:`build_section` summarises scored files (mean +- s.e. over seeds of the
final accuracy, search cost, share of skip connections) beside the published
NAS-Bench-201 rows, and :func:`write_report` writes it as Markdown, JSON and a
trajectory plot.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.bench.base import Benchmark
from nasbench_suite.errors import NasbenchError
from nasbench_suite.stats import mean_se

#: NAS-Bench-201 (Dong & Yang, ICLR 2020), Table 5: accuracy (mean +- std over runs) of the
#: architecture each weight-sharing method found, cifar10-valid validation and CIFAR-10 test.
PUBLISHED_NB201 = {
    "darts": ("DARTS-V1", 39.77, 0.00, 54.30, 0.00),
    "darts2": ("DARTS-V2", 39.77, 0.00, 54.30, 0.00),
    "gdas": ("GDAS", 89.89, 0.08, 93.61, 0.09),
    "rsps": ("RSPS", 84.16, 1.69, 87.66, 1.69),
    "enas": ("ENAS", 37.51, 3.19, 53.89, 0.58),
}
PUBLISHED_SOURCE = "NAS-Bench-201 (Dong & Yang, ICLR 2020), Table 5"


class OneShotReportError(NasbenchError, ValueError):
    """A one-shot result file is unreadable or of another kind; the message names it."""


def check_benchmark(benchmark: Benchmark, space: str, dataset: str, metric: str) -> None:
    """Raises OneShotReportError when ``benchmark`` cannot score ``space`` on ``dataset``."""
    if benchmark.space.name != space:
        raise OneShotReportError(
            f"the benchmark holds the {benchmark.space.name!r} space; the supernet searches {space!r}"
        )
    if dataset not in benchmark.datasets:
        raise OneShotReportError(
            f"the benchmark has no dataset {dataset!r}; it has: {', '.join(benchmark.datasets)}"
        )
    if metric not in benchmark.metric_names(dataset):
        raise OneShotReportError(f"the benchmark has no metric {metric!r} for {dataset!r}")


def best_in_benchmark(benchmark: Benchmark, dataset: str, metric: str) -> tuple[str, float]:
    """The reference architecture with the highest seed-mean ``metric``, and that value."""
    keys = benchmark.reference_archs(dataset)
    values = benchmark.query_batch(keys, dataset, "mean", metrics=[metric])[metric].to_numpy(dtype=float)
    best = int(np.nanargmax(values))
    return keys[best], float(values[best])


def score_runs(
    runs: Sequence[dict[str, Any]], benchmark: Benchmark, dataset: str, metric: str
) -> dict[str, Any]:
    """Add ``acc`` (seed-mean ``metric``) and ``regret`` to every epoch and to each run's final arch."""
    best_arch, best = best_in_benchmark(benchmark, dataset, metric)
    archs = sorted({e["arch"] for run in runs for e in run["epochs"]})
    values = benchmark.query_batch(archs, dataset, "mean", metrics=[metric])[metric].to_numpy(dtype=float)
    acc = dict(zip(archs, values.tolist()))
    for run in runs:
        for e in run["epochs"]:
            e["acc"], e["regret"] = acc[e["arch"]], best - acc[e["arch"]]
        run["acc"], run["regret"] = run["epochs"][-1]["acc"], run["epochs"][-1]["regret"]
    return {"best_arch": best_arch, "best_acc": best, "metric": metric, "benchmark_dataset": dataset}


def rescore(result: dict[str, Any], benchmark: Benchmark, dataset: str | None, metric: str | None) -> None:
    """Score a ``nasbench oneshot`` result again in ``benchmark`` (e.g. a table after a surrogate).

    ``dataset`` and ``metric`` default to the ones the result was scored with.

    Raises:
        OneShotReportError: the benchmark cannot score the result's space, dataset or metric.
    """
    dataset = dataset or result["scoring"]["benchmark_dataset"]
    metric = metric or result["scoring"]["metric"]
    check_benchmark(benchmark, result["space"], dataset, metric)
    result["scoring"] = score_runs(result["runs"], benchmark, dataset, metric)
    result["benchmark"] = benchmark.identity()


def skip_share(arch: str) -> float:
    """Share of the six NB201 edges that are skip connections (the collapse's signature)."""
    return arch.count("skip_connect~") / 6


def load_results(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Read files written by ``nasbench oneshot``.

    Raises:
        OneShotReportError: a file that is not such a result.
    """
    out = []
    for path in paths:
        try:
            obj = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise OneShotReportError(f"{path}: cannot read a one-shot result ({exc})") from None
        if not isinstance(obj, dict) or obj.get("kind") != "oneshot" or not isinstance(obj.get("runs"), list):
            raise OneShotReportError(f"{path}: not a one-shot result (nasbench oneshot output)")
        out.append(obj)
    return out


def build_section(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One row per result file (method): final accuracy and regret mean +- s.e., search cost, skips."""
    rows = []
    for res in results:
        runs = res["runs"]
        acc_m, acc_se = mean_se([r["acc"] for r in runs])
        reg_m, reg_se = mean_se([r["regret"] for r in runs])
        cost_m, cost_se = mean_se([r["search_time_s"] for r in runs])
        cpu_m, cpu_se = mean_se([r.get("search_cpu_s", float("nan")) for r in runs])
        skip_m, _ = mean_se([skip_share(r["arch"]) for r in runs])
        published = PUBLISHED_NB201.get(res["method"])
        rows.append(
            {
                "method": res["method"],
                "protocol": res["protocol"]["name"],
                "seeds": [r["seed"] for r in runs],
                "acc": [acc_m, acc_se],
                "regret": [reg_m, reg_se],
                "search_time_s": [cost_m, cost_se],
                "search_cpu_s": [cpu_m, cpu_se],
                "skip_share": skip_m,
                "archs": [r["arch"] for r in runs],
                "hardware": runs[0]["hardware"] if runs else "",
                "published": list(published) if published else None,
            }
        )
    first = results[0] if results else {}
    return {
        "benchmark": first.get("benchmark", {}),
        "scoring": first.get("scoring", {}),
        "published_source": PUBLISHED_SOURCE,
        "rows": rows,
    }


def render_markdown(section: dict[str, Any]) -> str:
    """The leaderboard's one-shot section as Markdown."""
    scoring = section["scoring"]
    lines = [
        "## One-shot (weight-sharing) methods",
        "",
        f"Derived architecture scored in `{section['benchmark'].get('source', '?')}` "
        f"({scoring.get('benchmark_dataset', '?')}, seed-mean `{scoring.get('metric', '?')}`); regret "
        f"against the best in the benchmark ({scoring.get('best_acc', float('nan')):.2f}). "
        "Mean +- s.e. over seeds; search cost is the measured supernet wall time.",
        "",
        "| method | protocol | seeds | accuracy | regret | skip share | search wall (s) | search CPU (s) | "
        "published valid / test |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in section["rows"]:
        pub = row["published"]
        pub_text = f"{pub[0]}: {pub[1]:.2f}+-{pub[2]:.2f} / {pub[3]:.2f}+-{pub[4]:.2f}" if pub else "-"
        lines.append(
            f"| {row['method']} | {row['protocol']} | {len(row['seeds'])} | "
            f"{row['acc'][0]:.2f} +- {row['acc'][1]:.2f} | "
            f"{row['regret'][0]:.2f} +- {row['regret'][1]:.2f} | "
            f"{row['skip_share']:.2f} | {row['search_time_s'][0]:.0f} +- {row['search_time_s'][1]:.0f} | "
            f"{row['search_cpu_s'][0]:.0f} +- {row['search_cpu_s'][1]:.0f} | "
            f"{pub_text} |"
        )
    lines += ["", f"Published rows: {section['published_source']}.", ""]
    hardware = sorted({row["hardware"] for row in section["rows"]})
    lines += [f"Hardware: {', '.join(hardware)}.", "", "Final architectures per seed:", ""]
    for row in section["rows"]:
        lines += [f"- {row['method']}: " + ", ".join(f"`{a}`" for a in row["archs"])]
    return "\n".join(lines) + "\n"


def write_report(results: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """Write ``oneshot.md``, ``oneshot.json`` and ``oneshot.png`` (accuracy per epoch) under ``folder``."""
    from nasbench_suite.provenance import provenance, provenance_lines

    section = build_section(results)
    record = provenance(section["benchmark"] or None)
    section["provenance"] = record
    folder = Path(folder)
    md = render_markdown(section) + "\n" + "\n".join(provenance_lines(record)) + "\n"
    paths = [
        _atomic.write_text(folder / "oneshot.md", md),
        _atomic.write_text(folder / "oneshot.json", json.dumps(section, indent=1, sort_keys=True) + "\n"),
    ]
    paths.append(_plot(results, folder / "oneshot.png"))
    return paths


def _plot(results: Sequence[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for res in results:
        runs = res["runs"]
        acc = np.array([[e["acc"] for e in r["epochs"]] for r in runs])
        skips = np.array([[skip_share(e["arch"]) for e in r["epochs"]] for r in runs])
        epochs = np.arange(1, acc.shape[1] + 1)
        for ax, values in ((axes[0], acc), (axes[1], skips)):
            mean = values.mean(axis=0)
            se = values.std(axis=0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0 * mean
            ax.plot(epochs, mean, label=res["method"])
            ax.fill_between(epochs, mean - se, mean + se, alpha=0.2)
    axes[0].set(xlabel="supernet epoch", ylabel="benchmark accuracy of the derived arch (%)")
    axes[1].set(xlabel="supernet epoch", ylabel="share of skip connections")
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _atomic.replacing_file(path) as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return path
