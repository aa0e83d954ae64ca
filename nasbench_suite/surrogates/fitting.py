"""Fit a surrogate benchmark from a table: one predictor per (dataset, target), a seed-noise
model and a cost model, written as an artefact (:mod:`nasbench_suite.surrogates.artefact`).

Targets of a dataset (each the table's value, so the surrogate answers like the table):

- the per-seed accuracy (``valid_acc`` or ``test_acc``): the predictor learns the
  seed mean; the noise model (:mod:`~nasbench_suite.surrogates.noise`) adds the
  per-seed spread;
- per-architecture metrics the runner observes or optimises (``valid_acc_mean``,
  and any listed in ``extra_targets``), learned as they are;
- the cost ``train_time_s``, learned as ``log(seconds)`` (its spread over seeds is
  zero in NB201, so a run's cost is the predicted time).

Held-out quality comes from K-fold cross-validation of the same model on the same
rows, folds grouped by equivalence class (``space.canonical_key``) so that no class is
in a training fold and its test fold at once (out-of-fold predictions, scored with the
harness's metrics plus RMSE).
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
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates import artefact
from nasbench_suite.surrogates.evaluation import (
    SPLIT_RULE,
    EvaluationError,
    class_ids,
    grouped_folds,
    ranking_metrics,
    seed_noise_ceiling,
)
from nasbench_suite.surrogates.noise import (
    NoiseModelError,
    fit_decoupling_noise,
    fit_noise_model,
    fit_roughness,
    keyed_normals,
    noise_check,
    roughness_check,
    seed_stats,
)
from nasbench_suite.surrogates.table_evaluation import default_target, table_checksum

COST_METRIC = "train_time_s"
#: Per-architecture metrics fitted when the dataset stores them (the runner observes
#: ``valid_acc_mean`` where there is no per-seed validation accuracy).
DEFAULT_EXTRA_TARGETS: tuple[str, ...] = ("valid_acc_mean",)
#: Predictor settings that weight the top of an accuracy ranking (``xgb``'s ``top_weight``), left
#: out of the cost model.
TOP_PARAMS = ("top_weight", "top_power")


def cross_validate(
    archs: Sequence[Any],
    y: np.ndarray,
    make: Callable[[int], Any],
    folds: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> tuple[dict[str, Any], np.ndarray | None]:
    """K-fold out-of-fold predictions of ``make(fold_seed)``, scored as a whole.

    Args:
        groups: ``(N,)`` equivalence-class ids (:func:`~nasbench_suite.surrogates.evaluation.class_ids`):
            a class is never split across folds. None: every architecture is its own class.

    Returns:
        The figures (``folds``, ``n``, ``split`` and the metrics of :func:`ranking_metrics` plus
        ``rmse``) and the out-of-fold predictions; ``({}, None)`` when ``folds < 2``.
    """
    if folds < 2:
        return {}, None
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    out = np.empty(len(y))
    every = np.arange(len(y))
    for k, test in enumerate(grouped_folds(groups, folds, seed)):
        train = np.setdiff1d(every, test)
        model = make(seed + k).fit([archs[i] for i in train], y[train])
        out[test] = model.predict([archs[i] for i in test])
    figures: dict[str, Any] = {"folds": folds, "n": len(y), "split": SPLIT_RULE}
    figures.update(ranking_metrics(y, out))
    figures["rmse"] = float(np.sqrt(np.mean((out - y) ** 2)))
    return figures, out


def fit_surrogate(
    table_path: str | Path,
    output: str | Path,
    *,
    datasets: Sequence[str] | None = None,
    model: str = "xgb",
    params: dict[str, Any] | None = None,
    cost_params: dict[str, Any] | None = None,
    seed: int = 0,
    cv_folds: int = 5,
    extra_targets: Sequence[str] = DEFAULT_EXTRA_TARGETS,
    overwrite: bool = False,
    description: str = "",
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Fit a surrogate of ``datasets`` of a table and write it as an artefact directory.

    Args:
        table_path: the training table (``.h5``).
        output: artefact directory to create: built beside it (``.<name>.staging-<pid>``) and
            swapped into place in one step, so a kill at any instant leaves the old artefact
            or the new one (:func:`nasbench_suite._atomic.replacing_directory`).
        datasets: datasets to model (default: every dataset of the table).
        model: predictor name (``predictors.get``), used for every target.
        params: predictor hyperparameters.
        cost_params: hyperparameters of the cost model only, over ``params`` (the cost needs
            neither the accuracies' top weighting, which it never gets, nor their capacity).
        seed: seed of the predictors and of the cross-validation splits.
        cv_folds: folds of the held-out evaluation (0: none).
        extra_targets: per-architecture metrics to model besides the accuracy and cost.
        overwrite: replace an existing ``output``.
        description: free text stored in the manifest.
        progress: called with a short description before each step.

    Returns:
        ``output`` as a Path.

    Raises:
        SurrogateArtefactError: ``output`` exists and ``overwrite`` is false.
        OutputError: ``output`` is not a folder, or writing failed (a full disk); the old
            artefact is left as it was and no staging folder is left beside it.
        TableNotFoundError (and other table errors), UnknownDatasetError,
        EvaluationError, PredictorError.
    """
    from nasbench_suite import spaces
    from nasbench_suite.surrogates import predictors
    from nasbench_suite.tabular import Table

    output = Path(output)
    if output.exists() and not overwrite:
        raise SurrogateArtefactError(output, "exists; pass overwrite=True (--force) to replace it")
    say = progress or (lambda _text: None)
    params = dict(params or {})
    with _atomic.replacing_directory(output, exists="replace" if overwrite else "refuse") as staging:
        with Table(table_path) as table:
            space = spaces.get(table.space, **table.space_config)
            names = list(datasets) if datasets else sorted(table.datasets)
            entries = {}
            for dataset in names:
                table.dataset(dataset)  # UnknownDatasetError before any work
            for dataset in names:
                entries[dataset] = _fit_dataset(
                    table,
                    dataset,
                    space,
                    model,
                    params,
                    cost_params or {},
                    seed,
                    cv_folds,
                    extra_targets,
                    staging,
                    say,
                )
            manifest = {
                "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "description": description,
                "space": space.name,
                "space_config": space.config(),
                "model": {"name": model, "params": params, "seed": seed, "cost_params": cost_params or {}},
                "encoding": getattr(predictors.get(model, space, **params), "encoding", None),
                "training_table": {
                    "path": str(table_path),
                    "description": table.manifest.get("description", ""),
                    "checksum": table_checksum(table),
                    "checksum_kind": "BLAKE2b-128 of the table's canonical JSON manifest",
                    "n_archs": table.n_archs,
                },
                "libraries": artefact.library_versions(uses_torch="gin" in (model, params.get("base"))),
                "provenance": provenance(
                    {"kind": "table", "source": Path(table_path).name, "checksum": table_checksum(table)}
                ),
                "datasets": entries,
            }
        artefact.write_manifest(staging, manifest)
    return output


def _fit_dataset(
    table: Any,
    dataset: str,
    space: SearchSpace,
    model: str,
    params: dict[str, Any],
    cost_params: dict[str, Any],
    seed: int,
    cv_folds: int,
    extra_targets: Sequence[str],
    root: Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    from nasbench_suite.surrogates import predictors

    info = table.dataset(dataset)
    keys = table.keys
    metric = default_target(table, dataset)
    present = table.present(dataset) if info.seeds else None
    targets: dict[str, Any] = {}
    noise_entry: dict[str, Any] | None = None
    check: dict[str, Any] | None = None
    roughness_entry: dict[str, Any] | None = None
    table_values: dict[str, np.ndarray] = {}  # target -> (N,) the table's values
    fitted_values: dict[str, np.ndarray] = {}  # target -> (N,) in-sample predictions, NaN where unfitted

    wanted: list[tuple[str, str]] = [(metric, "per_seed" if metric in info.per_seed else "per_arch")]
    wanted += [(m, "per_arch") for m in extra_targets if m in info.per_arch and m != metric]
    if COST_METRIC in info.per_seed or COST_METRIC in info.per_arch:
        wanted.append((COST_METRIC, "cost"))
    for name, kind in wanted:
        if name in info.per_seed:
            per_seed = table.metric(dataset, name, "per_seed")
            values, var, count = seed_stats(per_seed, present)
        else:
            values = table.metric(dataset, name, "per_arch")
        transform = "log" if kind == "cost" else "identity"
        ok = np.isfinite(values) & ((values > 0) if transform == "log" else True)
        if ok.sum() < 20:
            raise EvaluationError(f"{dataset}/{name}: only {int(ok.sum())} finite values to fit on")
        rows = np.flatnonzero(ok)
        archs = [keys[i] for i in rows]
        y = np.log(values[rows]) if transform == "log" else np.asarray(values[rows], dtype=np.float64)

        # Weighting the top of the ranking is for accuracies; the cost has no "top".
        own = {k: v for k, v in params.items() if kind != "cost" or k not in TOP_PARAMS}
        if kind == "cost":
            own.update(cost_params)

        def make(s: int, _params: dict[str, Any] = own) -> Any:
            return predictors.get(model, space, seed=s, **_params)

        say(f"{dataset}/{name}: {cv_folds}-fold cross-validation")
        figures, held_out = cross_validate(archs, y, make, cv_folds, seed, class_ids(space, archs))
        say(f"{dataset}/{name}: fit on {len(rows):,} archs")
        predictor = make(seed).fit(archs, y)
        table_values[name] = values
        fitted_values[name] = np.full(len(keys), np.nan)
        fitted_values[name][rows] = predictor.predict(archs)
        entry = artefact.save_predictor(predictor, root, f"{dataset}/{name}")
        unit = info.per_seed.get(name, info.per_arch.get(name, {})).get("unit", "")
        targets[name] = {
            "kind": kind,
            "transform": transform,
            "unit": unit,
            "n_train": len(rows),
            "model": entry,
            "evaluation": figures,
        }
        if kind != "cost":
            # The shipped model on the rows it was fitted on: its best architecture is what a
            # search on the surrogate finds (regret_best), beside the out-of-fold figures above.
            targets[name]["fitted"] = ranking_metrics(y, fitted_values[name][rows])
        if kind == "per_seed" and held_out is not None:
            # What the model cannot reproduce out of fold, less the seed-mean noise the runs get
            # anyway and less what the shipped fit already reproduces, is the roughness the
            # answers lack (docs/surrogates.md, "Roughness").
            mean_var = (var / np.maximum(count, 1))[rows]
            in_sample = fitted_values[name][rows]
            rough = fit_roughness(values[rows], held_out, mean_var, in_sample=in_sample)
            roughness_entry = rough.to_json() if rough is not None else None
            if rough is not None:
                # What the benchmark's "mean" policy answers: the fit plus each architecture's
                # fixed roughness draw (bench/surrogate_models.py applies the same draw).
                z = keyed_normals(space.canonical_key, dataset, archs, "roughness")
                answers = rough.sample(in_sample, z)
                targets[name]["answers"] = ranking_metrics(y, answers)
                targets[name]["roughness_check"] = roughness_check(y, held_out, mean_var, in_sample, answers)
        if kind == "per_seed":
            try:
                noise = fit_noise_model(per_seed, present)
            except NoiseModelError:
                noise = None
            if noise is not None:
                noise_entry = {"metric": name, **noise.to_json()}
                try:
                    ceiling = seed_noise_ceiling(per_seed, present)
                    targets[name]["ceiling"] = {
                        k: v for k, v in ceiling.items() if not k.startswith("top10_")
                    }
                except EvaluationError:
                    pass  # fewer than 10 architectures with two seeds: no ceiling to show
                rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
                check = noise_check(noise, per_seed, present, rng, means=fitted_values[name])
    for name, target in targets.items():
        if target["kind"] == "per_arch" and name != metric:
            _add_arch_noise(target, name, metric, table_values, fitted_values, seed)
    return {
        "seeds": list(info.seeds),
        "final_epoch": info.protocol.get("epochs"),
        "metric": metric,
        "targets": targets,
        "noise": noise_entry,
        "noise_check": check,
        "roughness": roughness_entry,
        "reference_archs": _reference_archs(space, table, dataset, root),
    }


def _add_arch_noise(
    target: dict[str, Any],
    name: str,
    metric: str,
    table_values: dict[str, np.ndarray],
    fitted_values: dict[str, np.ndarray],
    seed: int,
) -> None:
    """Add ``arch_noise`` (and its check) to a per-architecture target's manifest entry
    (:func:`~nasbench_suite.surrogates.noise.fit_decoupling_noise` against ``metric``)."""
    noise = fit_decoupling_noise(
        table_values[name], table_values[metric], fitted_values[name], fitted_values[metric]
    )
    if noise is None:
        return
    target["arch_noise"] = {"reference": metric, **noise.to_json()}
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    perturbed = noise.sample(fitted_values[name], rng.standard_normal(len(fitted_values[name])))
    ok = np.isfinite(table_values[name]) & np.isfinite(table_values[metric]) & np.isfinite(perturbed)
    slope, intercept = np.polyfit(table_values[metric][ok], table_values[name][ok], 1)

    def residual_std(value: np.ndarray, reference: np.ndarray) -> float:
        return float(np.std(value[ok] - (intercept + slope * reference[ok])))

    target["arch_noise_check"] = {
        "reference": metric,
        "table_residual_std": residual_std(table_values[name], table_values[metric]),
        "fitted_residual_std": residual_std(fitted_values[name], fitted_values[metric]),
        "perturbed_residual_std": residual_std(perturbed, fitted_values[metric]),
    }


def _reference_archs(space: SearchSpace, table: Any, dataset: str, root: Path) -> dict[str, Any] | None:
    """For spaces that cannot be enumerated, the table's keys (regret is taken over them)."""
    if space.size is not None:
        return None
    import json

    relative = f"{dataset}/reference_archs.json"
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic.write_text(path, json.dumps(table.keys) + "\n")
    return {"file": relative, "checksum": artefact.file_checksum(path), "n": table.n_archs}
