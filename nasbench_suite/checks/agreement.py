"""Does a surrogate rank search strategies as its table does? The table-vs-surrogate agreement check.

Search strategies are run with the experiment runner on the training table and on the
surrogate fitted on it (the standard protocol, the surrogate's standard budget on both),
and their final regrets are compared per dataset and strategy: mean ± s.e. on each
backend, whether the two intervals overlap, Welch's t-test of table against surrogate
Holm-corrected over every (dataset, strategy) pair, and whether the strategies come in
the same order. The figures are saved as ``agreement.json`` in the artefact folder;
the model card (:mod:`nasbench_suite.surrogates.card`) renders them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nasbench_suite import _atomic
from nasbench_suite.stats import ALPHA, holm, mean_se, welch_p

#: File of the figures, in the artefact folder.
AGREEMENT = "agreement.json"


def agreement_check(
    root: Path,
    table: Path,
    strategies: list[str],
    seeds: list[int],
    datasets: list[str] | None = None,
    processes: int = 1,
) -> dict[str, Any]:
    """Run ``strategies`` on the table and on the surrogate in ``root`` (standard protocol, the
    surrogate's standard budget on both) and compare their final regrets (:func:`agreement_figures`).

    Args:
        root: the surrogate artefact folder.
        table: the table it was fitted on (``.h5``).
        strategies: strategy names.
        seeds: seeds of each strategy on each backend.
        datasets: datasets to check (default: every dataset of the surrogate).
        processes: worker processes of the runs (1: in this process).

    Returns:
        ``{"settings": ..., "datasets": ...}``, the content of ``agreement.json``.

    Raises:
        UnknownDatasetError: a dataset one of the two backends lacks; and the errors of
        ``open_benchmark``, ``standard_suite`` and ``run_many``.
    """
    from nasbench_suite.bench import open_benchmark
    from nasbench_suite.errors import UnknownDatasetError
    from nasbench_suite.experiments.executors import run_many
    from nasbench_suite.experiments.metrics import resolve_metrics
    from nasbench_suite.experiments.protocol import standard_budget, standard_suite
    from nasbench_suite.surrogates.report import stamp

    sources = {"surrogate": str(root.resolve()), "table": str(table.resolve())}
    benches = {name: open_benchmark(source) for name, source in sources.items()}
    datasets = datasets or benches["surrogate"].datasets
    for dataset in datasets:
        for bench in benches.values():
            if dataset not in bench.datasets:
                raise UnknownDatasetError(dataset, bench.datasets)
    budgets = {d: standard_budget(benches["surrogate"], d) for d in datasets}
    # Both backends report what the surrogate can: a table may also hold x-test (the rule's first
    # choice), a noisier half of the test set whose regrets are not the surrogate's to match.
    reports = {d: resolve_metrics(benches["surrogate"], d).report for d in datasets}
    backend_of: dict[str, str] = {}
    configs = []
    for name, bench in benches.items():
        for dataset in datasets:
            suite = standard_suite(
                bench,
                sources[name],
                strategies,
                [dataset],
                seeds,
                budgets=budgets,
                report_metric=reports[dataset],
            )
            configs += suite
            backend_of.update({c.bench: name for c in suite})
    results = run_many(configs, "local" if processes > 1 else "serial", processes)
    rows = [
        {
            "backend": backend_of[r.config.bench],
            "dataset": r.config.dataset,
            "strategy": r.config.strategy,
            "seed": r.config.seed,
            "final_regret": r.summary["final_regret"],
        }
        for r in results
        if r.ok
    ]
    settings = stamp(
        {
            "table": str(table),
            "strategies": strategies,
            "seeds": seeds,
            "workers": 1,
            "budgets": budgets,
            "report_metrics": reports,
            "n_runs": len(rows),
        }
    )
    return {"settings": settings, "datasets": agreement_figures(rows)}


def _summary(values: list[float]) -> dict[str, float]:
    # In-order arithmetic: the published agreement.json figures were computed with it.
    mean, se = mean_se(values, in_order=True)
    return {"mean": mean, "se": se, "n": sum(1 for v in values if math.isfinite(v))}


def _overlap(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """Whether the intervals mean ± SE of ``a`` and ``b`` overlap (an SE of NaN counts as 0)."""
    se_a = a["se"] if math.isfinite(a["se"]) else 0.0
    se_b = b["se"] if math.isfinite(b["se"]) else 0.0
    return abs(a["mean"] - b["mean"]) <= se_a + se_b


def _mean_se_n(group: Mapping[str, Any]) -> tuple[float, float, int]:
    return group["mean"], group["se"], group["n"]


def add_significance(datasets: Mapping[str, Any], alpha: float = ALPHA) -> None:
    """Add ``p_welch``, ``p_holm`` and ``differs`` to every (dataset, strategy) entry, in place.

    Welch's t-test of the final regrets on the table against the surrogate, per entry,
    Holm-corrected across all entries of all datasets (one family). Works from the
    stored mean, SE and n, so an ``agreement.json`` without p-values can be completed.
    """
    entries = [e for d in datasets.values() for _, e in sorted(d["strategies"].items())]
    raw = [welch_p(*_mean_se_n(e["table"]), *_mean_se_n(e["surrogate"])) for e in entries]
    for entry, p, adjusted in zip(entries, raw, holm(raw), strict=True):
        entry["p_welch"] = p
        entry["p_holm"] = float(adjusted)
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
        ``differs``: ``p_holm`` < :data:`~nasbench_suite.stats.ALPHA`. ``consistent_order``:
        every pair of strategies ordered differently on the two backends is a tie within
        SE on both.

    Raises:
        ValueError: a row whose backend is neither ``"table"`` nor ``"surrogate"``.
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
                "table": _summary(values.get("table", [])),
                "surrogate": _summary(values.get("surrogate", [])),
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


def write_agreement(root: str | Path, agreement: Mapping[str, Any]) -> Path:
    """Write ``agreement`` (as :func:`agreement_check` returns it) to ``root/agreement.json``."""
    from nasbench_suite.surrogates.report import to_json_text

    return _atomic.write_text(Path(root) / AGREEMENT, to_json_text(agreement))


def read_agreement(root: str | Path) -> dict[str, Any] | None:
    """The figures of ``root/agreement.json``, or None when the check was not run.

    A file saved before the significance test existed gets its p-values here (from the
    stored mean, SE and n); the file itself is left as it is.
    """
    path = Path(root) / AGREEMENT
    if not path.is_file():
        return None
    agreement = json.loads(path.read_text())
    datasets = agreement.get("datasets", {})
    if any("p_holm" not in e for d in datasets.values() for e in d["strategies"].values()):
        add_significance(datasets)
    return agreement
