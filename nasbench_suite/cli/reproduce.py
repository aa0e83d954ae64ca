"""``reproduce``: a published search table re-run under its paper's protocol, figures side by side."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from nasbench_suite.cli import EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the ``reproduce`` subcommand to the ``nasbench`` parser."""
    from nasbench_suite.experiments.paper_presets import PRESETS, PUBLISHED_RUNS

    p = sub.add_parser(
        "reproduce",
        help="re-run a published search table under its paper's protocol (docs/protocol.md, presets)",
    )
    p.add_argument("preset", choices=sorted(PRESETS), help="the paper protocol")
    p.add_argument("--bench", required=True, help="the imported NB201 table (nasbench import nb201 ...)")
    p.add_argument(
        "--runs",
        type=int,
        default=PUBLISHED_RUNS,
        help=f"runs per method and dataset, seeds 0..RUNS-1 (default: {PUBLISHED_RUNS}, as published)",
    )
    p.add_argument(
        "--executor",
        default="serial",
        choices=("local", "serial", "ray"),
        help="serial: this process (default; a run takes a few hundredths of a second); local: a "
        "process pool; ray: a Ray cluster",
    )
    p.add_argument("--processes", type=int, help="worker processes of --executor local (default: all cores)")
    p.add_argument(
        "-o", "--out", type=Path, required=True, help="folder for PRESET.md and PRESET.json (created)"
    )
    p.set_defaults(run=cmd_reproduce)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from nasbench_suite import _atomic
    from nasbench_suite._progress import Progress
    from nasbench_suite.cli import UsageError
    from nasbench_suite.experiments.paper_markdown import write_report
    from nasbench_suite.experiments.paper_presets import get_preset
    from nasbench_suite.experiments.paper_report import reproduce

    if args.runs < 2:
        raise UsageError(f"--runs {args.runs}: a standard deviation needs at least 2 runs")
    _atomic.resolve_output(args.out, "dir")  # a file or a device in the way: refused before the runs
    preset = get_preset(args.preset)
    seeds = list(range(args.runs))
    total = args.runs * len(preset.methods) * len(preset.searches)
    with Progress(f"{preset.name}", total) as progress:
        report = reproduce(preset, args.bench, seeds, args.executor, args.processes, progress.advance)
    written = write_report(report, args.out)
    for search in report["searches"]:
        for row in search["rows"]:
            if row["status"] != "ok":
                print(f"{search['label']} {row['method']}: not applicable ({row['message']})")
                continue
            cells = [
                f"{label} {c['mean']:.2f}"
                + ("" if math.isnan(c["published_mean"]) else f" (published {c['published_mean']:.2f})")
                for label, c in row["columns"].items()
                if c["n"]
            ]
            print(f"{search['label']} {row['method']}: " + "; ".join(cells))
    print(f"wrote {', '.join(str(p) for p in written)}")
    return EXIT_OK
