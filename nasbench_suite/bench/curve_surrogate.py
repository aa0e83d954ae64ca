"""A Benchmark answered by a learning-curve surrogate: per-epoch results for every architecture.

It answers ``query(arch, dataset, seed, epoch=E)`` like a table with curves: the
accuracies at epoch ``E`` (the last epoch when ``epoch`` is None), ``train_time_s``
and ``cost_s`` the cumulative training time of epochs 1..E, ``epoch_train_time_s``
the time of epoch E; ``epochs(dataset)`` lists the table's epochs, so the runner's
:class:`~nasbench_suite.search.base.SearchContext` and the multi-fidelity strategies see
the same epochs as on the table. Seed policies:

- ``"mean"``: the predicted seed-mean curve;
- an ``int``: one training run of that seed: the mean curve plus the curve noise of
  :mod:`~nasbench_suite.surrogates.curve_noise`, drawn from a generator keyed by
  (dataset, canonical architecture, seed). The whole curve is one draw, so the run's
  answers at different epochs belong together, whatever order they are asked in. The
  table's seeds are ``seeds(dataset)``; any other non-negative int is a further run;
- ``"sample"``: a fresh run: a seed drawn from the caller's generator (at least 2**32,
  so never one of the table's), answered as above and returned in the result, so that a
  resumed run (the runner's promotions) continues the same curve by asking for that seed.

For spaces that are small enough to enumerate (NB201: 15,625), the first query of a
dataset predicts every architecture's curves at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nasbench_suite.bench.base import QueryResult, SeedPolicy
from nasbench_suite.bench.surrogate import ArtefactBenchmark
from nasbench_suite.bench.tabular import SeedPolicyError
from nasbench_suite.errors import (
    SurrogateArtefactError,
    UnknownEpochError,
    UnknownMetricError,
)
from nasbench_suite.surrogates import artefact
from nasbench_suite.surrogates.curve_models import CurveModel
from nasbench_suite.surrogates.curve_noise import CurveNoiseModel
from nasbench_suite.surrogates.noise import NoiseModelError

if TYPE_CHECKING:
    import pandas as pd

COST_METRIC = "train_time_s"
EPOCH_COST_METRIC = "epoch_train_time_s"
#: Seeds that ``"sample"`` draws start here, above any seed a table stores in practice.
SAMPLED_SEEDS = (2**32, 2**63 - 1)


@dataclass
class _Curves:
    """One dataset's loaded models and the curves predicted so far."""

    name: str
    epochs: tuple[int, ...]
    models: dict[str, CurveModel]
    cost_model: Any | None
    profile: np.ndarray | None  # (E,) time of each answered epoch over the architecture's mean
    cumulative: np.ndarray | None  # (E,) time of epochs 1..e over that mean (every epoch trained)
    noise: CurveNoiseModel | None
    canonical: Any
    row_of: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    means: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> (n, E)

    def predict(self, keys: list[str]) -> None:
        start = len(self.keys)
        self.row_of.update((key, start + i) for i, key in enumerate(keys))
        self.keys.extend(keys)
        new = {name: np.clip(model.predict(keys), 0.0, 100.0) for name, model in self.models.items()}
        if self.cost_model is not None:
            epoch_time = np.exp(np.asarray(self.cost_model.predict(keys), dtype=np.float64))
            new[EPOCH_COST_METRIC] = epoch_time[:, None] * self.profile[None, :]
            new[COST_METRIC] = epoch_time[:, None] * self.cumulative[None, :]
        for name, values in new.items():
            self.means[name] = np.concatenate([self.means[name], values]) if name in self.means else values

    def draws(self, rows: np.ndarray, seeds: np.ndarray) -> dict[str, np.ndarray]:
        """Correlated standard normals ``(n, E)`` per metric, one generator per (arch, seed)."""
        shape = (len(self.noise.metrics), len(self.epochs))
        w = np.empty((len(rows), *shape))
        prefix = f"{self.name}\x00".encode()
        for i, (row, seed) in enumerate(zip(rows.tolist(), seeds.tolist())):
            # Keyed by the canonical key, not by the order of queries: the same run on every call.
            text = prefix + f"{seed}\x00{self.canonical(self.keys[row])}".encode()
            key = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")
            w[i] = np.random.Generator(np.random.PCG64(key)).standard_normal(shape)
        return self.noise.standard_draws(w)


class CurveSurrogateBenchmark(ArtefactBenchmark):
    """Queries answered by the learning-curve artefact in ``path`` (see :class:`Benchmark`).

    Raises (on open):
        SurrogateArtefactError: not an artefact, not a learning-curve one, or a check of
            :func:`~nasbench_suite.surrogates.artefact.read_manifest` fails. Model files are
            checked (checksums) when a dataset is first queried.
    """

    supports_predict_dist: ClassVar[bool] = True
    fresh_seed_noise: ClassVar[bool] = True

    def __init__(self, path: str | Path):
        self._open(path, curves=True)
        self._loaded: dict[str, _Curves] = {}

    def epochs(self, dataset: str) -> tuple[int, ...]:
        return tuple(self._entry(dataset)["epochs"])

    def metric_names(self, dataset: str) -> list[str]:
        entry = self._entry(dataset)
        return sorted([*entry["curves"], *((COST_METRIC, EPOCH_COST_METRIC) if entry.get("cost") else ())])

    def evaluation(self, dataset: str) -> dict[str, Any]:
        """Held-out figures per curve metric (per epoch, with the table's ceiling), from the manifest."""
        return {name: c.get("evaluation") or {} for name, c in self._entry(dataset)["curves"].items()}

    def __repr__(self) -> str:
        return f"CurveSurrogateBenchmark({str(self.path)!r})"

    # --- loading --------------------------------------------------------------------

    def _dataset(self, dataset: str) -> _Curves:
        loaded = self._loaded.get(dataset)
        if loaded is not None:
            return loaded
        entry = self._entry(dataset)
        epochs = tuple(entry["epochs"])
        models = {
            name: CurveModel.load(self.space, self.path, c, len(epochs))
            for name, c in sorted(entry["curves"].items())
        }
        cost = entry.get("cost")
        try:
            noise = CurveNoiseModel.from_json(entry["noise"]) if entry.get("noise") else None
        except NoiseModelError as exc:
            raise SurrogateArtefactError(self.path / artefact.MANIFEST, f"{dataset}: {exc}") from None
        if noise is not None and (noise.epochs != epochs or not set(noise.metrics) <= set(models)):
            raise SurrogateArtefactError(
                self.path / artefact.MANIFEST, f"{dataset}: noise and curves disagree"
            )
        loaded = _Curves(
            name=dataset,
            epochs=epochs,
            models=models,
            cost_model=artefact.load_predictor(self.space, self.path, cost["model"]) if cost else None,
            profile=np.asarray(cost["profile"], dtype=np.float64) if cost else None,
            cumulative=np.asarray(cost["cumulative"], dtype=np.float64) if cost else None,
            noise=noise,
            canonical=self.space.canonical_key,
        )
        self._loaded[dataset] = loaded
        self._predict_whole_space(loaded)
        return loaded

    # --- queries ----------------------------------------------------------------------

    def _epoch_index(self, ds: _Curves, epoch: int | None) -> int:
        if epoch is None:
            return len(ds.epochs) - 1
        if (
            isinstance(epoch, (bool, np.bool_))
            or not isinstance(epoch, (int, np.integer))
            or epoch not in ds.epochs
        ):
            raise UnknownEpochError(
                epoch, f"the surrogate of {ds.name!r} predicts epochs {ds.epochs[0]}..{ds.epochs[-1]}"
            )
        return ds.epochs.index(int(epoch))

    def _names(self, ds: _Curves, dataset: str, metrics: Sequence[str] | str | None) -> list[str]:
        known = self.metric_names(dataset)
        if metrics is None or metrics == "all":
            return known
        if isinstance(metrics, str):
            raise UnknownMetricError(metrics, ["all", *known])
        for m in metrics:
            if m not in known:
                raise UnknownMetricError(m, known)
        return list(metrics)

    def _seeds(self, n: int, seed: SeedPolicy, rng: np.random.Generator | None) -> np.ndarray | None:
        """The training seed of each row; None for the seed mean."""
        if isinstance(seed, str) and seed == "mean":
            return None
        if isinstance(seed, str) and seed == "sample":
            if rng is None:
                raise SeedPolicyError("seed='sample' needs rng=numpy.random.Generator")
            return rng.integers(*SAMPLED_SEEDS, size=n, dtype=np.int64)
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise SeedPolicyError(f"seed must be a non-negative int, 'mean' or 'sample', not {seed!r}")
        return np.full(n, int(seed), dtype=np.int64)

    def _values(
        self, ds: _Curves, rows: np.ndarray, names: list[str], k: int, seeds: np.ndarray | None
    ) -> dict[str, np.ndarray]:
        z = ds.draws(rows, seeds) if seeds is not None and ds.noise is not None else None
        out = {}
        for name in names:
            mean = ds.means[name][rows, k]
            if z is not None and name in z:
                mean = ds.noise.per_epoch[name][k].sample(mean, z[name][:, k])
            out[name] = mean
        return out

    def _cost(self, ds: _Curves, rows: np.ndarray, k: int) -> np.ndarray:
        return ds.means[COST_METRIC][rows, k] if COST_METRIC in ds.means else np.full(len(rows), np.nan)

    def query(
        self,
        arch: Any,
        dataset: str,
        seed: SeedPolicy = "mean",
        *,
        epoch: int | None = None,
        rng: np.random.Generator | None = None,
        metrics: Sequence[str] | str | None = None,
    ) -> QueryResult:
        ds = self._dataset(dataset)
        k = self._epoch_index(ds, epoch)
        names = self._names(ds, dataset, metrics)
        rows = self._rows(ds, [arch])
        seeds = self._seeds(1, seed, rng)
        values = self._values(ds, rows, names, k, seeds)
        return QueryResult(
            ds.keys[rows[0]],
            dataset,
            "mean" if seeds is None else int(seeds[0]),
            epoch,
            {name: float(v[0]) for name, v in values.items()},
            float(self._cost(ds, rows, k)[0]),
        )

    def query_batch(
        self,
        archs: Sequence[Any],
        dataset: str,
        seed: SeedPolicy = "mean",
        *,
        epoch: int | None = None,
        rng: np.random.Generator | None = None,
        metrics: Sequence[str] | str | None = None,
    ) -> pd.DataFrame:
        import pandas as pd

        ds = self._dataset(dataset)
        k = self._epoch_index(ds, epoch)
        names = self._names(ds, dataset, metrics)
        rows = self._rows(ds, archs)
        seeds = self._seeds(len(rows), seed, rng)
        columns: dict[str, Any] = {
            "arch": np.asarray(ds.keys, dtype=object)[rows],
            "seed": np.full(len(rows), -1, dtype=np.int64) if seeds is None else seeds,
        }
        columns.update(self._values(ds, rows, names, k, seeds))
        columns["cost_s"] = self._cost(ds, rows, k)
        return pd.DataFrame(columns, copy=False)

    def curves(
        self,
        archs: Sequence[Any],
        dataset: str,
        metric: str,
        seed: SeedPolicy = "mean",
        *,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Whole curves of ``metric``: ``(n, E)`` over ``epochs(dataset)`` (one run per row for a
        seed policy other than ``"mean"``)."""
        ds = self._dataset(dataset)
        if metric not in ds.means:
            raise UnknownMetricError(metric, self.metric_names(dataset))
        rows = self._rows(ds, archs)
        seeds = self._seeds(len(rows), seed, rng)
        mean = ds.means[metric][rows]
        if seeds is None or ds.noise is None or metric not in ds.noise.metrics:
            return mean.copy()
        return ds.noise.sample(metric, mean, ds.draws(rows, seeds)[metric])

    def predict_dist(
        self, archs: Sequence[Any], dataset: str, metric: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of one run's ``metric`` at the last epoch: the held-out RMSE of the last
        epoch combined with the seed spread at the predicted mean (the cost: its mean, std 0)."""
        ds = self._dataset(dataset)
        metric = metric or self._entry(dataset)["metric"]
        if metric not in ds.means:
            raise UnknownMetricError(metric, self.metric_names(dataset))
        rows = self._rows(ds, archs)
        mean = ds.means[metric][rows, -1]
        if metric not in ds.models:
            return mean, np.zeros(len(rows))
        figures = (self.evaluation(dataset).get(metric) or {}).get("per_epoch") or [{}]
        rmse = figures[-1].get("rmse") or 0.0
        noise = ds.noise.per_epoch[metric][-1].std(mean) if ds.noise is not None else 0.0
        return mean, np.sqrt(rmse**2 + noise**2)
