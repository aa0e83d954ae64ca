"""Surrogate commands: ``surrogate evaluate`` (the evaluation harness) and ``surrogate fit``
(write a surrogate artefact that ``open_benchmark`` can serve)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nasbench_suite import _progress
from nasbench_suite.cli import EXIT_OK, CommandParser, UsageError
from nasbench_suite.cli._options import comma_list, parse_assignments, parse_seeds

#: Strategies of the agreement check: random search, regularized evolution and a
#: model-based one (BANANAS).
AGREEMENT_STRATEGIES = ("random", "rea", "bananas")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``nasbench surrogate evaluate|fit`` to the ``nasbench`` parser."""
    group = sub.add_parser("surrogate", help="evaluate predictors on a table; fit a surrogate benchmark")
    commands = group.add_subparsers(dest="surrogate_command", required=True, parser_class=CommandParser)

    p = commands.add_parser(
        "evaluate",
        help="rank quality of predictors on random splits of a table, beside the seed-noise ceiling",
    )
    p.add_argument("table", type=Path, help="table file (.h5)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="xgb", help="comma-separated predictor names (default: xgb)")
    p.add_argument(
        "--train-sizes",
        default="20,100,1000,5000",
        help="comma-separated training-set sizes (default: %(default)s)",
    )
    p.add_argument("--trials", type=int, default=10, help="random splits per size (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the splits and the predictors (default: 0)")
    p.add_argument("--target", help="metric to predict (default: the dataset's accuracy, seed mean)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="MODEL.NAME=VALUE",
        help="hyperparameter of one model (VALUE read as JSON, else text); repeatable",
    )
    p.add_argument(
        "--archs",
        type=Path,
        help="JSON lines of the architectures, for tables keyed by hashes (NB101): one a line",
    )
    p.add_argument(
        "--proxies",
        help="zero-cost proxies (the table's zc_<name> metrics; 'all': every one) given to the predictors "
        "that take them (zc, xgb-zc, xgb-zc-only); every model is then evaluated on the architectures "
        "with all of them",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of Markdown")
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("."),
        help="folder to write STEM.json, STEM.md and STEM.png into (default: the current folder)",
    )
    p.add_argument("--name", help="file stem of the written report (default: SPACE-DATASET)")
    p.set_defaults(run=cmd_evaluate)

    p = commands.add_parser("fit", help="fit a surrogate benchmark on a table and write it as an artefact")
    p.add_argument("table", type=Path, help="training table (.h5)")
    p.add_argument("--dataset", help="comma-separated datasets (default: every dataset of the table)")
    p.add_argument("--model", default="xgb", help="predictor name (default: xgb)")
    p.add_argument("-o", "--output", type=Path, required=True, help="artefact folder to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the models and CV splits (default: 0)")
    p.add_argument("--cv-folds", type=int, default=5, help="folds of the held-out evaluation (0: none)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="predictor hyperparameter (VALUE read as JSON, else text); repeatable",
    )
    p.add_argument(
        "--cost-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="hyperparameter of the cost (training time) model only, over --param; repeatable",
    )
    p.add_argument("--description", default="", help="free text stored in the manifest")
    p.add_argument(
        "--curves",
        action="store_true",
        help="fit a learning-curve surrogate (per-epoch accuracies, epoch times and curve noise) on the "
        "table's datasets with per-epoch curves",
    )
    p.add_argument(
        "--layout",
        choices=("auto", "per-epoch", "basis"),
        help="with --curves: one model per epoch, or per principal component of the curves "
        "(default auto: the lower held-out curve RMSE)",
    )
    p.add_argument("--no-card", action="store_true", help="do not write MODEL_CARD.md")
    p.add_argument("--force", action="store_true", help="replace an existing artefact folder")
    p.set_defaults(run=cmd_fit)

    p = commands.add_parser(
        "card",
        help="write an artefact's MODEL_CARD.md; with --table, first check its agreement with the table",
    )
    p.add_argument("artefact", help="artefact folder, or the name of a shipped one (nb201)")
    p.add_argument("--table", type=Path, help="the table it imitates: run the agreement check against it")
    p.add_argument(
        "--strategies",
        default=",".join(AGREEMENT_STRATEGIES),
        help="comma-separated strategies of the check (default: %(default)s)",
    )
    p.add_argument(
        "--seeds", default="0-29", help="seeds of each strategy: '0-29' or '1,4,7' (default: 0-29)"
    )
    p.add_argument("--datasets", help="comma-separated datasets (default: every dataset of the artefact)")
    p.add_argument("--processes", type=int, default=1, help="worker processes of the runs (default: 1)")
    p.set_defaults(run=cmd_card)

    from nasbench_suite.cli import surrogate_transfer

    surrogate_transfer.add_commands(commands)


def parse_sizes(text: str) -> list[int]:
    """'20,100,1000' -> [20, 100, 1000].

    Raises:
        UsageError: for anything but positive integers.
    """
    try:
        sizes = [int(part) for part in comma_list(text, "--train-sizes")]
    except ValueError:
        raise UsageError(f"--train-sizes {text!r}: expected comma-separated integers") from None
    if any(s < 2 for s in sizes):
        raise UsageError(f"--train-sizes {text!r}: sizes must be >= 2")
    return sizes


def _check_models(models: list[str]) -> None:
    from nasbench_suite.surrogates import predictors

    for name in models:
        predictors.predictor_class(name)  # PredictorError names the known ones


def cmd_evaluate(args: argparse.Namespace) -> int:
    from nasbench_suite.surrogates.report import (
        evaluation_markdown,
        stamp,
        to_json_text,
        write_evaluation_report,
    )
    from nasbench_suite.surrogates.table_evaluation import evaluate_table

    models = comma_list(args.model, "--model")
    _check_models(models)
    sizes = parse_sizes(args.train_sizes)
    if args.trials < 1:
        raise UsageError(f"--trials must be >= 1, not {args.trials}")
    params = parse_assignments(args.param, "--param", models)
    report = evaluate_table(
        args.table,
        args.dataset,
        models,
        train_sizes=sizes,
        trials=args.trials,
        seed=args.seed,
        target=args.target,
        params=params,
        progress=_progress.step_printer(),
        archs_file=args.archs,
        proxies=comma_list(args.proxies, "--proxies") if args.proxies else None,
    )
    report = stamp(report)
    # The plot is the harness's main figure: always written, beside the JSON and Markdown.
    stem = args.name or f"{report['space']}-{report['dataset']}"
    paths = write_evaluation_report(report, args.out, stem)
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    if args.json:
        sys.stdout.write(to_json_text(report))
    else:
        sys.stdout.write(evaluation_markdown(report))
    return EXIT_OK


def cmd_fit(args: argparse.Namespace) -> int:
    from nasbench_suite.checks.agreement import read_agreement
    from nasbench_suite.surrogates.card import write_model_card
    from nasbench_suite.surrogates.fitting import fit_surrogate

    _check_models([args.model])
    if args.cv_folds < 0 or args.cv_folds == 1:
        raise UsageError(f"--cv-folds must be 0 (none) or >= 2, not {args.cv_folds}")
    datasets = comma_list(args.dataset, "--dataset") if args.dataset else None
    if args.curves:
        return _fit_curves(args, datasets)
    if args.layout is not None:
        raise UsageError("--layout applies to learning-curve surrogates: add --curves")
    path = fit_surrogate(
        args.table,
        args.output,
        datasets=datasets,
        model=args.model,
        params=parse_assignments(args.param, "--param"),
        cost_params=parse_assignments(args.cost_param, "--cost-param"),
        seed=args.seed,
        cv_folds=args.cv_folds,
        overwrite=args.force,
        description=args.description,
        progress=_progress.step_printer(),
    )
    if not args.no_card:
        write_model_card(path, read_agreement(path))
    from nasbench_suite.bench.surrogate import SurrogateBenchmark

    bench = SurrogateBenchmark(path)
    for dataset in bench.datasets:
        figures = bench.evaluation(dataset)
        parts = []
        for name, ev in sorted(figures.items()):
            if ev:
                parts.append(f"{name}: tau {ev['kendall_tau']:.3f}, RMSE {ev['rmse']:.3g}")
            else:
                parts.append(f"{name}: no cross-validation")
        print(f"{dataset}: " + "; ".join(parts))
    print(f"wrote {path}")
    return EXIT_OK


def _fit_curves(args: argparse.Namespace, datasets: list[str] | None) -> int:
    from nasbench_suite.surrogates.curve_card import write_curve_card
    from nasbench_suite.surrogates.curves import fit_curve_surrogate

    layout = args.layout or "auto"
    if layout == "auto" and args.cv_folds < 2:
        raise UsageError("--layout auto chooses by cross-validation: give --cv-folds >= 2 or a --layout")
    path = fit_curve_surrogate(
        args.table,
        args.output,
        datasets=datasets,
        model=args.model,
        params=parse_assignments(args.param, "--param"),
        layout=layout,
        seed=args.seed,
        cv_folds=args.cv_folds,
        overwrite=args.force,
        description=args.description,
        progress=_progress.step_printer(),
    )
    if not args.no_card:
        write_curve_card(path)
    from nasbench_suite.bench.curve_surrogate import CurveSurrogateBenchmark

    bench = CurveSurrogateBenchmark(path)
    for dataset in bench.datasets:
        layout = bench.manifest["datasets"][dataset]["layout"]
        parts = []
        for name, ev in sorted(bench.evaluation(dataset).items()):
            rows = ev.get("per_epoch") or []
            if rows:
                last = rows[-1]
                parts.append(
                    f"{name} at epoch {last['epoch']}: tau {last['kendall_tau']:.3f} (ceiling "
                    f"{last['ceiling_tau'] if last['ceiling_tau'] is not None else float('nan'):.3f}), "
                    f"curve RMSE {ev['curve_rmse']:.3g}"
                )
            else:
                parts.append(f"{name}: no cross-validation")
        print(f"{dataset} ({layout} layout): " + "; ".join(parts))
    print(f"wrote {path}")
    return EXIT_OK


def _artefact_path(text: str) -> Path:
    from nasbench_suite.surrogates import artefact

    path = Path(text)
    if not path.exists() and (shipped := artefact.shipped_path(text)) is not None:
        path = shipped
    artefact.read_manifest(path)  # SurrogateArtefactError names what is wrong
    return path


def cmd_card(args: argparse.Namespace) -> int:
    from nasbench_suite.checks.agreement import agreement_check, read_agreement, write_agreement
    from nasbench_suite.surrogates.card import write_model_card

    root = _artefact_path(args.artefact)
    from nasbench_suite.surrogates import artefact

    curves = artefact.read_manifest(root).get("kind") == artefact.CURVES
    if args.table is not None:
        if args.processes < 1:
            raise UsageError(f"--processes must be >= 1, not {args.processes}")
        strategies = comma_list(args.strategies, "--strategies")
        datasets = comma_list(args.datasets, "--datasets") if args.datasets else None
        agreement = agreement_check(
            root, args.table, strategies, parse_seeds(args.seeds), datasets, args.processes
        )
        write_agreement(root, agreement)
    if curves:
        from nasbench_suite.surrogates.curve_card import write_curve_card

        path = write_curve_card(root, read_agreement(root))
    else:
        path = write_model_card(root, read_agreement(root))
    print(f"wrote {path}")
    return EXIT_OK
