"""Fit a learning-curve surrogate from a table with per-epoch curves (docs/surrogates.md,
"Learning-curve surrogates").

Per dataset the artefact holds, for every architecture of the space:

- the seed-mean curve of each accuracy (``valid_acc``, ``test_acc``): a
  :class:`~nasbench_suite.surrogates.curve_models.CurveModel` in the layout with the
  lower held-out curve RMSE (``per-epoch`` or ``basis``; ``layout="auto"``);
- the time of one epoch: a predictor of the architecture's log mean epoch time times
  the table's epoch profile (the median ratio of each epoch's time to that mean), so
  that a query at epoch E costs the cumulative time of epochs 1..E, like a table;
- the seed noise of a run's curve (:mod:`~nasbench_suite.surrogates.curve_noise`),
  fitted from the table's seed pairs.

Held-out figures come from K-fold cross-validation over architectures, folds grouped by
equivalence class (``space.canonical_key``): per epoch,
Kendall tau and RMSE against the seed-mean value, beside the table's own ceiling at
that epoch (one seed ranking the other; the per-run seed spread).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.errors import SurrogateArtefactError
from nasbench_suite.provenance import provenance
from nasbench_suite.stats import rank_correlations, seed_vs_seed
from nasbench_suite.surrogates import artefact
from nasbench_suite.surrogates.curve_models import LAYOUTS, fit_curve_model
from nasbench_suite.surrogates.curve_noise import fit_curve_noise
from nasbench_suite.surrogates.evaluation import EvaluationError, class_ids, grouped_folds
from nasbench_suite.surrogates.noise import NoiseModelError
from nasbench_suite.surrogates.table_evaluation import table_checksum

KIND = artefact.CURVES
#: Accuracies modelled when the dataset has their curves; the first present is the primary.
CURVE_METRICS = ("valid_acc", "test_acc")
#: Settings of the default ``xgb`` for curves (overridden by ``params``): on 250 NB201 architectures
#: (the published cifar10-valid results, 5-fold, 3 draws) they rank as well as the predictor's own
#: defaults (held-out tau 0.853 vs 0.851) with model files a quarter the size (550 kB vs 2.3 MB),
#: and a curve surrogate has a model per epoch (docs/surrogates.md, "Learning-curve surrogates").
XGB_CURVE_PARAMS = {"n_estimators": 400, "max_depth": 4, "learning_rate": 0.03}
EPOCH_COST_METRIC = "epoch_train_time_s"
COST_METRIC = "train_time_s"


def fit_curve_surrogate(
    table_path: str | Path,
    output: str | Path,
    *,
    datasets: Sequence[str] | None = None,
    model: str = "xgb",
    params: dict[str, Any] | None = None,
    layout: str = "auto",
    seed: int = 0,
    cv_folds: int = 5,
    overwrite: bool = False,
    description: str = "",
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Fit a learning-curve surrogate of the datasets with curves of a table; write the artefact.

    Args:
        table_path: the training table (``.h5``) with per-epoch curves.
        output: artefact folder (built beside and swapped in whole, like ``fit_surrogate``).
        datasets: datasets to model (default: every dataset of the table with curves).
        model: predictor name (``predictors.get``) of every output.
        params: its hyperparameters (for ``xgb``, over :data:`XGB_CURVE_PARAMS`).
        layout: ``"auto"`` (the layout with the lower held-out RMSE; needs ``cv_folds >= 2``),
            ``"per-epoch"`` or ``"basis"``.
        seed: seed of the predictors, the folds and the noise check.
        cv_folds: folds of the held-out evaluation (0: none).
        overwrite: replace an existing ``output``.
        description: free text stored in the manifest.
        progress: called with a short description before each step.

    Raises:
        SurrogateArtefactError: ``output`` exists and ``overwrite`` is false.
        EvaluationError: no dataset with curves, too few complete curves, an unknown layout.
        OutputError, table errors, UnknownDatasetError, PredictorError.
    """
    from nasbench_suite import spaces
    from nasbench_suite.surrogates import predictors
    from nasbench_suite.tabular import Table

    if layout not in ("auto", *LAYOUTS):
        raise EvaluationError(f"layout must be auto, {' or '.join(LAYOUTS)}, not {layout!r}")
    if layout == "auto" and cv_folds < 2:
        raise EvaluationError("layout 'auto' chooses by cross-validation: it needs cv_folds >= 2")
    output = Path(output)
    if output.exists() and not overwrite:
        raise SurrogateArtefactError(output, "exists; pass overwrite=True (--force) to replace it")
    say = progress or (lambda _text: None)
    params = {**(XGB_CURVE_PARAMS if model == "xgb" else {}), **(params or {})}
    with _atomic.replacing_directory(output, exists="replace" if overwrite else "refuse") as staging:
        with Table(table_path) as table:
            space = spaces.get(table.space, **table.space_config)
            names = (
                list(datasets) if datasets else [d for d in sorted(table.datasets) if table.dataset(d).epochs]
            )
            for dataset in names:
                if not table.dataset(dataset).epochs:  # UnknownDatasetError first, for an unknown name
                    raise EvaluationError(f"dataset {dataset!r} of {table.path.name} has no per-epoch curves")
            if not names:
                raise EvaluationError(f"{table.path.name} has no dataset with per-epoch curves")

            def make(s: int) -> Any:
                return predictors.get(model, space, seed=s, **params)

            entries = {
                d: _fit_dataset(table, d, space, make, layout, seed, cv_folds, staging, say) for d in names
            }
            checksum = table_checksum(table)
            manifest = {
                "kind": KIND,
                "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "description": description,
                "space": space.name,
                "space_config": space.config(),
                "model": {"name": model, "params": params, "seed": seed, "layout": layout},
                "encoding": getattr(make(seed), "encoding", None),
                "training_table": {
                    "path": str(table_path),
                    "description": table.manifest.get("description", ""),
                    "checksum": checksum,
                    "checksum_kind": "BLAKE2b-128 of the table's canonical JSON manifest",
                    "n_archs": table.n_archs,
                },
                "libraries": artefact.library_versions(uses_torch="gin" in (model, params.get("base"))),
                "provenance": provenance(
                    {"kind": "table", "source": Path(table_path).name, "checksum": checksum}
                ),
                "datasets": _finite(entries),
            }
        artefact.write_manifest(staging, manifest)
    return output


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float as None (a manifest is strict JSON: an undefined tau
    is null)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _seed_mean(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``(N, S, E)`` -> ``(N, E)`` mean over present seeds (NaN where none)."""
    ok = present[:, :, None] & np.isfinite(values)
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(ok, values, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)


def _fit_dataset(
    table: Any,
    dataset: str,
    space: Any,
    make: Callable[[int], Any],
    layout: str,
    seed: int,
    cv_folds: int,
    root: Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    info = table.dataset(dataset)
    all_epochs = tuple(int(e) for e in info.epochs)
    metrics = [m for m in CURVE_METRICS if m in info.curves]
    if not metrics:
        raise EvaluationError(f"{dataset}: no curves of {' or '.join(CURVE_METRICS)} to fit")
    present = table.present(dataset)
    curves = {m: table.metric(dataset, m, "curves") for m in metrics}
    # A protocol that evaluates every k-th epoch leaves the others NaN: the surrogate answers at
    # the epochs most architectures were evaluated at (training time still counts every epoch).
    evaluated = np.logical_and.reduce(
        [np.isfinite(_seed_mean(v, present)).mean(axis=0) >= 0.5 for v in curves.values()]
    )
    keep = np.flatnonzero(evaluated)
    if len(keep) == 0:
        raise EvaluationError(f"{dataset}: no epoch at which most architectures were evaluated")
    epochs = tuple(all_epochs[i] for i in keep)
    curves = {m: v[:, :, keep] for m, v in curves.items()}
    means = {m: _seed_mean(v, present) for m, v in curves.items()}
    complete = np.logical_and.reduce([np.isfinite(v).all(axis=1) for v in means.values()])
    rows = np.flatnonzero(complete)
    if len(rows) < 20:
        raise EvaluationError(f"{dataset}: only {len(rows)} architectures with complete curves to fit on")
    archs = [table.keys[i] for i in rows]
    # Folds grouped by equivalence class, as the final-result surrogate's: a held-out curve never
    # has a classmate (the same network) in training.
    folds = grouped_folds(class_ids(space, archs), cv_folds, seed) if cv_folds >= 2 else []
    say(f"{dataset}: {len(rows)} complete curves of {len(epochs)} epochs, {', '.join(metrics)}")
    held_out: dict[str, dict[str, np.ndarray]] = {}
    for name in metrics:
        y = means[name][rows]
        candidates = LAYOUTS if layout == "auto" else (layout,)
        held_out[name] = {}
        for kind in candidates if folds else ():
            say(f"{dataset}/{name}: {len(folds)}-fold cross-validation, {kind} layout")
            held_out[name][kind] = _out_of_fold(kind, make, archs, y, folds, seed)
    chosen, layouts = _choose(layout, metrics, means, rows, held_out)
    entry_curves: dict[str, Any] = {}
    fitted: dict[str, np.ndarray] = {}
    for name in metrics:
        say(f"{dataset}/{name}: fit the {chosen} layout on {len(rows)} archs")
        curve_model = fit_curve_model(chosen, make, archs, means[name][rows], seed)
        fitted[name] = curve_model.predict(archs)
        entry = curve_model.save(root, f"{dataset}/{name}")
        unit = info.curves[name].get("unit", "")
        entry.update(unit=unit, n_train=len(rows), evaluation=None)
        if folds:
            entry["evaluation"] = _per_epoch_figures(
                epochs, means[name][rows], held_out[name][chosen], curves[name], present
            )
        entry_curves[name] = entry
    noise_entry, check = None, None
    try:
        noise = fit_curve_noise(curves, present, epochs)
    except NoiseModelError as exc:
        say(f"{dataset}: no seed noise ({exc})")
    else:
        noise_entry = noise.to_json()
        check = _noise_check(noise, curves, present, rows, fitted, seed)
    return {
        "seeds": list(info.seeds),
        "epochs": list(epochs),
        "metric": metrics[0],
        "layout": chosen,
        "layouts": layouts,
        "curves": entry_curves,
        "cost": _fit_cost(table, dataset, space, info, all_epochs, keep, make, seed, folds, root, say),
        "noise": noise_entry,
        "noise_check": check,
    }


def _out_of_fold(
    layout: str,
    make: Callable[[int], Any],
    archs: list[str],
    y: np.ndarray,
    folds: list[np.ndarray],
    seed: int,
) -> np.ndarray:
    out = np.empty_like(y)
    everything = np.arange(len(y))
    for k, test in enumerate(folds):
        train = np.setdiff1d(everything, test)
        model = fit_curve_model(layout, make, [archs[i] for i in train], y[train], seed + 100 * k)
        out[test] = model.predict([archs[i] for i in test])
    return out


def _choose(
    layout: str,
    metrics: list[str],
    means: dict[str, np.ndarray],
    rows: np.ndarray,
    held_out: dict[str, dict[str, np.ndarray]],
) -> tuple[str, dict[str, Any]]:
    """The layout to ship and every candidate's held-out RMSE and mean tau over epochs."""
    from scipy.stats import kendalltau

    figures: dict[str, Any] = {}
    for kind in held_out[metrics[0]]:
        rmse = [float(np.sqrt(np.mean((held_out[m][kind] - means[m][rows]) ** 2))) for m in metrics]
        taus = [
            float(kendalltau(means[m][rows][:, k], held_out[m][kind][:, k]).statistic)
            for m in metrics
            for k in range(means[m].shape[1])
        ]
        figures[kind] = {"curve_rmse": float(np.mean(rmse)), "mean_kendall_tau": float(np.nanmean(taus))}
    if layout != "auto":
        return layout, figures
    return min(figures, key=lambda kind: figures[kind]["curve_rmse"]), figures


def _per_epoch_figures(
    epochs: tuple[int, ...], y: np.ndarray, predicted: np.ndarray, curves: np.ndarray, present: np.ndarray
) -> dict[str, Any]:
    """Held-out tau and RMSE per epoch, beside the table's ceiling at that epoch."""
    rows = []
    for k, epoch in enumerate(epochs):
        ranks = rank_correlations(y[:, k], predicted[:, k])
        values = curves[:, :, k]
        usable = present & np.isfinite(values)
        both = usable.sum(axis=1) >= 2
        ceiling_rmse = float("nan")
        if both.sum() >= 2:
            first_two = np.argsort(~usable[both], axis=1, kind="stable")[:, :2]
            pair = np.take_along_axis(values[both], first_two, axis=1)
            # The per-run spread: what a perfect predictor of the seed mean misses a single run by.
            ceiling_rmse = float(np.sqrt(np.mean((pair[:, 0] - pair[:, 1]) ** 2) / 2.0))
        rows.append(
            {
                "epoch": epoch,
                "kendall_tau": ranks["kendall_tau"],
                "rmse": float(np.sqrt(np.mean((predicted[:, k] - y[:, k]) ** 2))),
                "ceiling_tau": seed_vs_seed(values, usable, skip_undefined=True),
                "ceiling_rmse": ceiling_rmse,
                "n_pairs": int(both.sum()),
            }
        )
    return {"n": len(y), "per_epoch": rows, "curve_rmse": float(np.sqrt(np.mean((predicted - y) ** 2)))}


def _noise_check(
    noise: Any, curves: dict[str, np.ndarray], present: np.ndarray, rows: np.ndarray, fitted: dict, seed: int
) -> dict[str, Any]:
    """Per epoch, the std of seed-pair differences in the table and of two sampled runs at the
    fitted means of the same architectures."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    paired = np.flatnonzero((present & np.isfinite(curves[noise.metrics[0]]).all(axis=2)).sum(axis=1) >= 2)
    at = np.flatnonzero(np.isin(rows, paired))
    out = dict(noise.check)
    shape = (len(at), len(noise.metrics), len(noise.epochs))
    a, b = noise.standard_draws(rng.standard_normal(shape)), noise.standard_draws(rng.standard_normal(shape))
    for name in noise.metrics:
        runs = [noise.sample(name, fitted[name][at], z[name]) for z in (a, b)]
        out["metrics"][name]["model_diff_std"] = np.std(runs[0] - runs[1], axis=0).tolist()
    return out


def _fit_cost(
    table: Any,
    dataset: str,
    space: Any,
    info: Any,
    epochs: tuple[int, ...],
    keep: np.ndarray,
    make: Callable[[int], Any],
    seed: int,
    folds: list[np.ndarray],
    root: Path,
    say: Callable[[str], None],
) -> dict[str, Any] | None:
    """The epoch-time model: log mean epoch time per architecture and the epoch profile (over all
    of the table's ``epochs``; ``profile`` and ``cumulative`` are taken at the answered ``keep``)."""
    present = table.present(dataset)
    if EPOCH_COST_METRIC in info.curves:
        per_epoch = _seed_mean(table.metric(dataset, EPOCH_COST_METRIC, "curves"), present)
    elif COST_METRIC in info.per_seed:
        total = table.metric(dataset, COST_METRIC, "per_seed")
        mean_total = np.nanmean(np.where(present, total, np.nan), axis=1)
        per_epoch = np.repeat((mean_total / epochs[-1])[:, None], len(epochs), axis=1)
    else:
        say(f"{dataset}: no training times; queries cost NaN")
        return None
    with np.errstate(invalid="ignore"):
        arch_time = np.nanmean(per_epoch, axis=1)
    ok = np.flatnonzero(np.isfinite(arch_time) & (arch_time > 0) & np.isfinite(per_epoch).all(axis=1))
    if len(ok) < 20:
        say(f"{dataset}: only {len(ok)} complete epoch times; queries cost NaN")
        return None
    profile = np.median(per_epoch[ok] / arch_time[ok, None], axis=0)
    archs = [table.keys[i] for i in ok]
    y = np.log(arch_time[ok])
    evaluation = None
    if folds:
        say(f"{dataset}/{EPOCH_COST_METRIC}: cross-validation")
        inner = grouped_folds(class_ids(space, archs), len(folds), seed)
        predicted = _out_of_fold("per-epoch", make, archs, y[:, None], inner, seed)[:, 0]
        evaluation = {
            "n": len(ok),
            **{k: v for k, v in rank_correlations(y, predicted).items() if k != "kendall_tau_interval"},
            "rmse_log": float(np.sqrt(np.mean((predicted - y) ** 2))),
        }
    model = make(seed).fit(archs, y)
    return {
        "unit": "s",
        "transform": "log",
        "profile": profile[keep].tolist(),
        "cumulative": np.cumsum(profile)[keep].tolist(),
        "n_train": len(ok),
        "model": artefact.save_predictor(model, root, f"{dataset}/{EPOCH_COST_METRIC}"),
        "evaluation": evaluation,
    }
