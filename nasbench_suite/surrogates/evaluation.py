"""Evaluation harness: how well a predictor ranks architectures it has not seen.

For each trial (seeded) the stored architectures are shuffled; for each
training-set size the first ``size`` are the training set and every other
architecture *of another equivalence class* is the test set: an architecture whose
class (``space.canonical_key``) has a member in the training set is in neither, so
no class is trained on and tested at once (on NB201, a model that has seen one
spelling of a network is not credited for "predicting" another). Metrics are
computed on the whole test set and on its top 10 percent (by true value), where
ranking matters most for search.
Beside them sits the *seed-noise ceiling*: how well one training seed ranks the
architectures against another, a bound on what any predictor of single runs can reach.

Metrics (all on held-out architectures): Kendall tau, sparse Kendall tau (both
true and predicted values rounded to 0.1 points first, so differences below the
table's resolution count as ties), Spearman rho, R2, MAE, top-1 % and top-5 %
recall (the share of the true top k % that the predicted top k % holds; the two
sets have the same size, so it is also the precision, and the keys keep the name
``precision_topKpct``), the regret of the predicted best (the true best value less
the true value of the architecture the model ranks first: what a search that
trusts the model ends with), and the wall-clock fit and predict times.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench_suite.errors import NasbenchError
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.stats import mean_or_nan, mean_se, seed_vs_seed
from nasbench_suite.surrogates.noise import seed_stats

#: Builds a fresh predictor: ``factory(space, seed) -> Predictor``.
PredictorFactory = Callable[[SearchSpace, int], Any]

METRICS = (
    "kendall_tau",
    "sparse_kendall_tau",
    "spearman",
    "r2",
    "mae",
    "precision_top1pct",
    "precision_top5pct",
    "regret_best",
)
TOP_TEST_FRACTION = 0.1
#: How the harness and the surrogate fit split architectures (recorded in every report).
SPLIT_RULE = "grouped by equivalence class (space.canonical_key): no class in training and test at once"


class EvaluationError(NasbenchError, ValueError):
    """Bad settings for an evaluation: no usable training size, unknown target, too few archs."""


# --- metrics --------------------------------------------------------------------


def precision_at_top(y_true: np.ndarray, y_pred: np.ndarray, fraction: float) -> float:
    """Overlap of the true and predicted top ``fraction`` sets over their size (at least 1)."""
    k = max(1, round(fraction * len(y_true)))
    top_true = np.argsort(-y_true, kind="stable")[:k]
    top_pred = np.argsort(-y_pred, kind="stable")[:k]
    return len(np.intersect1d(top_true, top_pred)) / k


def regret_of_best(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """``max(y_true)`` less the true value of the first architecture with the highest prediction
    (target units; 0 when the model's best is a true best)."""
    return float(np.max(y_true) - y_true[int(np.argmax(y_pred))])


def ranking_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one test set (NaN where undefined, e.g. a constant input).

    Args:
        y_true, y_pred: ``(n,)`` true and predicted values, same units (e.g. accuracy in %).
    """
    from scipy.stats import kendalltau, spearmanr
    from sklearn.metrics import mean_absolute_error, r2_score

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if len(y_true) < 2:
        return dict.fromkeys(METRICS, math.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "kendall_tau": float(kendalltau(y_true, y_pred).statistic),
            "sparse_kendall_tau": float(kendalltau(np.round(y_true, 1), np.round(y_pred, 1)).statistic),
            "spearman": float(spearmanr(y_true, y_pred).statistic),
            "r2": float(r2_score(y_true, y_pred)),
            "mae": float(mean_absolute_error(y_true, y_pred)),
            "precision_top1pct": precision_at_top(y_true, y_pred, 0.01),
            "precision_top5pct": precision_at_top(y_true, y_pred, 0.05),
            "regret_best": regret_of_best(y_true, y_pred),
        }


# --- splits grouped by equivalence class ------------------------------------------------


def class_ids(space: SearchSpace, archs: Sequence[Any]) -> np.ndarray:
    """``(N,)`` int ids of the equivalence classes (``space.canonical_key``) of ``archs``, numbered
    in order of first appearance."""
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(space.canonical_key(a), len(ids)) for a in archs], dtype=np.int64)


def grouped_folds(groups: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """Test rows of ``folds`` folds in which no group is split (scikit-learn's ``GroupKFold``,
    groups shuffled by ``seed``); every row is in exactly one fold.

    Raises:
        EvaluationError: fewer groups than folds.
    """
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(groups)
    if len(np.unique(groups)) < folds:
        raise EvaluationError(
            f"{folds} folds need {folds} equivalence classes; found {len(np.unique(groups))}"
        )
    state = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0] % 2**31)
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=state)
    return [test for _, test in splitter.split(np.zeros(len(groups)), groups=groups)]


# --- the seed-noise ceiling -----------------------------------------------------------


def seed_noise_ceiling(per_seed: np.ndarray, present: np.ndarray) -> dict[str, Any]:
    """How well one seed's results rank architectures against other seeds' (archs with >= 2 seeds).

    Returns a dict with ``n_archs`` and, for all of them and for the top 10
    percent by seed mean (``top10_``), ``kendall_tau_seed_vs_seed`` (mean over
    seed pairs, on the archs having both: :func:`nasbench_suite.stats.seed_vs_seed`;
    a pair whose tau is undefined makes it NaN), ``kendall_tau_seed_vs_rest`` (each
    seed against the mean of the arch's other seeds, mean over seeds) and the
    same two with Spearman rho. On all of them also ``precision_top1pct_seed_vs_rest``,
    ``precision_top5pct_seed_vs_rest`` (the top-k % recall of one seed's ranking against
    the mean of the others) and ``regret_best_seed_vs_rest`` (the others' best mean less
    their mean on the architecture one seed ranks first), each a mean over seeds.

    Raises:
        EvaluationError: fewer than 10 architectures with two or more seeds.
    """
    from scipy.stats import kendalltau, spearmanr

    mean, _, count = seed_stats(per_seed, present)
    multi = count >= 2
    if multi.sum() < 10:
        raise EvaluationError(f"the seed-noise ceiling needs 10 archs with >= 2 seeds; found {multi.sum()}")
    ok = present & np.isfinite(per_seed)
    top = multi & (mean >= np.quantile(mean[multi], 1 - TOP_TEST_FRACTION))
    out: dict[str, Any] = {"n_archs": int(multi.sum()), "n_seeds": int(per_seed.shape[1])}
    for prefix, rows in (("", multi), ("top10_", top)):
        rest_tau, rest_rho, rest_top = [], [], []
        for s in range(per_seed.shape[1]):
            has = rows & ok[:, s]
            others = np.where(ok, per_seed, 0.0).sum(axis=1) - np.where(ok[:, s], per_seed[:, s], 0.0)
            n_others = ok.sum(axis=1) - ok[:, s]
            has &= n_others > 0
            if has.sum() >= 2:
                rest = others[has] / n_others[has]
                rest_tau.append(kendalltau(per_seed[has, s], rest).statistic)
                rest_rho.append(spearmanr(per_seed[has, s], rest).statistic)
                rest_top.append(
                    [
                        precision_at_top(rest, per_seed[has, s], 0.01),
                        precision_at_top(rest, per_seed[has, s], 0.05),
                        regret_of_best(rest, per_seed[has, s]),
                    ]
                )
        in_rows = ok & rows[:, None]
        out[f"{prefix}kendall_tau_seed_vs_seed"] = seed_vs_seed(per_seed, in_rows, method="kendall")
        out[f"{prefix}kendall_tau_seed_vs_rest"] = mean_or_nan(rest_tau)
        out[f"{prefix}spearman_seed_vs_seed"] = seed_vs_seed(per_seed, in_rows, method="spearman")
        out[f"{prefix}spearman_seed_vs_rest"] = mean_or_nan(rest_rho)
        if not prefix:
            top = np.array(rest_top, dtype=np.float64).reshape(-1, 3)
            for i, name in enumerate(("precision_top1pct", "precision_top5pct", "regret_best")):
                out[f"{name}_seed_vs_rest"] = mean_or_nan(top[:, i].tolist())
    return out


# --- the harness ----------------------------------------------------------------


@dataclass
class EvaluationResult:
    """Raw and summarised results of :func:`evaluate_predictors`.

    Attributes:
        trials: one dict per (model, size, trial, test set): the metrics plus
            ``fit_time_s`` and ``predict_time_s`` (wall clock, seconds).
        settings: what was run (sizes, trials, seed, models, number of archs).
    """

    trials: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> list[dict[str, Any]]:
        """Mean and standard error over trials per (model, train size, test set)."""
        groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        for row in self.trials:
            groups.setdefault((row["model"], row["train_size"], row["test_set"]), []).append(row)
        out = []
        for (model, size, test_set), rows in groups.items():
            entry: dict[str, Any] = {"model": model, "train_size": size, "test_set": test_set}
            entry["n_trials"] = len(rows)
            entry["n_test"] = int(np.mean([r["n_test"] for r in rows]))
            for name in (*METRICS, "fit_time_s", "predict_time_s"):
                values = np.array([r[name] for r in rows], dtype=np.float64)
                mean, se = mean_se(values)
                entry[name] = {"mean": mean, "se": se}
            out.append(entry)
        return out


def resolve_models(
    models: Sequence[str] | Mapping[str, PredictorFactory],
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, PredictorFactory]:
    """Model names (from the predictor registry) or ready factories -> name -> factory.

    Raises:
        EvaluationError: an empty list.
    """
    if isinstance(models, Mapping):
        factories = dict(models)
    else:
        from nasbench_suite.surrogates import predictors

        def factory_of(name: str) -> PredictorFactory:
            extra = dict((params or {}).get(name, {}))
            return lambda space, seed: predictors.get(name, space, seed=seed, **extra)

        factories = {name: factory_of(name) for name in models}
    if not factories:
        raise EvaluationError("no model to evaluate")
    return factories


def params_in_effect(predictor: Any) -> dict[str, Any]:
    """A predictor's hyperparameters, its encoding resolved for the space (``"auto"`` named)."""
    params = dict(getattr(predictor, "params", {}))
    if "encoding" in params and getattr(predictor, "encoding", None) is not None:
        params["encoding"] = predictor.encoding
    return params


def evaluate_predictors(
    space: SearchSpace,
    archs: Sequence[Any],
    y: np.ndarray,
    models: Sequence[str] | Mapping[str, PredictorFactory],
    *,
    train_sizes: Sequence[int],
    trials: int,
    seed: int = 0,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
    min_train_size: int = 2,
) -> EvaluationResult:
    """Fit each model on random training sets and score it on the held-out architectures.

    Args:
        space: the search space of ``archs``.
        archs: ``N`` architectures (or their text forms).
        y: ``(N,)`` targets (e.g. seed-mean accuracy in %).
        models: predictor names (``predictors.get``) or name -> ``factory(space, seed)``.
        train_sizes: training-set sizes; sizes ``>= N - 1`` are dropped (no test set).
        trials: number of random splits per size; trial ``t`` uses the ``t``-th child of
            ``SeedSequence(seed)`` for the split and the predictor's seed, so every model
            sees the same splits.
        params: per-model hyperparameters (for names only).
        progress: called with a short description before each fit.
        min_train_size: smaller sizes are dropped; 0 admits models that rank without
            target data (transfer from another dataset: ``fit`` then sees no architecture).

    Raises:
        EvaluationError: no usable training size, ``trials < 1``, or ``len(archs) != len(y)``.
        PredictorError: from the predictors.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(archs)
    if len(y) != n:
        raise EvaluationError(f"{n} architectures but {len(y)} targets")
    groups = class_ids(space, archs)
    if trials < 1:
        raise EvaluationError(f"trials must be >= 1, not {trials}")
    sizes = sorted({int(s) for s in train_sizes if min_train_size <= int(s) <= n - 10})
    dropped = sorted({int(s) for s in train_sizes} - set(sizes))
    if not sizes:
        raise EvaluationError(f"no training size in {list(train_sizes)} leaves a test set of {n} archs")
    factories = resolve_models(models, params)
    archs = list(archs)
    result = EvaluationResult(
        settings={
            "models": list(factories),
            "train_sizes": sizes,
            "dropped_train_sizes": dropped,
            "trials": trials,
            "seed": seed,
            "n_archs": n,
            "top_test_fraction": TOP_TEST_FRACTION,
            "split": SPLIT_RULE,
            "n_classes": int(groups.max()) + 1 if n else 0,
            "params": {k: dict(v) for k, v in (params or {}).items()},
            # every hyperparameter in effect (defaults included), so a report stays readable
            # after a predictor's defaults change
            "model_params": {name: params_in_effect(f(space, 0)) for name, f in factories.items()},
        }
    )
    for t, child in enumerate(np.random.SeedSequence(seed).spawn(trials)):
        rng = np.random.default_rng(child)
        perm = rng.permutation(n)
        model_seed = int(child.generate_state(1)[0])
        for size in sizes:
            train, rest = perm[:size], perm[size:]
            test = rest[~np.isin(groups[rest], groups[train])]
            top = test[y[test] >= np.quantile(y[test], 1 - TOP_TEST_FRACTION)]
            for name, factory in factories.items():
                if progress is not None:
                    progress(f"{name} n={size} trial {t + 1}/{trials}")
                predictor = factory(space, model_seed)
                start = time.perf_counter()
                predictor.fit([archs[i] for i in train], y[train])
                fit_s = time.perf_counter() - start
                start = time.perf_counter()
                pred = np.asarray(predictor.predict([archs[i] for i in test]), dtype=np.float64)
                predict_s = time.perf_counter() - start
                top_pred = pred[np.isin(test, top)]
                for test_set, truth, guess in (("all", y[test], pred), ("top10", y[top], top_pred)):
                    row = {"model": name, "train_size": size, "trial": t, "test_set": test_set}
                    row.update(ranking_metrics(truth, guess))
                    row.update(n_test=len(truth), fit_time_s=fit_s, predict_time_s=predict_s)
                    result.trials.append(row)
    return result
