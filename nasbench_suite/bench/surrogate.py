"""A Benchmark answered by fitted surrogates: it behaves like the table it was fitted on.

Per dataset it returns the table's metrics: the per-seed accuracy (predicted seed
mean plus seed noise from the noise model), the per-architecture metrics it
modelled (``valid_acc_mean``...: the prediction plus one fixed draw per
architecture of the decoupling noise of :func:`~nasbench_suite.surrogates.noise.
fit_decoupling_noise`, so that they follow the accuracy as loosely as in the
table), ``train_time_s``, and ``cost_s`` = the predicted training time. Where the
manifest has a ``roughness`` model, every accuracy also gets one fixed draw per
architecture of it (the table's roughness around the smooth fit), under every seed
policy. Seed policies:

- ``"mean"``: the predicted mean;
- an ``int`` (one of the table's seeds): a deterministic draw keyed by
  (dataset, canonical key, seed): the same answer on every call, in any order,
  and the same for isomorphic architectures;
- ``"sample"``: a fresh draw from the caller's generator.

Any architecture of the space can be queried, not only the table's. For spaces
that can be enumerated and are small (NB201: 15,625), the first query of a
dataset predicts every architecture at once, so later queries are lookups;
otherwise predictions are cached per architecture as they are asked for (loading,
predicting and the keyed draws: :mod:`nasbench_suite.bench.surrogate_models`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nasbench_suite.bench.base import Benchmark, QueryResult, SeedPolicy
from nasbench_suite.bench.surrogate_models import LoadedDataset, load_dataset
from nasbench_suite.bench.tabular import SeedPolicyError
from nasbench_suite.errors import (
    MalformedArchError,
    SurrogateArtefactError,
    UnknownDatasetError,
    UnknownEpochError,
    UnknownMetricError,
    UnknownSeedError,
)
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates import artefact

if TYPE_CHECKING:
    import pandas as pd

#: Spaces up to this size are predicted whole on first use.
ENUMERATE_LIMIT = 100_000


class ArtefactBenchmark(Benchmark):
    """What the artefact benchmarks share (this one and the learning-curve one): the manifest, and
    the space, datasets and seeds it names."""

    def _open(self, path: str | Path, curves: bool) -> None:
        """Read the manifest; refuse an artefact of the other kind (final results or curves)."""
        self.path = Path(path)
        self.manifest = artefact.read_manifest(self.path)
        if (self.manifest.get("kind") == artefact.CURVES) != curves:
            raise SurrogateArtefactError(
                self.path,
                "not a learning-curve artefact (open it with open_benchmark)"
                if curves
                else "a learning-curve artefact: open it with open_benchmark (CurveSurrogateBenchmark)",
            )

    @cached_property
    def space(self) -> SearchSpace:
        from nasbench_suite import spaces

        return spaces.get(self.manifest["space"], **self.manifest["space_config"])

    @property
    def datasets(self) -> list[str]:
        return sorted(self.manifest["datasets"])

    def _entry(self, dataset: str) -> dict[str, Any]:
        entry = self.manifest["datasets"].get(dataset)
        if entry is None:
            raise UnknownDatasetError(dataset, self.datasets)
        return entry

    def seeds(self, dataset: str) -> tuple[int, ...]:
        return tuple(self._entry(dataset)["seeds"])

    def identity(self) -> dict[str, str]:
        """``kind`` "surrogate", the folder's name (a shipped benchmark's name) and the BLAKE2b-128
        checksum of ``manifest.json`` (which holds the checksum of every model file)."""
        return {
            "kind": "surrogate",
            "source": self.path.name,
            "checksum": artefact.file_checksum(self.path / artefact.MANIFEST),
        }

    def _predict_whole_space(self, loaded: Any) -> None:
        """Predict every architecture of a small enumerable space at once (one batched call), so
        queries after the first are lookups."""
        size = self.space.size
        if size is not None and size <= ENUMERATE_LIMIT:
            loaded.predict([self.space.key(a) for a in self.space.enumerate()])

    def _rows(self, ds: Any, archs: Sequence[Any]) -> np.ndarray:
        """Rows of ``archs`` in a loaded dataset (``row_of`` key -> row; ``predict(keys)`` adds
        the architectures it has not predicted yet)."""
        if isinstance(archs, (str, bytes)):
            raise MalformedArchError(self.space.name, archs, "query_batch takes a sequence of architectures")
        rows = np.empty(len(archs), dtype=np.int64)
        new: dict[str, list[int]] = {}
        for i, arch in enumerate(archs):
            row = ds.row_of.get(arch) if isinstance(arch, str) else None
            if row is None:
                key = self.space.key(arch)  # parses and validates: MalformedArchError names the problem
                row = ds.row_of.get(key)
                if row is None:
                    new.setdefault(key, []).append(i)
                    continue
            rows[i] = row
        if new:
            ds.predict(list(new))
            for key, positions in new.items():
                rows[positions] = ds.row_of[key]
        return rows


class SurrogateBenchmark(ArtefactBenchmark):
    """Queries answered by the surrogate artefact in ``path`` (see :class:`Benchmark`).

    Raises (on open):
        SurrogateArtefactError: not an artefact, unsupported format version, unknown
            space (checks of :func:`~nasbench_suite.surrogates.artefact.read_manifest`).
            Model files are checked (checksums) when a dataset is first queried.
    """

    supports_predict_dist: ClassVar[bool] = True
    fresh_seed_noise: ClassVar[bool] = True

    def __init__(self, path: str | Path):
        self._open(path, curves=False)
        self._loaded: dict[str, LoadedDataset] = {}

    # --- description ----------------------------------------------------------

    def epochs(self, dataset: str) -> tuple[int, ...]:
        self._entry(dataset)
        return ()

    def metric_names(self, dataset: str) -> list[str]:
        return sorted(self._entry(dataset)["targets"])

    def reference_archs(self, dataset: str) -> list[str]:
        """Every architecture of the space, or, for spaces that cannot be enumerated, the
        training table's architectures (stored with the artefact)."""
        ref = self._entry(dataset).get("reference_archs")
        if ref is None:
            return super().reference_archs(dataset)
        return artefact.read_reference_archs(self.path, ref)

    def evaluation(self, dataset: str) -> dict[str, Any]:
        """Held-out (cross-validated) figures of each target of ``dataset``, from the manifest."""
        return {name: t.get("evaluation", {}) for name, t in self._entry(dataset)["targets"].items()}

    def __repr__(self) -> str:
        return f"SurrogateBenchmark({str(self.path)!r})"

    # --- loading and predicting ---------------------------------------------------

    def _dataset(self, dataset: str) -> LoadedDataset:
        loaded = self._loaded.get(dataset)
        if loaded is not None:
            return loaded
        loaded = load_dataset(self.path, self.space, dataset, self._entry(dataset))
        self._loaded[dataset] = loaded
        self._predict_whole_space(loaded)
        return loaded

    # --- queries ------------------------------------------------------------------

    def _names(self, ds: LoadedDataset, metrics: Sequence[str] | str | None) -> list[str]:
        if metrics is None:
            return ds.per_seed_names or ds.all_names
        if metrics == "all":
            return ds.all_names
        if isinstance(metrics, str):
            raise UnknownMetricError(metrics, ["all", *ds.all_names])
        for m in metrics:
            if m not in ds.targets:
                raise UnknownMetricError(m, ds.all_names)
        return list(metrics)

    def _check_epoch(self, ds: LoadedDataset, epoch: int | None) -> None:
        if epoch is None:
            return
        if ds.final_epoch is not None and not isinstance(epoch, bool) and epoch == ds.final_epoch:
            return
        raise UnknownEpochError(
            epoch, f"the surrogate of {ds.name!r} predicts final results only (epoch {ds.final_epoch})"
        )

    def _noise(
        self, ds: LoadedDataset, rows: np.ndarray, seed: SeedPolicy, rng: np.random.Generator | None
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """Standard normal draws for ``rows`` (None for "mean") and the seed column."""
        if isinstance(seed, str) and seed == "mean":
            return None, np.full(len(rows), -1, dtype=np.int64)
        if isinstance(seed, str) and seed == "sample":
            if rng is None:
                raise SeedPolicyError("seed='sample' needs rng=numpy.random.Generator")
            z = rng.standard_normal(len(rows)) if ds.noise is not None else None
            return z, np.full(len(rows), -1, dtype=np.int64)
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise SeedPolicyError(f"seed must be a stored seed (int), 'mean' or 'sample', not {seed!r}")
        if int(seed) not in ds.seeds:
            raise UnknownSeedError(seed, ds.seeds)
        z = ds.seed_draws(int(seed))[rows] if ds.noise is not None else None
        return z, np.full(len(rows), int(seed), dtype=np.int64)

    def _values(self, ds: LoadedDataset, rows: np.ndarray, names: list[str], z: np.ndarray | None) -> dict:
        out = {}
        for name in names:
            mean = ds.means[name][rows]
            if z is not None and ds.noise is not None and ds.targets[name]["kind"] == "per_seed":
                mean = ds.noise.sample(mean, z)
            out[name] = mean
        return out

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
        self._check_epoch(ds, epoch)
        names = self._names(ds, metrics)
        rows = self._rows(ds, [arch])
        z, seeds = self._noise(ds, rows, seed, rng)
        values = self._values(ds, rows, names, z)
        cost = ds.means[ds.cost_name][rows[0]] if ds.cost_name else math.nan
        answered: int | str = int(seeds[0]) if seeds[0] >= 0 else str(seed)
        return QueryResult(
            ds.keys[rows[0]],
            dataset,
            answered,
            epoch,
            {name: float(v[0]) for name, v in values.items()},
            float(cost),
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
        self._check_epoch(ds, epoch)
        names = self._names(ds, metrics)
        rows = self._rows(ds, archs)
        z, seeds = self._noise(ds, rows, seed, rng)
        columns: dict[str, Any] = {"arch": np.asarray(ds.keys, dtype=object)[rows], "seed": seeds}
        columns.update(self._values(ds, rows, names, z))
        columns["cost_s"] = ds.means[ds.cost_name][rows] if ds.cost_name else np.full(len(rows), np.nan)
        return pd.DataFrame(columns, copy=False)

    def predict_dist(
        self, archs: Sequence[Any], dataset: str, metric: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predicted mean and standard deviation of one training run's ``metric``.

        The std combines the model's uncertainty (the predictor's own std where it
        has one, else its cross-validated RMSE from the manifest) with the seed
        noise at the predicted mean (per-seed metrics), or with the per-architecture
        noise (per-architecture metrics that have one; the mean is then the model's,
        before that architecture's fixed draw). For the cost, both are in seconds
        (the log-scale uncertainty times the predicted time).

        Args:
            archs: architectures of the space (or text forms).
            dataset: dataset name.
            metric: a modelled metric (default: the dataset's accuracy metric).

        Returns:
            ``(mean, std)``, each ``(n,)``.

        Raises:
            UnknownDatasetError, UnknownMetricError, MalformedArchError.
        """
        ds = self._dataset(dataset)
        metric = metric or ds.metric
        if metric not in ds.targets:
            raise UnknownMetricError(metric, ds.all_names)
        rows = self._rows(ds, archs)
        keys = [ds.keys[r] for r in rows]
        target = ds.targets[metric]
        mean, model_std = (np.asarray(v, dtype=np.float64) for v in ds.models[metric].predict_dist(keys))
        if not np.any(model_std > 0):
            model_std = np.full(len(keys), float(target.get("evaluation", {}).get("rmse", 0.0)))
        if target["transform"] == "log":
            mean = np.exp(mean)
            return mean, mean * model_std
        if target["kind"] == "per_seed" and ds.noise is not None:
            noise = ds.noise.std(mean)
        elif metric in ds.arch_noise:
            noise = ds.arch_noise[metric].std(mean)
        else:
            noise = 0.0
        return mean, np.sqrt(model_std**2 + noise**2)
