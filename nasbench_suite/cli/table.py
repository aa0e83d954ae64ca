"""Table commands: ``import``, ``info``, ``query``, ``verify``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from nasbench_suite.cli import EXIT_CORRUPT, EXIT_OK, UsageError
from nasbench_suite.cli._options import generator_seed


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the table subcommands to the ``nasbench`` parser."""
    from nasbench_suite import importers

    p = sub.add_parser("import", help="import a published benchmark or a user table into a table file")
    p.add_argument("importer", choices=importers.available(), help="source format")
    p.add_argument("source", type=Path, help="source folder or file")
    p.add_argument("-o", "--output", type=Path, required=True, help="table file to write (.h5)")
    p.add_argument("--space", help="search space of a csv/parquet source (default: its 'space' column)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(run=cmd_import)

    p = sub.add_parser(
        "info", help="describe a table (space, archs, datasets, seeds, metrics, missing) or a surrogate"
    )
    p.add_argument("table", help="table file, surrogate folder, or shipped benchmark name (nb201)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_info)

    p = sub.add_parser("query", help="results of one architecture")
    p.add_argument("table", help="table file, surrogate folder, or shipped benchmark name (nb201)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--arch", required=True, help="architecture in the space's text form")
    p.add_argument("--seed", default="mean", help="a stored seed, 'mean' (default) or 'sample'")
    p.add_argument(
        "--rng-seed", type=generator_seed, default=0, help="generator seed (>= 0) for --seed sample"
    )
    p.add_argument("--epoch", type=int, help="epoch for per-epoch results (default: end of training)")
    p.add_argument("--metrics", help="comma-separated metric names, or 'all' (default: per-seed results)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_query)

    p = sub.add_parser("verify", help="check every array of a table against its checksum (exit 1 if corrupt)")
    p.add_argument("table", type=Path)
    p.add_argument(
        "--compact", action="store_true", help="then, if sound, rewrite it as one part (folds in its appends)"
    )
    p.set_defaults(run=cmd_verify)


def _json_float(v: float) -> float | None:
    """JSON has no NaN or infinity: both print as null."""
    return v if math.isfinite(v) else None


def cmd_import(args: argparse.Namespace) -> int:
    from nasbench_suite import _atomic, importers
    from nasbench_suite.tabular import write_table

    _atomic.resolve_output(args.output)  # a FIFO or a device is refused before the import's work
    if args.output.exists() and not args.force:
        raise UsageError(f"{args.output} exists; pass --force to overwrite it")
    options: dict[str, Any] = {}
    if args.space:
        if args.importer != "csv":
            raise UsageError("--space applies to the csv importer only")
        options["space"] = args.space
    data = importers.import_table(args.importer, args.source, **options)
    write_table(args.output, data, overwrite=args.force)
    runs = sum(int(ds.present.sum()) for ds in data.datasets.values())
    print(f"wrote {args.output}: {data.n_archs} archs, {len(data.datasets)} datasets, {runs} runs")
    return EXIT_OK


def table_summary(path: Path) -> dict[str, Any]:
    """What ``info`` shows, as a JSON-able dict."""
    from nasbench_suite.tabular import Table
    from nasbench_suite.tabular.layout import json_checksum

    with Table(path) as table:
        m = table.manifest
        return {
            "path": str(path),
            "format": f"{m['format']} v{m['format_version']}",
            "manifest_checksum": json_checksum(m),
            "space": m["space"],
            "space_config": m["space_config"],
            "description": m["description"],
            "n_archs": m["n_archs"],
            "n_canonical": m["n_canonical"],
            "static_metrics": {k: _metric_summary(v) for k, v in sorted(m["static"].items())},
            "datasets": {
                name: {
                    "seeds": entry["seeds"],
                    "epochs": _epoch_range(entry["epochs"]),
                    "n_runs": entry["n_runs"],
                    "protocol": entry["protocol"],
                    "provenance": entry["provenance"],
                    "suspect": entry["provenance"].get("suspect"),
                    **{
                        kind: {k: _metric_summary(v) for k, v in sorted(entry[kind].items())}
                        for kind in ("per_seed", "curves", "per_arch")
                    },
                }
                for name, entry in sorted(m["datasets"].items())
            },
        }


def surrogate_summary(path: Path) -> dict[str, Any]:
    """What ``info`` shows of a surrogate artefact, as a JSON-able dict."""
    from nasbench_suite.bench import open_benchmark

    bench = open_benchmark(path)
    m = bench.manifest
    summary = {
        "path": str(path),
        "kind": "surrogate",
        "format": f"{m['format']} v{m['format_version']}",
        "space": m["space"],
        "space_config": m["space_config"],
        "description": m.get("description", ""),
        "manifest_checksum": bench.identity()["checksum"],
        "model": m.get("model", {}),
        "training_table": {k: v for k, v in m.get("training_table", {}).items() if k != "description"},
        "libraries": m["libraries"],
        "datasets": {
            name: {
                "seeds": entry.get("seeds", []),
                # The artefact predicts final results only: no learning curves, no epochs to ask for.
                "fidelity": f"final results only (epoch {entry.get('final_epoch', '?')}), no curves",
                "metric": entry.get("metric"),
                "targets": {
                    t: {"unit": v.get("unit", ""), "kendall_tau": _cv_tau(v)}
                    for t, v in sorted(entry["targets"].items())
                },
            }
            for name, entry in sorted(m["datasets"].items())
            if "targets" in entry
        },
    }
    for name, entry in sorted(m["datasets"].items()):
        if "curves" in entry:  # a learning-curve artefact
            summary["datasets"][name] = {
                "seeds": entry["seeds"],
                "fidelity": f"per-epoch curves, epochs {entry['epochs'][0]}..{entry['epochs'][-1]} "
                f"({entry['layout']} layout)",
                "metric": entry["metric"],
                "targets": {
                    t: {"unit": v.get("unit", ""), "kendall_tau": _last_epoch_tau(v)}
                    for t, v in sorted(entry["curves"].items())
                },
            }
    return summary


def _last_epoch_tau(curve: dict[str, Any]) -> float | None:
    rows = (curve.get("evaluation") or {}).get("per_epoch") or [{}]
    return rows[-1].get("kendall_tau")


def _cv_tau(target: dict[str, Any]) -> float | None:
    return (target.get("evaluation") or {}).get("kendall_tau")


def cmd_info(args: argparse.Namespace) -> int:
    from nasbench_suite.bench import resolve_source

    path = resolve_source(args.table)
    if path.is_dir():
        return _print_surrogate_info(surrogate_summary(path), args.json)
    summary = {"kind": "table", **table_summary(path)}
    if args.json:
        print(json.dumps(summary, indent=2))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console()
    console.print(f"[bold]{summary['path']}[/bold]  ({summary['format']})")
    if summary["description"]:
        console.print(summary["description"])
    console.print(
        f"space [bold]{summary['space']}[/bold]: {summary['n_archs']:,} archs, "
        f"{summary['n_canonical']:,} canonical classes"
    )
    for name, ds in summary["datasets"].items():
        grid = RichTable(
            title=f"{name}: seeds {ds['seeds']}, {ds['n_runs']:,} runs, epochs {ds['epochs']}",
            title_justify="left",
        )
        for col in ("metric", "kind", "unit", "missing"):
            grid.add_column(col)
        for kind in ("per_seed", "curves", "per_arch"):
            for metric, meta in ds[kind].items():
                grid.add_row(metric, kind, meta["unit"], f"{meta['n_missing']:,}")
        console.print(grid)
        if ds["suspect"]:
            flags = ds["suspect"]
            console.print(f"suspect entries: {flags['flagged']:,} flagged ({flags['reason']})", markup=False)
    if summary["static_metrics"]:
        grid = RichTable(title="table-wide metrics", title_justify="left")
        for col in ("metric", "unit", "missing"):
            grid.add_column(col)
        for metric, meta in summary["static_metrics"].items():
            grid.add_row(metric, meta["unit"], f"{meta['n_missing']:,}")
        console.print(grid)
    return EXIT_OK


def _print_surrogate_info(summary: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps(summary, indent=2))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console()
    console.print(f"[bold]{summary['path']}[/bold]  (surrogate benchmark, {summary['format']})")
    if summary["description"]:
        console.print(summary["description"])
    model = summary["model"]
    console.print(
        f"space [bold]{summary['space']}[/bold]; model {model.get('name', '?')}; "
        f"manifest checksum {summary['manifest_checksum']}"
    )
    for name, ds in summary["datasets"].items():
        grid = RichTable(title=f"{name}: seeds {ds['seeds']}, {ds['fidelity']}", title_justify="left")
        for col in ("target", "unit", "cross-validated Kendall tau"):
            grid.add_column(col)
        for target, meta in ds["targets"].items():
            tau = meta["kendall_tau"]
            grid.add_row(target, meta["unit"], "n/a" if tau is None else f"{tau:.3f}")
        console.print(grid)
    return EXIT_OK


def cmd_query(args: argparse.Namespace) -> int:
    import numpy as np

    from nasbench_suite import open_benchmark

    seed: int | str = args.seed
    if seed not in ("mean", "sample"):
        try:
            seed = int(seed)
        except ValueError:
            raise UsageError(f"--seed must be an integer, 'mean' or 'sample', not {args.seed!r}") from None
    metrics: Any = None
    if args.metrics:
        metrics = (
            "all" if args.metrics == "all" else [m.strip() for m in args.metrics.split(",") if m.strip()]
        )
    with open_benchmark(args.table) as bench:
        result = bench.query(
            args.arch,
            dataset=args.dataset,
            seed=seed,
            epoch=args.epoch,
            rng=np.random.default_rng(args.rng_seed),
            metrics=metrics,
        )
    record = {
        "arch": result.arch,
        "dataset": result.dataset,
        "seed": result.seed,
        "epoch": result.epoch,
        "metrics": {k: _json_float(v) for k, v in result.metrics.items()},
        "cost_s": _json_float(result.cost_s),
    }
    if args.json:
        print(json.dumps(record, indent=2))
        return EXIT_OK
    print(f"arch     {result.arch}\ndataset  {result.dataset}\nseed     {result.seed}")
    if result.epoch is not None:
        print(f"epoch    {result.epoch}")
    width = max((len(k) for k in result.metrics), default=0)
    for k, v in result.metrics.items():
        print(f"{k:<{width}}  {v:.6g}")
    print(f"{'cost_s':<{width}}  {result.cost_s:.6g}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from nasbench_suite.tabular import verify_table

    problems = verify_table(args.table)
    if problems:
        for p in problems:
            print(f"nasbench: corrupt: {args.table}: {p}", file=sys.stderr)
        return EXIT_CORRUPT
    print(f"{args.table}: sound")
    if args.compact:
        from nasbench_suite.tabular.writer import compact_table

        n_parts = compact_table(args.table)
        print(f"{args.table}: one part (it had {n_parts})")
    return EXIT_OK


def _metric_summary(meta: dict[str, Any]) -> dict[str, Any]:
    return {"unit": meta["unit"], "description": meta["description"], "n_missing": meta["n_missing"]}


def _epoch_range(epochs: list[int]) -> str:
    if not epochs:
        return "final only"
    return f"{epochs[0]}..{epochs[-1]}" if epochs == list(range(epochs[0], epochs[-1] + 1)) else str(epochs)
