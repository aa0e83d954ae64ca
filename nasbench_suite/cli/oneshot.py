"""One-shot commands: ``oneshot`` (supernet searches scored through a benchmark), ``oneshot-report``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from nasbench_suite.cli import EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the one-shot subcommands to the ``nasbench`` parser."""
    p = sub.add_parser(
        "oneshot", help="weight-sharing NAS (DARTS, GDAS, RSPS, ENAS) scored through a benchmark"
    )
    p.add_argument("--method", required=True, help="darts, darts2 (second order), gdas, rsps or enas")
    p.add_argument("--bench", required=True, help="benchmark that scores the derived architectures")
    p.add_argument("--space", default="nb201", help="search space of the supernet (default nb201)")
    p.add_argument("--dataset", default="cifar10-valid", help="training data split (default cifar10-valid)")
    p.add_argument("--data", required=True, help="images as for nasbench train (folder, zip, synthetic[:N])")
    p.add_argument("--bench-dataset", help="dataset in the benchmark (default: --dataset)")
    p.add_argument("--metric", default="valid_acc", help="benchmark metric to score (default valid_acc)")
    p.add_argument("--seeds", default="0-2", help="search seeds, e.g. 0-2 or 1,4 (default 0-2)")
    p.add_argument(
        "--protocol",
        default="nb201-oneshot-cpu",
        help="one-shot protocol: nb201-oneshot-cpu (default), nb201-oneshot-paper (GPU), nb201-oneshot-tiny, "
        "or a JSON file",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:K (default cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("-o", "--output", type=Path, required=True, help="result file to write (.json)")
    p.set_defaults(run=cmd_oneshot)

    p = sub.add_parser(
        "oneshot-report", help="the leaderboard's one-shot section from nasbench oneshot results"
    )
    p.add_argument("results", type=Path, nargs="+", help="files written by nasbench oneshot")
    p.add_argument("-o", "--output", type=Path, required=True, help="report folder (Markdown, JSON, plot)")
    p.add_argument("--bench", help="score the derived architectures again in this benchmark (e.g. a table)")
    p.add_argument("--bench-dataset", help="its dataset (default: the one each result was scored on)")
    p.add_argument("--metric", help="its metric (default: the one each result was scored with)")
    p.set_defaults(run=cmd_report)


def cmd_oneshot(args: argparse.Namespace) -> int:
    from nasbench_suite import _atomic
    from nasbench_suite.bench import open_benchmark
    from nasbench_suite.cli._options import parse_seeds
    from nasbench_suite.experiments.oneshot_report import check_benchmark, score_runs
    from nasbench_suite.oneshot.settings import (
        OneShotConfigError,
        check_method,
        load_oneshot_protocol,
        supernet_spaces,
    )
    from nasbench_suite.train.data import check_source
    from nasbench_suite.train.specs import dataset_spec

    check_method(args.method)
    if args.space not in supernet_spaces():
        raise OneShotConfigError(
            f"space {args.space!r} has no supernet; one-shot methods run on: {', '.join(supernet_spaces())}"
        )
    if args.threads < 1:
        raise OneShotConfigError("--threads must be >= 1")
    seeds = parse_seeds(args.seeds)
    protocol = load_oneshot_protocol(args.protocol)
    settings = protocol.settings(args.method)
    bench_dataset = args.bench_dataset or args.dataset
    bench = open_benchmark(args.bench)
    check_benchmark(bench, args.space, bench_dataset, args.metric)
    spec = dataset_spec(args.dataset)
    check_source(args.dataset, args.data)
    output = _atomic.resolve_output(args.output)

    import torch

    from nasbench_suite.oneshot.search import run_search, search_data
    from nasbench_suite.train.data import load_training_data

    torch.set_num_threads(args.threads)
    data = search_data(load_training_data(args.dataset, args.data), settings, spec, args.device)
    result: dict[str, Any] = {
        "kind": "oneshot",
        "method": args.method,
        "space": args.space,
        "dataset": args.dataset,
        "protocol": {**protocol.to_dict(), "settings": _jsonable(settings)},
        "benchmark": bench.identity(),
        "threads": args.threads,
        "runs": [],
    }
    for seed in seeds:
        start = time.perf_counter()

        def report(record: dict[str, Any], seed: int = seed) -> None:
            print(
                f"{args.method} seed {seed} epoch {record['epoch']}: loss {record['train_loss']:.3f}, "
                f"{record['epoch_time_s']:.1f} s, arch {record['arch']}",
                file=sys.stderr,
                flush=True,
            )

        run = run_search(args.method, settings, data, spec, seed, args.space, on_epoch=report)
        run["wall_time_s"] = time.perf_counter() - start
        result["runs"].append(run)
        # Scored and written after every seed: a stopped job keeps the seeds it finished.
        result["scoring"] = score_runs(result["runs"], bench, bench_dataset, args.metric)
        _atomic.write_text(output, json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(
            f"{args.method} seed {seed}: {run['arch']} -> {args.metric} {run['acc']:.2f} "
            f"(regret {run['regret']:.2f}), search {run['search_time_s']:.0f} s",
            flush=True,
        )
    print(output)
    return EXIT_OK


def _jsonable(settings: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(settings)


def cmd_report(args: argparse.Namespace) -> int:
    from nasbench_suite.experiments.oneshot_report import load_results, rescore, write_report

    results = load_results(args.results)
    if args.bench:
        from nasbench_suite.bench import open_benchmark

        bench = open_benchmark(args.bench)
        for result in results:
            rescore(result, bench, args.bench_dataset, args.metric)
    paths = write_report(results, args.output)
    print("\n".join(str(p) for p in paths))
    return EXIT_OK
