"""Proxy commands: ``proxies`` (architectures -> zero-cost proxies in a table), ``proxies-report``,
``proxies-search`` (training-free search at several N beside the published figures)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nasbench_suite.cli import EXIT_CORRUPT, EXIT_OK, UsageError
from nasbench_suite.cli.search import SEEDS_HELP


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the proxy subcommands to the ``nasbench`` parser."""
    p = sub.add_parser("proxies", help="compute zero-cost proxies of architectures into a table")
    p.add_argument("--space", required=True, help="search space (nb201, nb101, or one with build_network)")
    p.add_argument(
        "--dataset", required=True, help="cifar10-valid, cifar10, cifar100, ImageNet16-120, synthetic"
    )
    p.add_argument(
        "--data",
        required=True,
        help="images as for nasbench train (folder, zip, archive, synthetic[:N]); none: data-free proxies",
    )
    p.add_argument("--archs", required=True, help="sample:N, all, or a file with one architecture a line")
    p.add_argument("--proxies", default="all", help="comma-separated proxy names, or all (default)")
    p.add_argument("-o", "--output", type=Path, required=True, help="table to create or extend (.h5)")
    p.add_argument("--table-dataset", help="dataset name in the table (default DATASET@zc)")
    p.add_argument("--batch-size", type=int, default=64, help="images in the batch (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the batch and the initialisation (default 0)")
    p.add_argument("--sample-seed", type=int, default=0, help="generator seed of --archs sample:N")
    p.add_argument("--protocol", help="build the network of this training protocol (default: published size)")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--ray-address", help="address of a running Ray cluster (default: start a local one)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:K (default: cuda when available)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1: this process)")
    p.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads per worker (default: cores/workers)"
    )
    p.add_argument("--flush-every", type=int, default=32, help="architectures per table append (default 32)")
    p.set_defaults(run=cmd_proxies)

    p = sub.add_parser("proxies-report", help="proxies against published values and accuracies (a report)")
    p.add_argument("table", type=Path, help="table written by nasbench proxies")
    p.add_argument("--dataset", default="cifar10-valid@zc", help="proxy dataset of the table")
    p.add_argument("--accuracy", type=Path, required=True, help="table of trained accuracies (e.g. nb201.h5)")
    p.add_argument("--published", type=Path, help="folder of the published proxy files (nb201_zero_cost_*)")
    p.add_argument("-o", "--output", type=Path, required=True, help="report folder (Markdown, JSON, plot)")
    p.set_defaults(run=cmd_report)

    p = sub.add_parser(
        "proxies-search", help="training-free search (NASWOT) at several N beside the published figures"
    )
    p.add_argument("--bench", required=True, help="a table with zc_<proxy> metrics (NB201 with its proxies)")
    p.add_argument("--datasets", required=True, help="comma-separated datasets")
    p.add_argument("--proxy", default="nwot", help="the proxy (default: nwot)")
    p.add_argument("--n-sample", default="10,100,1000", help="comma-separated N (default: %(default)s)")
    p.add_argument("--seeds", default="0-99", help=SEEDS_HELP.format(default="0-99"))
    p.add_argument("--processes", type=int, help="worker processes (default: this process only)")
    p.add_argument("-o", "--output", type=Path, required=True, help="folder for search.json|md|png")
    p.set_defaults(run=cmd_search)


def cmd_proxies(args: argparse.Namespace) -> int:
    from nasbench_suite.proxies.settings import PROXIES, ProxySettings
    from nasbench_suite.train.jobs import LocalExecutor, default_threads, parse_archs
    from nasbench_suite.train.specs import dataset_spec

    dataset_spec(args.dataset)
    names = list(PROXIES) if args.proxies == "all" else args.proxies.split(",")
    network = {}
    if args.protocol:
        from nasbench_suite.train.protocols import load_protocol

        network = dict(load_protocol(args.protocol).network or {})
    if args.workers < 1 or args.flush_every < 1 or args.batch_size < 1:
        raise UsageError("--workers, --flush-every and --batch-size must be >= 1")
    threads = args.threads or (1 if args.executor == "ray" else default_threads(args.workers))
    from nasbench_suite.cli.train import _default_device

    settings = ProxySettings(
        space=args.space,
        dataset=args.dataset,
        data_source=str(args.data),
        proxies=tuple(names),
        batch_size=args.batch_size,
        seed=args.seed,
        network=network,
        device=args.device or _default_device(),
        threads=threads,
    )
    from nasbench_suite.proxies.compute import network_builder
    from nasbench_suite.proxies.jobs import proxies_to_table, run_proxy_job

    network_builder(args.space)
    if settings.data_source != "none":
        from nasbench_suite.train.data import check_source

        check_source(args.dataset, args.data)
    archs = parse_archs(args.archs, args.space, args.sample_seed)
    if args.executor == "ray":
        from nasbench_suite.train.ray_jobs import RayExecutor

        gpus = 1.0 if settings.device.startswith("cuda") else 0.0
        executor = RayExecutor(address=args.ray_address, gpus_per_run=gpus, job=run_proxy_job)
    else:
        executor = LocalExecutor(args.workers, job=run_proxy_job)
    table_dataset = args.table_dataset or f"{args.dataset}@zc"
    summary = proxies_to_table(
        args.output, settings, archs, executor, table_dataset, flush_every=args.flush_every
    )
    print(
        f"{args.output} [{table_dataset}]: {summary.computed} architectures computed,"
        f" {summary.skipped} already done ({summary.recovered} moved from the journal),"
        f" {len(summary.failures)} failed"
    )
    for key, message in summary.failures[:5]:
        print(f"failed: {key}: {message}", file=sys.stderr)
    return EXIT_CORRUPT if summary.failures else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from nasbench_suite.proxies.report import build_report, write_report

    report = build_report(args.table, args.dataset, args.accuracy, args.published)
    paths = write_report(report, args.output)
    print("\n".join(str(p) for p in paths))
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from nasbench_suite._progress import Progress
    from nasbench_suite.cli._options import comma_list, parse_seeds
    from nasbench_suite.errors import UnknownDatasetError
    from nasbench_suite.experiments.proxy_search import naswot_sweep, write_sweep
    from nasbench_suite.experiments.runner import open_cached
    from nasbench_suite.search.base import StrategyError

    datasets = comma_list(args.datasets, "--datasets")
    seeds = parse_seeds(args.seeds)
    try:
        n_samples = [int(n) for n in comma_list(args.n_sample, "--n-sample")]
    except ValueError:
        raise UsageError(f"--n-sample {args.n_sample}: whole numbers separated by commas") from None
    if any(n < 1 for n in n_samples):
        raise UsageError(f"--n-sample {args.n_sample}: every N must be >= 1")
    if not args.output.is_dir():
        raise UsageError(f"-o {args.output}: not a folder; create it first")
    bench = open_cached(args.bench)
    for dataset in datasets:
        if dataset not in bench.datasets:
            raise UnknownDatasetError(dataset, bench.datasets)
    executor = "serial" if not args.processes else "local"
    total = len(datasets) * len(seeds) * (len(n_samples) + 1)
    try:
        with Progress("proxies-search", total) as progress:
            report = naswot_sweep(
                args.bench, datasets, n_samples, seeds, args.proxy, executor, args.processes, progress.update
            )
    except StrategyError as exc:  # not a NasbenchError: say it in one line here
        raise UsageError(str(exc)) from None
    for path in write_sweep(report, args.output):
        print(path)
    return EXIT_OK
