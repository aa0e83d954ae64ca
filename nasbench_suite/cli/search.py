"""Search commands: ``search`` (runs of one strategy) and ``leaderboard`` (the standard suite)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from nasbench_suite.cli import EXIT_NOT_APPLICABLE, EXIT_OK, UsageError
from nasbench_suite.cli._options import comma_list, parse_assignments, parse_seeds

EXECUTOR_HELP = "local: a process pool (default); serial: this process; ray: a Ray cluster"
#: One meaning of --seeds for search and leaderboard (and train, surrogate card): the seeds
#: themselves, never a count.
SEEDS_HELP = "seeds: a range '0-29', a list '1,4,7' or one seed '5' (default: {default})"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the search subcommands to the ``nasbench`` parser."""
    p = sub.add_parser("search", help="run a search strategy on a benchmark over several seeds")
    p.add_argument("--strategy", required=True, help="strategy name (see nasbench_suite.search.available())")
    p.add_argument("--bench", default="nb201", help="table file or shipped benchmark name (default: nb201)")
    p.add_argument("--dataset", required=True)
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-s", type=float, help="budget in simulated training seconds")
    budget.add_argument("--budget-evals", type=int, help="budget in evaluations")
    p.add_argument("--seeds", default="0", help=SEEDS_HELP.format(default="0"))
    p.add_argument("--workers", type=int, default=1, help="simulated asynchronous workers W (default: 1)")
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="Parquet file of the trajectories (.parquet)"
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="strategy option (VALUE read as JSON, else text); repeatable",
    )
    p.add_argument("--observe-metric", help="metric told to the strategy (default: the protocol's rule)")
    p.add_argument("--report-metric", help="metric reported for the incumbent (default: the rule)")
    p.add_argument("--second-objective", help="minimised second objective (params_m, flops_m, a latency)")
    _suspect_argument(p)
    p.add_argument(
        "--search-pool",
        choices=("space", "table"),
        default="space",
        help="space: search the whole space (default); table: only the architectures the table holds "
        "for the dataset (a sparse table)",
    )
    p.add_argument(
        "--warm-source",
        metavar="DATASET",
        help="source dataset of a warm-started strategy (rea-warm, bananas-warm, xgb-bo-warm): another "
        "dataset of the benchmark whose accuracies it starts from, charged nothing (default: the "
        "protocol's source of the target, docs/protocol.md)",
    )
    _executor_arguments(p)
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("leaderboard", help="run the standard suite and write results/leaderboard.md|.html")
    p.add_argument(
        "--bench",
        help="table file or shipped benchmark name (default: nb201, with the standard sections: "
        "docs/protocol.md)",
    )
    p.add_argument("--seeds", default="0-29", help=SEEDS_HELP.format(default="0-29"))
    p.add_argument(
        "--strategies",
        help="comma-separated strategies, any registered ones (default: the standard suite's fixed "
        "list, docs/protocol.md)",
    )
    p.add_argument(
        "--exclude-model-based", action="store_true", help="leave out model-based strategies (bananas, ...)"
    )
    p.add_argument("--datasets", help="comma-separated datasets (default: every dataset)")
    p.add_argument("--workers", type=int, default=1, help="simulated asynchronous workers W (default: 1)")
    p.add_argument(
        "--second-objective",
        help="minimised second objective for every run (params_m, flops_m, a latency): "
        "multi-objective strategies apply and hypervolumes are reported",
    )
    _suspect_argument(p)
    p.add_argument(
        "--search-pool",
        choices=("space", "table"),
        help="space or table (the architectures the table holds) for every dataset; default: table "
        "where a table holds less than half of its space (docs/protocol.md)",
    )
    p.add_argument(
        "--section",
        action="append",
        default=[],
        metavar="BENCH",
        help="also run the suite on this benchmark (table file or shipped name), as a further section "
        "of the same report; repeatable; 'none': no section (default: the standard sections when "
        "--bench is not given, none otherwise)",
    )
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--budget-s", type=float, help="budget in simulated seconds for every dataset (default: standard)"
    )
    budget.add_argument("--budget-evals", type=int, help="budget in evaluations for every dataset")
    p.add_argument("--observe-metric", help="metric told to the strategies (default: the protocol's rule)")
    p.add_argument("--report-metric", help="metric reported for the incumbents (default: the rule)")
    p.add_argument(
        "--warm-source",
        metavar="TARGET=SOURCE[,...]",
        help="source dataset of the warm-started strategies (rea-warm, bananas-warm, xgb-bo-warm) per "
        "target dataset, e.g. cifar10-valid=ImageNet16-120; datasets not named keep the default map",
    )
    p.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results/)")
    p.add_argument(
        "--oneshot",
        type=Path,
        nargs="+",
        default=[],
        metavar="RESULT",
        help="results of nasbench oneshot to show in a one-shot section beside the strategies",
    )
    _executor_arguments(p)
    p.set_defaults(run=cmd_leaderboard)


def _warm_sources(spec: str | None) -> dict[str, str] | None:
    """``--warm-source TARGET=SOURCE[,...]`` as a dict (datasets are checked by the suite)."""
    if spec is None:
        return None
    pairs = [item.partition("=") for item in comma_list(spec, "--warm-source")]
    bad = [target for target, eq, source in pairs if not (target and eq and source)]
    if bad:
        raise UsageError(f"--warm-source: expected TARGET=SOURCE pairs, got {bad[0]!r}")
    return {target.strip(): source.strip() for target, _, source in pairs}


def _suspect_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--exclude-suspect",
        action="store_true",
        help="leave out the entries the table flags as suspect (failed evaluations, not reference "
        "architectures); default: include them (every report says which)",
    )


def _executor_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", default="local", choices=("local", "serial", "ray"), help=EXECUTOR_HELP)
    p.add_argument("--processes", type=int, help="worker processes (default: all cores)")
    p.add_argument("--ray-address", help="address of an existing Ray cluster (default: start a local one)")


def _warn_test_selection(observe_metric: str | None) -> None:
    from nasbench_suite.experiments.metrics import test_selection_warning

    warning = test_selection_warning(observe_metric)
    if warning:
        print(f"nasbench: warning: {warning}", file=sys.stderr)


def check_output(path: Path) -> None:
    """Refuse an output that is not ``.parquet`` or whose folder does not exist (no folder is
    created: a mistyped path should fail, not leave folders behind).

    Raises:
        UsageError: one line naming the path.
    """
    if path.suffix != ".parquet":
        raise UsageError(f"-o {path}: trajectories are written as Parquet; name the file NAME.parquet")
    if not path.parent.is_dir():
        raise UsageError(f"-o {path}: the folder {path.parent} does not exist; create it first")


def cmd_search(args: argparse.Namespace) -> int:
    from nasbench_suite import _atomic
    from nasbench_suite.experiments import RunConfig, open_cached
    from nasbench_suite.experiments.executors import run_many
    from nasbench_suite.experiments.trajectory import write_runs
    from nasbench_suite.stats import mean_se

    _atomic.resolve_output(args.output)  # a FIFO, a device or a folder: refused before the runs
    seeds = parse_seeds(args.seeds)
    check_output(args.output)
    _warn_test_selection(args.observe_metric)
    bench = open_cached(args.bench)  # bad path or name: one-line error before any worker starts
    if args.dataset not in bench.datasets:
        from nasbench_suite.errors import UnknownDatasetError

        raise UnknownDatasetError(args.dataset, bench.datasets)
    configs = [
        RunConfig(
            args.strategy,
            args.bench,
            args.dataset,
            seed=seed,
            budget_s=args.budget_s,
            budget_evals=args.budget_evals,
            workers=args.workers,
            strategy_options=parse_assignments(args.option, "--option"),
            observe_metric=args.observe_metric,
            report_metric=args.report_metric,
            second_objective=args.second_objective,
            suspect="exclude" if args.exclude_suspect else "include",
            search_pool=args.search_pool,
            warm_source=args.warm_source,
        )
        for seed in seeds
    ]
    from nasbench_suite import search
    from nasbench_suite._progress import Progress
    from nasbench_suite.search.base import StrategyError

    if args.warm_source is not None:
        from nasbench_suite.experiments.warm_start import warm_source

        if not search.strategy_class(args.strategy).warm_started:
            raise UsageError(
                f"--warm-source: strategy {args.strategy!r} does not start from a source dataset"
            )
        warm_source(bench, args.dataset, args.warm_source)  # unknown or the target itself: one line
    with Progress(f"{args.strategy} on {args.dataset}", len(configs)) as progress:
        try:
            # Unknown strategy or option: an error before any worker starts.
            search.strategy_class(args.strategy).check_options(configs[0].options)
            results = run_many(
                configs, args.executor, args.processes, args.ray_address, on_progress=progress.advance
            )
        except StrategyError as exc:  # not a NasbenchError: say it in one line here
            raise UsageError(str(exc)) from None
    write_runs(args.output, results)
    ok = [r for r in results if r.ok]
    if not ok:
        print(f"nasbench: {args.strategy}: not applicable: {results[0].message}", file=sys.stderr)
        return EXIT_NOT_APPLICABLE
    regret = mean_se([r.summary["final_regret"] for r in ok])
    report = mean_se([r.summary["final_report"] for r in ok])
    evals = sum(r.summary["n_evals"] for r in ok) / len(ok)

    def se(v: float) -> str:
        return "" if math.isnan(v) else f" ± {v:.3f}"

    print(
        f"{args.strategy} on {args.dataset}: {len(ok)} runs, {evals:.0f} evaluations on average; "
        f"final accuracy {report[0]:.3f}{se(report[1])}, final regret {regret[0]:.3f}{se(regret[1])} "
        f"(mean ± s.e.)"
    )
    print(f"rule: {ok[0].rule}")
    print(f"wrote {args.output}")
    return EXIT_OK


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from nasbench_suite import search
    from nasbench_suite._progress import Progress
    from nasbench_suite.experiments.leaderboard import Section, run_leaderboard
    from nasbench_suite.experiments.protocol import STANDARD_BENCH, STANDARD_SECTIONS, STANDARD_STRATEGIES
    from nasbench_suite.experiments.report import write_leaderboard
    from nasbench_suite.search.base import StrategyError

    seeds = parse_seeds(args.seeds)
    _warn_test_selection(args.observe_metric)
    if args.section == ["none"]:
        section_sources: list[str] = []
    elif args.section:
        section_sources = args.section
    else:
        # The main job: the standard benchmark with the standard sections (a table with curves).
        section_sources = list(STANDARD_SECTIONS) if args.bench is None else []
    args.bench = args.bench or STANDARD_BENCH
    if args.budget_s is not None or args.budget_evals is not None:
        budget = (
            {"budget_s": args.budget_s} if args.budget_s is not None else {"budget_evals": args.budget_evals}
        )
    else:
        budget = None
    from nasbench_suite.experiments.oneshot_report import load_results

    oneshot = load_results(args.oneshot)  # read before the suite runs: a bad file fails fast
    if oneshot:
        # Scored again in this board's benchmark, so the section compares like with like.
        from nasbench_suite.bench import open_benchmark
        from nasbench_suite.experiments.oneshot_report import rescore

        with open_benchmark(args.bench) as bench:
            for result in oneshot:
                rescore(result, bench, None, None)
    if len(seeds) == 1 and seeds[0] >= 2 and args.seeds.strip().isdigit():
        # Earlier versions read a bare number N as the seeds 0..N-1 here: say what it means now.
        print(
            f"nasbench: note: --seeds {seeds[0]} runs seed {seeds[0]} only "
            f"(for the {seeds[0]} seeds 0..{seeds[0] - 1} write --seeds 0-{seeds[0] - 1})",
            file=sys.stderr,
        )
    try:
        # None: the standard suite, which refuses to run short (a strategy that cannot be built).
        strategies = comma_list(args.strategies, "--strategies") if args.strategies else None
        if args.exclude_model_based:
            strategies = [
                s for s in (strategies or STANDARD_STRATEGIES) if not search.strategy_class(s).model_based
            ]
        with Progress("leaderboard") as progress:
            board = run_leaderboard(
                args.bench,
                strategies=strategies,
                datasets=comma_list(args.datasets, "--datasets") if args.datasets else None,
                seeds=seeds,
                workers=args.workers,
                executor=args.executor,
                processes=args.processes,
                ray_address=args.ray_address,
                on_progress=progress.update,
                second_objective=args.second_objective,
                suspect="exclude" if args.exclude_suspect else "include",
                sections=[Section(source) for source in section_sources],
                search_pool=args.search_pool,
                budget=budget,
                observe_metric=args.observe_metric,
                report_metric=args.report_metric,
                warm_sources=_warm_sources(args.warm_source),
            )
    except StrategyError as exc:  # not a NasbenchError: say it in one line here
        raise UsageError(str(exc)) from None
    written = write_leaderboard(board, args.out, oneshot)
    for part in (board, *board.sections):
        where = f"{part.bench} " if board.sections else ""
        for b in part.boards:
            ranking = ", ".join(f"{r['strategy']} {r['regret_mean']:.3f}" for r in b.rows)
            print(f"{where}{b.dataset}: mean final regret {ranking}")
        for name, message in sorted(part.not_applicable.items()):
            print(f"{where}{name}: not applicable ({message})")
    print(f"wrote {', '.join(str(p) for p in written[:2])} and {len(written) - 2} more in {args.out}")
    return EXIT_OK
