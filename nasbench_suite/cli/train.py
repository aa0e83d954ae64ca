"""Trainer commands: ``train`` (architectures -> table entries), ``netstats``, ``validate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nasbench_suite.cli import EXIT_CORRUPT, EXIT_OK, UsageError


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the trainer subcommands to the ``nasbench`` parser."""
    p = sub.add_parser("train", help="train architectures for real and add the runs to a table")
    p.add_argument("--space", required=True, help="search space (nb201, nb101)")
    p.add_argument("--dataset", required=True, help="cifar10-valid, cifar10, cifar100 or synthetic")
    p.add_argument(
        "--data",
        required=True,
        help="image folder/zip, CIFAR python archive, download[:FOLDER] or synthetic[:N] (docs/trainer.md)",
    )
    p.add_argument("--archs", required=True, help="sample:N, all, or a file with one architecture a line")
    p.add_argument("--seeds", default="777", help="comma-separated training seeds (default 777)")
    p.add_argument(
        "--protocol",
        required=True,
        help="protocol name (nb201-200, nb201-12, nb201-proxy, nb201-tiny) or JSON file",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="table to create or extend (.h5)")
    p.add_argument("--table-dataset", help="dataset name in the table (default DATASET@PROTOCOL)")
    p.add_argument("--sample-seed", type=int, default=0, help="generator seed of --archs sample:N")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--ray-address", help="address of a running Ray cluster (default: start a local one)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:K (default: cuda when available)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1: this process)")
    p.add_argument(
        "--jobs-per-gpu", type=int, default=1, help="runs sharing one GPU (processes or Ray fraction)"
    )
    p.add_argument("--compile", action="store_true", help="torch.compile each network")
    p.add_argument(
        "--deterministic", action="store_true", help="deterministic algorithms (bit-reproducible on CPU)"
    )
    p.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads per worker (default: cores/workers)"
    )
    p.add_argument("--flush-every", type=int, default=16, help="runs per table append (default 16)")
    p.add_argument("--max-retries", type=int, default=2, help="Ray: retries of a failed run (default 2)")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("netstats", help="parameters and FLOPs of one or every architecture's network")
    p.add_argument("--space", required=True)
    p.add_argument("--dataset", required=True, help="gives the class count and input size")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--arch", help="architecture in the space's text form")
    group.add_argument("--all", action="store_true", help="every architecture of the space")
    p.add_argument("--protocol", help="count the network of this protocol (default: the published size)")
    p.add_argument(
        "--index-from",
        type=Path,
        help="nb201: where the official NATS-Bench index comes from: a table imported from the benchmark "
        "(.h5), the benchmark's meta.pickle.pbz2, or the NB201 data folder; without it the index column is "
        "the project's enumeration and is named enum_index",
    )
    p.add_argument("--csv", action="store_true", help="print CSV")
    p.set_defaults(run=cmd_netstats)

    p = sub.add_parser("validate", help="compare a benchmark's predictions with trained results (a report)")
    p.add_argument("benchmark", help="surrogate artefact, table file or benchmark name")
    p.add_argument("trained", type=Path, help="table of trained runs (nasbench train output)")
    p.add_argument("--dataset", help="dataset of the trained table (default: its only dataset)")
    p.add_argument("--benchmark-dataset", help="dataset name in the benchmark (default: the trained one)")
    p.add_argument(
        "--metric", default="valid_acc", help="per-seed metric of the trained table (default valid_acc)"
    )
    p.add_argument("--benchmark-metric", help="the benchmark's name for that metric (default: --metric)")
    p.add_argument("--level", type=float, default=0.9, help="nominal coverage of the interval (default 0.9)")
    p.add_argument("-o", "--output", type=Path, help="write the report here (.json, or .md for Markdown)")
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser(
        "fidelity", help="per-epoch rank fidelity of a trained table's curves against a benchmark"
    )
    p.add_argument("reference", help="the benchmark to rank against (table file or benchmark name)")
    p.add_argument("trained", type=Path, help="table of trained runs with per-epoch curves")
    p.add_argument("--dataset", help="dataset of the trained table (default: its only dataset)")
    p.add_argument("--reference-dataset", help="dataset in the reference (default: the trained one)")
    p.add_argument("--metric", default="valid_acc", help="curve of the trained table (default valid_acc)")
    p.add_argument("--reference-metric", help="the reference's metric (default: --metric)")
    p.add_argument("-o", "--output", type=Path, help="folder for fidelity.json, .md and .png")
    p.set_defaults(run=cmd_fidelity)


def _seeds(text: str) -> list[int]:
    try:
        seeds = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise UsageError(f"--seeds {text!r}: expected comma-separated integers") from None
    if not seeds:
        raise UsageError("--seeds: at least one seed")
    return seeds


def cmd_train(args: argparse.Namespace) -> int:
    from nasbench_suite.train.data import check_source
    from nasbench_suite.train.jobs import (
        LocalExecutor,
        TrainSettings,
        default_threads,
        parse_archs,
        train_to_table,
    )
    from nasbench_suite.train.networks import TRAINABLE_SPACES
    from nasbench_suite.train.protocols import load_protocol
    from nasbench_suite.train.specs import dataset_spec

    if args.space not in TRAINABLE_SPACES:
        raise UsageError(f"--space {args.space!r}: the trainer builds {', '.join(TRAINABLE_SPACES)}")
    dataset_spec(args.dataset)
    check_source(args.dataset, args.data)
    protocol = load_protocol(args.protocol)
    seeds = _seeds(args.seeds)
    archs = parse_archs(args.archs, args.space, args.sample_seed)
    if args.workers < 1 or args.jobs_per_gpu < 1 or args.flush_every < 1:
        raise UsageError("--workers, --jobs-per-gpu and --flush-every must be >= 1")
    device = args.device or _default_device()
    gpus = _gpu_count() if device.startswith("cuda") else 0
    if args.executor == "ray":
        from nasbench_suite.train.ray_jobs import RayExecutor

        executor = RayExecutor(
            address=args.ray_address,
            gpus_per_run=(1.0 / args.jobs_per_gpu) if device.startswith("cuda") else 0.0,
            max_retries=args.max_retries,
        )
        threads = args.threads or 1
    else:
        devices = None
        if device == "cuda" and gpus:
            devices = [f"cuda:{g}" for g in range(gpus) for _ in range(args.jobs_per_gpu)]
        workers = len(devices) if devices else args.workers
        executor = LocalExecutor(workers, devices if workers > 1 else None)
        threads = args.threads or default_threads(workers)
    settings = TrainSettings(
        space=args.space,
        dataset=args.dataset,
        data_source=str(args.data),
        protocol=protocol.to_dict(),
        device=device,
        compile=args.compile,
        deterministic=args.deterministic,
        jobs_per_device=args.jobs_per_gpu if device.startswith("cuda") else 1,
        threads=threads,
    )
    table_dataset = args.table_dataset or f"{args.dataset}@{protocol.name}"
    summary = train_to_table(
        args.output, settings, archs, seeds, executor, table_dataset, flush_every=args.flush_every
    )
    print(
        f"{args.output} [{table_dataset}]: {summary.trained} runs trained, {summary.skipped} already done"
        f" ({summary.recovered} moved from the journal), {len(summary.failures)} failed"
    )
    for (key, seed), message in summary.failures[:5]:
        print(f"failed: {key} seed {seed}: {message}", file=sys.stderr)
    return EXIT_CORRUPT if summary.failures else EXIT_OK


def _default_device() -> str:
    return "cuda" if _gpu_count() else "cpu"


def _gpu_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def cmd_netstats(args: argparse.Namespace) -> int:
    from nasbench_suite import spaces
    from nasbench_suite.train.networks import network_stats
    from nasbench_suite.train.protocols import load_protocol
    from nasbench_suite.train.specs import dataset_spec

    space = spaces.get(args.space)
    spec = dataset_spec(args.dataset)
    network = load_protocol(args.protocol).network if args.protocol else None
    official = _official_index(space, args.index_from) if args.index_from is not None else None
    if args.all:
        if args.space == "nb101":
            raise UsageError("--all for nb101 (423k cells) is not offered; pass --arch")
        archs = list(space.enumerate())
    else:
        archs = [space.parse(args.arch)]
    rows = []
    for arch in archs:
        key = space.key(arch)
        index = official.get(key) if official is not None else _enumeration_index(space, arch)
        rows.append((index, key, network_stats(args.space, arch, spec, network)))
    if official is not None:
        rows.sort(key=lambda row: (row[0] is None, row[0] or 0))
    if args.csv:
        print(f"{'index' if official is not None else 'enum_index'},arch,params_m,flops_m")
        for index, key, stats in rows:
            print(f"{'' if index is None else index},{key},{stats.params_m:.6f},{stats.flops_m:.5f}")
        return EXIT_OK
    label = "index" if official is not None else "enum_index"
    for index, key, stats in rows:
        shown = "-" if index is None else str(index)
        print(f"{label} {shown:>5}  {key}  params {stats.params_m:.6f} M  FLOPs {stats.flops_m:.5f} M")
    return EXIT_OK


def _official_index(space, source: Path) -> dict[str, int]:
    """Architecture key -> official NATS-Bench index, read from ``source`` (see ``--index-from``)."""
    if space.name != "nb201":
        raise UsageError(f"--index-from is for nb201, not {space.name}")
    if not source.exists():
        raise UsageError(f"--index-from {source}: no such file or folder")
    if source.suffix == ".h5":
        from nasbench_suite.tabular import Table

        with Table(source) as table:
            if table.space != "nb201" or "nats_index" not in table.static_metrics:
                raise UsageError(f"--index-from {source}: not an NB201 table with nats_index")
            indices = table.static("nats_index")
            return {key: int(i) for key, i in zip(table.keys, indices.tolist())}
    expected = "a NATS meta.pickle.pbz2 (meta_archs) or a CSV with index and arch columns"
    try:
        if source.name.endswith(".pbz2"):
            from nasbench_suite.safe_pickle import load_pbz2

            return {space.key(text): i for i, text in enumerate(load_pbz2(source)["meta_archs"])}
        import pandas as pd

        csv = source / "nb201_per_seed.csv" if source.is_dir() else source
        frame = pd.read_csv(csv, usecols=["index", "arch"]).drop_duplicates()
        return {space.key(text): int(i) for i, text in zip(frame["index"], frame["arch"])}
    except (ValueError, KeyError, TypeError, OSError) as exc:  # pandas' parser errors are ValueErrors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--index-from {source}: expected {expected} ({reason})") from None


def _enumeration_index(space, arch) -> int | None:
    # The index is the architecture's position in space.enumerate() (for NB201 the
    # product order of the op tuple, not the official NATS-Bench index).
    if space.name == "nb201":
        import numpy as np

        from nasbench_suite.spaces.nb201 import OPS

        return int(np.ravel_multi_index(space.to_codes(arch), (len(OPS),) * len(arch)))
    return None


def cmd_validate(args: argparse.Namespace) -> int:
    from nasbench_suite import open_benchmark
    from nasbench_suite.checks.validation import format_markdown, validate, write_report

    with open_benchmark(args.benchmark) as benchmark:
        report = validate(
            benchmark,
            args.trained,
            dataset=args.dataset,
            benchmark_dataset=args.benchmark_dataset,
            metric=args.metric,
            benchmark_metric=args.benchmark_metric,
            level=args.level,
            benchmark_name=args.benchmark,
        )
    if args.output:
        write_report(report, args.output)
    print(format_markdown(report), end="")
    return EXIT_OK


def cmd_fidelity(args: argparse.Namespace) -> int:
    from nasbench_suite import open_benchmark
    from nasbench_suite.checks.fidelity import epoch_fidelity, format_markdown, write_report

    with open_benchmark(args.reference) as reference:
        report = epoch_fidelity(
            reference,
            args.trained,
            dataset=args.dataset,
            reference_dataset=args.reference_dataset,
            metric=args.metric,
            reference_metric=args.reference_metric,
            reference_name=str(args.reference),
        )
    if args.output:
        write_report(report, args.output)
    print(format_markdown(report), end="")
    return EXIT_OK
