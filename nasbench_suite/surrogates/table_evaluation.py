"""The evaluation harness on a table: targets, the seed-noise ceiling and the report of one dataset.

:func:`evaluate_table` reads a dataset's targets (the seed mean of its accuracy, or
a named metric), computes the seed-noise ceiling from its per-seed arrays, and runs
:func:`~nasbench_suite.surrogates.evaluation.evaluate_predictors` on them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates.evaluation import (
    EvaluationError,
    PredictorFactory,
    evaluate_predictors,
    seed_noise_ceiling,
)
from nasbench_suite.surrogates.noise import seed_stats

# --- from a table -----------------------------------------------------------------


@dataclass(frozen=True)
class TableTargets:
    """What a table offers a predictor for one dataset.

    Attributes:
        keys: stored keys of the architectures with a finite target.
        y: ``(n,)`` targets: the seed mean of a per-seed metric, or a per-arch metric.
        target: the metric name.
        per_seed: ``(n, S)`` per-seed values of ``target`` (``None`` for a per-arch target).
        present: ``(n, S)`` bool (``None`` likewise).
    """

    keys: list[str]
    y: np.ndarray
    target: str
    per_seed: np.ndarray | None
    present: np.ndarray | None


#: The per-seed accuracy a table's dataset is judged by, in order of preference.
ACCURACY_METRICS = ("valid_acc", "test_acc", "valid_acc_mean", "test_acc_mean")


def default_target(table: Any, dataset: str) -> str:
    """The first of :data:`ACCURACY_METRICS` the dataset stores.

    Raises:
        UnknownDatasetError, EvaluationError: none of them is stored.
    """
    info = table.dataset(dataset)
    for name in ACCURACY_METRICS:
        if name in info.per_seed or name in info.per_arch:
            return name
    raise EvaluationError(
        f"dataset {dataset!r} stores none of {', '.join(ACCURACY_METRICS)}; pass a target explicitly"
    )


def table_targets(table: Any, dataset: str, target: str | None = None) -> TableTargets:
    """Targets of ``dataset`` from an open :class:`~nasbench_suite.tabular.Table`.

    Raises:
        UnknownDatasetError, UnknownMetricError, EvaluationError (fewer than 20 finite targets).
    """
    info = table.dataset(dataset)
    target = target or default_target(table, dataset)
    kind = info.kind_of(target)
    if kind == "per_seed":
        per_seed = table.metric(dataset, target, "per_seed")
        present = table.present(dataset)
        y, _, _ = seed_stats(per_seed, present)
    elif kind == "per_arch":
        y, per_seed, present = table.metric(dataset, target, "per_arch"), None, None
    else:
        raise EvaluationError(f"{target!r} is a per-epoch curve; a target is per seed or per arch")
    ok = np.isfinite(y)
    if ok.sum() < 20:
        raise EvaluationError(f"dataset {dataset!r} has only {int(ok.sum())} archs with a finite {target}")
    keys = [k for k, good in zip(table.keys, ok) if good]
    return TableTargets(
        keys=keys,
        y=np.asarray(y[ok], dtype=np.float64),
        target=target,
        per_seed=None if per_seed is None else per_seed[ok],
        present=None if present is None else present[ok],
    )


def table_checksum(table: Any) -> str:
    """The table's manifest checksum (BLAKE2b-128 of its canonical JSON manifest, which holds the
    checksum of every array): identifies the table's content, unlike a hash of the HDF5 file's bytes."""
    from nasbench_suite.tabular import layout

    return layout.json_checksum(table.manifest)


def evaluate_table(
    path: str | Path,
    dataset: str,
    models: Sequence[str] | Mapping[str, PredictorFactory],
    *,
    train_sizes: Sequence[int] = (20, 100, 1000, 5000),
    trials: int = 10,
    seed: int = 0,
    target: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
    archs_file: str | Path | None = None,
    proxies: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run the harness on one dataset of a table and compute the seed-noise ceiling.

    ``proxies`` (zero-cost proxy names, the table's ``zc_<name>`` metrics; ``["all"]`` for
    every one the dataset holds) are passed as ``values`` to the predictors that take them
    (``proxy_input``: ``zc`` one proxy, ``xgb-zc`` and ``xgb-zc-only`` a vector). The rule
    for architectures without proxy values: the evaluation (every model and the ceiling) is
    restricted to the architectures that have a finite value of every named proxy, so that
    all models are compared on the same architectures; the report says how many were left out.

    ``archs_file`` supplies the architectures of a table whose keys cannot be parsed
    back into architectures (NB101 tables store graph hashes): JSON lines, one
    architecture a line in a form the space validates (other fields are ignored, so
    the NB101 sample's own lines work); each is matched to the table by its key.

    Returns:
        A JSON-able report: ``table`` (path, manifest checksum), ``space``,
        ``dataset``, ``target``, ``settings``, ``ceiling`` (the dict of
        :func:`seed_noise_ceiling`, or ``{"available": False, "reason": ...}``),
        ``summary`` (:meth:`EvaluationResult.summary`) and ``trials`` (raw rows).

    Raises:
        TableNotFoundError and the other table errors, UnknownDatasetError,
        UnknownMetricError, EvaluationError, PredictorError.
    """
    from nasbench_suite import spaces
    from nasbench_suite.tabular import Table

    with Table(path) as table:
        data = table_targets(table, dataset, target)
        space = spaces.get(table.space, **table.space_config)
        checksum = table_checksum(table)
        proxy_report = None
        if proxies is not None:
            data, params, proxy_report = _with_proxies(table, dataset, data, proxies, models, params)
    archs: list[Any] = data.keys
    if archs_file is not None:
        archs = _archs_from_file(space, archs_file, data.keys)
    if data.per_seed is not None:
        try:
            ceiling: dict[str, Any] = {"available": True, **seed_noise_ceiling(data.per_seed, data.present)}
        except EvaluationError as exc:
            ceiling = {"available": False, "reason": str(exc)}
    else:
        ceiling = {
            "available": False,
            "reason": f"the table stores {data.target} per architecture only (no per-seed results)",
        }
    result = evaluate_predictors(
        space,
        archs,
        data.y,
        models,
        train_sizes=train_sizes,
        trials=trials,
        seed=seed,
        params=params,
        progress=progress,
    )
    if proxy_report is not None:
        # The proxy values come from the table the report names: recorded by name, not copied.
        for kind in ("params", "model_params"):
            for model_params in result.settings.get(kind, {}).values():
                if "values" in model_params:
                    model_params["values"] = f"the table's zc_ metrics: {', '.join(proxy_report['names'])}"
    return {
        "table": {"path": str(path), "checksum": checksum},
        "archs_file": None if archs_file is None else str(archs_file),
        "space": space.name,
        "dataset": dataset,
        "target": data.target,
        "settings": result.settings,
        "ceiling": ceiling,
        "proxies": proxy_report,
        "summary": result.summary(),
        "trials": result.trials,
    }


def table_proxies(table: Any, dataset: str, names: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The proxies ``names`` (``["all"]``: every ``zc_*`` proxy of the dataset) as an
    ``(n_archs, k)`` array over the table's rows, NaN where missing, and their names.

    Raises:
        UnknownMetricError: a proxy the dataset does not hold (naming those it holds).
    """
    from nasbench_suite.errors import UnknownMetricError

    info = table.dataset(dataset)
    held = sorted(
        m[3:] for m in info.per_arch if m.startswith("zc_") and m not in ("zc_time_s", "zc_hardware_id")
    )
    chosen = held if list(names) == ["all"] else list(names)
    for name in chosen:
        if name not in held:
            raise UnknownMetricError(f"zc_{name}", [f"zc_{h}" for h in held])
    if not chosen:
        raise EvaluationError(f"dataset {dataset!r} holds no zero-cost proxies (zc_* metrics)")
    columns = [np.asarray(table.metric(dataset, f"zc_{n}", "per_arch"), dtype=np.float64) for n in chosen]
    return chosen, np.column_stack(columns)


def _with_proxies(
    table: Any,
    dataset: str,
    data: TableTargets,
    names: Sequence[str],
    models: Sequence[str] | Mapping[str, PredictorFactory],
    params: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[TableTargets, dict[str, dict[str, Any]], dict[str, Any]]:
    """``data`` restricted to the architectures with every proxy, the models' params with their
    ``values``, and what the report says about the proxies."""
    from nasbench_suite.surrogates import predictors

    chosen, matrix = table_proxies(table, dataset, names)
    row_of = table.row_of
    rows = matrix[[row_of[k] for k in data.keys]]
    ok = np.isfinite(rows).all(axis=1)
    kept = TableTargets(
        keys=[k for k, good in zip(data.keys, ok.tolist()) if good],
        y=data.y[ok],
        target=data.target,
        per_seed=None if data.per_seed is None else data.per_seed[ok],
        present=None if data.present is None else data.present[ok],
    )
    out = {name: dict(p) for name, p in (params or {}).items()}
    for name in models if not isinstance(models, Mapping) else ():
        kind = predictors.predictor_class(name).proxy_input
        if kind == "scalar" and len(chosen) != 1:
            raise EvaluationError(f"predictor {name!r} takes one proxy; {len(chosen)} were named")
        if kind is not None:
            values = {
                k: (float(r[0]) if kind == "scalar" else r.tolist()) for k, r in zip(kept.keys, rows[ok])
            }
            out.setdefault(name, {})["values"] = values
    report = {
        "names": chosen,
        "n_with": int(ok.sum()),
        "n_without": int((~ok).sum()),
        "rule": "evaluated on the architectures with a finite value of every proxy",
    }
    return kept, out, report


def _archs_from_file(space: SearchSpace, path: str | Path, keys: Sequence[str]) -> list[Any]:
    """The architectures of ``keys`` (in order) from a JSON-lines file; see :func:`evaluate_table`.

    Raises:
        EvaluationError: an unreadable line, or a key of the table the file lacks.
    """
    import json

    from nasbench_suite.errors import MalformedArchError

    wanted = set(keys)
    found: dict[str, Any] = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if isinstance(obj, dict):
                    # only the fields the space knows (the NB101 sample's lines carry the accuracy too)
                    obj = {k: v for k, v in obj.items() if k in ("adjacency", "ops", "matrix", "arch")}
                    obj = obj.get("arch", obj)
                arch = space.validate(obj)
            except (ValueError, MalformedArchError) as exc:
                raise EvaluationError(
                    f"{path}:{number}: not an architecture of {space.name}: {exc}"
                ) from None
            key = space.key(arch)
            if key in wanted:
                found.setdefault(key, arch)
    missing = [k for k in keys if k not in found]
    if missing:
        raise EvaluationError(
            f"{path} lacks {len(missing)} of the table's {len(keys)} architectures (first: {missing[0]!r})"
        )
    return [found[k] for k in keys]
