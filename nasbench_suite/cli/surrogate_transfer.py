"""``nasbench surrogate transfer`` (predictors across datasets) and ``nasbench surrogate devices``
(few-shot latency across devices): parse, call the package, print."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nasbench_suite import _progress
from nasbench_suite.cli import EXIT_OK, UsageError
from nasbench_suite.cli._options import comma_list


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``transfer`` and ``devices`` to the ``nasbench surrogate`` group."""
    p = commands.add_parser(
        "transfer",
        help="rank quality on a target dataset from few target archs, with a source dataset's help",
    )
    p.add_argument("table", type=Path, help="table file (.h5)")
    p.add_argument("--source", required=True, help="source dataset(s), comma-separated")
    p.add_argument(
        "--target",
        required=True,
        help="target dataset(s), comma-separated; every ordered "
        "(source, target) pair of two different datasets is run",
    )
    p.add_argument(
        "--train-sizes", default="0,10,20,50,100,200", help="target train sizes (default: %(default)s)"
    )
    p.add_argument("--trials", type=int, default=10, help="random splits per size (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the splits and the models (default: 0)")
    p.add_argument("--methods", help="comma-separated methods (default: all)")
    p.add_argument("-o", "--out", type=Path, help="folder to write STEM.json, STEM.md and STEM.png into")
    p.add_argument(
        "--name", default="transfer", help="file stem of the written report (default: %(default)s)"
    )
    p.set_defaults(run=cmd_transfer)

    p = commands.add_parser(
        "devices", help="few-shot latency on new devices from the other devices' (HELP setting), NB201"
    )
    p.add_argument("latency_csv", type=Path, help="NB201 latencies, one column per device (HELP's file)")
    p.add_argument("--hwnas", type=Path, help="an nb201_hwnasbench_<dataset>.csv: its extra devices join")
    p.add_argument("--meta-train", help="meta-training devices, comma-separated (default: HELP's nine)")
    p.add_argument("--meta-test", help="meta-test devices, comma-separated (default: HELP's six)")
    p.add_argument("--trials", type=int, default=10, help="random draws per size (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws and the models (default: 0)")
    p.add_argument("-o", "--out", type=Path, help="folder to write STEM.json, STEM.md and STEM.png into")
    p.add_argument("--name", default="devices", help="file stem of the written report (default: %(default)s)")
    p.set_defaults(run=cmd_devices)


def _sizes(text: str, minimum: int) -> list[int]:
    try:
        sizes = [int(part) for part in comma_list(text, "--train-sizes")]
    except ValueError:
        raise UsageError(f"--train-sizes {text!r}: expected comma-separated integers") from None
    if any(s < minimum for s in sizes):
        raise UsageError(f"--train-sizes {text!r}: sizes must be >= {minimum}")
    return sizes


def cmd_transfer(args: argparse.Namespace) -> int:
    from nasbench_suite.surrogates.report import stamp
    from nasbench_suite.surrogates.transfer import TRANSFER_METHODS
    from nasbench_suite.surrogates.transfer_report import (
        transfer_markdown,
        transfer_table,
        write_transfer_report,
    )

    sources, targets = comma_list(args.source, "--source"), comma_list(args.target, "--target")
    pairs = [(s, t) for s in sources for t in targets if s != t]
    if not pairs:
        raise UsageError("--source and --target give no pair of two different datasets")
    methods = comma_list(args.methods, "--methods") if args.methods else list(TRANSFER_METHODS)
    unknown = sorted(set(methods) - set(TRANSFER_METHODS))
    if unknown:
        raise UsageError(f"--methods: unknown {unknown}; methods: {', '.join(TRANSFER_METHODS)}")
    if args.trials < 1:
        raise UsageError(f"--trials must be >= 1, not {args.trials}")
    report = transfer_table(
        args.table,
        pairs,
        train_sizes=_sizes(args.train_sizes, 0),
        trials=args.trials,
        seed=args.seed,
        methods=methods,
        progress=_progress.step_printer(),
    )
    report = stamp(report)
    if args.out is not None:
        paths = write_transfer_report(report, args.out, args.name)
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    sys.stdout.write(transfer_markdown(report))
    return EXIT_OK


def cmd_devices(args: argparse.Namespace) -> int:
    from nasbench_suite import spaces
    from nasbench_suite.surrogates import devices
    from nasbench_suite.surrogates.report import stamp
    from nasbench_suite.train.counting import nb201_stats
    from nasbench_suite.train.specs import dataset_spec

    if args.trials < 1:
        raise UsageError(f"--trials must be >= 1, not {args.trials}")
    if not args.latency_csv.is_file():
        raise UsageError(f"{args.latency_csv}: no such file")
    data = devices.read_latencies(args.latency_csv, args.hwnas)
    space = spaces.get("nb201")
    cifar10 = dataset_spec("cifar10")
    flops = [nb201_stats(space.validate(key), cifar10).flops_m for key in data["keys"]]
    report = devices.evaluate_devices(
        space,
        data,
        flops,
        meta_train=comma_list(args.meta_train, "--meta-train")
        if args.meta_train
        else devices.HELP_META_TRAIN,
        meta_test=comma_list(args.meta_test, "--meta-test") if args.meta_test else devices.HELP_META_TEST,
        trials=args.trials,
        seed=args.seed,
        progress=_progress.step_printer(),
    )
    source = {"latency_csv": args.latency_csv.name, "hwnas_csv": args.hwnas and args.hwnas.name}
    report = stamp({**report, "source": {**source, "mapping": data["mapping"]}})
    if args.out is not None:
        paths = devices.write_devices_report(report, args.out, args.name)
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    sys.stdout.write(devices.devices_markdown(report))
    return EXIT_OK
