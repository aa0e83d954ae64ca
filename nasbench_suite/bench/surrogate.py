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
otherwise predictions are cached per architecture as they are asked for.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_suite.bench.base import Benchmark, QueryResult, SeedPolicy
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
from nasbench_suite.surrogates.noise import SeedNoiseModel

if TYPE_CHECKING:
    import pandas as pd

#: Spaces up to this size are predicted whole on first use.
ENUMERATE_LIMIT = 100_000


@dataclass
class _Dataset:
    """Loaded models of one dataset and the predictions made so far."""

    name: str
    seeds: tuple[int, ...]
    final_epoch: int | None
    metric: str  # the per-seed (or sole) accuracy
    targets: dict[str, dict[str, Any]]  # manifest entries
    models: dict[str, Any]  # target -> Predictor
    noise: SeedNoiseModel | None
    arch_noise: dict[str, SeedNoiseModel] = field(default_factory=dict)  # per-arch target -> noise
    roughness: SeedNoiseModel | None = None  # per-architecture roughness of the accuracies
    row_of: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    means: dict[str, np.ndarray] = field(default_factory=dict)  # target -> (n,) in target units
    z: dict[int, np.ndarray] = field(default_factory=dict)  # seed -> (n,) keyed draws

    @cached_property
    def per_seed_names(self) -> list[str]:
        return sorted(n for n, t in self.targets.items() if t["kind"] in ("per_seed", "cost"))

    @cached_property
    def all_names(self) -> list[str]:
        return sorted(self.targets)

    @cached_property
    def cost_name(self) -> str | None:
        """The cost target (``train_time_s``), or None."""
        return next((n for n, t in self.targets.items() if t["kind"] == "cost"), None)


class SurrogateBenchmark(Benchmark):
    """Queries answered by the surrogate artefact in ``path`` (see :class:`Benchmark`).

    Raises (on open):
        SurrogateArtefactError: not an artefact, unsupported format version, unknown
            space (checks of :func:`~nasbench_suite.surrogates.artefact.read_manifest`).
            Model files are checked (checksums) when a dataset is first queried.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.manifest = artefact.read_manifest(self.path)
        self._loaded: dict[str, _Dataset] = {}

    # --- description ----------------------------------------------------------

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
        import json

        artefact.verify_files(self.path, {ref["file"]: ref["checksum"]})
        return json.loads((self.path / ref["file"]).read_text())

    def evaluation(self, dataset: str) -> dict[str, Any]:
        """Held-out (cross-validated) figures of each target of ``dataset``, from the manifest."""
        return {name: t.get("evaluation", {}) for name, t in self._entry(dataset)["targets"].items()}

    def __repr__(self) -> str:
        return f"SurrogateBenchmark({str(self.path)!r})"

    # --- loading and predicting ---------------------------------------------------

    def _dataset(self, dataset: str) -> _Dataset:
        loaded = self._loaded.get(dataset)
        if loaded is not None:
            return loaded
        entry = self._entry(dataset)
        models = {
            name: artefact.load_predictor(self.space, self.path, t["model"])
            for name, t in sorted(entry["targets"].items())
        }
        noise = None
        arch_noise = {}
        roughness = None
        try:
            if entry.get("noise"):
                noise = SeedNoiseModel.from_json(entry["noise"])
            if entry.get("roughness"):
                roughness = SeedNoiseModel.from_json(entry["roughness"])
            for name, target in sorted(entry["targets"].items()):
                if target.get("arch_noise"):
                    arch_noise[name] = SeedNoiseModel.from_json(target["arch_noise"])
        except ValueError as exc:
            raise SurrogateArtefactError(self.path / artefact.MANIFEST, f"{dataset}: {exc}") from None
        loaded = _Dataset(
            name=dataset,
            seeds=tuple(entry["seeds"]),
            final_epoch=entry.get("final_epoch"),
            metric=entry["metric"],
            targets=entry["targets"],
            models=models,
            noise=noise,
            arch_noise=arch_noise,
            roughness=roughness,
        )
        self._loaded[dataset] = loaded
        size = self.space.size
        if size is not None and size <= ENUMERATE_LIMIT:
            self._predict(loaded, [self.space.key(a) for a in self.space.enumerate()])
        return loaded

    def _predict(self, ds: _Dataset, keys: list[str]) -> None:
        """Predict every target for new ``keys`` (stored keys of the space) and append them."""
        start = len(ds.keys)
        for i, key in enumerate(keys):
            ds.row_of[key] = start + i
        ds.keys.extend(keys)
        rough_z = None if ds.roughness is None else self._keyed_normals(ds.name, keys, "roughness")
        for name, model in ds.models.items():
            try:
                mean = np.asarray(model.predict(keys), dtype=np.float64)
            except ValueError as exc:
                # e.g. XGBoost's "feature shape mismatch": the encoding the model was fitted on
                # is not what this version of the code computes.
                raise SurrogateArtefactError(
                    self.path / ds.targets[name]["model"]["directory"],
                    f"the model cannot predict with this version of nasbench-suite ({exc}); its encoding "
                    f"or predictor changed since the artefact was fitted: refit it "
                    f"(nasbench surrogate fit TABLE.h5 -o {self.path} --force)",
                ) from None
            if ds.targets[name]["transform"] == "log":
                mean = np.exp(mean)
            if rough_z is not None and ds.targets[name]["kind"] != "cost":
                # The table's roughness around the smooth fit: one fixed draw per architecture,
                # shared by the dataset's accuracies (an architecture better than its features
                # say is better on every split); every seed policy answers around it.
                mean = ds.roughness.sample(mean, rough_z)
            if name in ds.arch_noise:
                # A per-architecture value of the table: one fixed draw per architecture.
                mean = ds.arch_noise[name].sample(mean, self._keyed_normals(ds.name, keys, f"arch:{name}"))
            ds.means[name] = np.concatenate([ds.means[name], mean]) if name in ds.means else mean
        for seed in list(ds.z):
            ds.z[seed] = np.concatenate([ds.z[seed], self._keyed_normals(ds.name, keys, seed)])

    def _rows(self, ds: _Dataset, archs: Sequence[Any]) -> np.ndarray:
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
            self._predict(ds, list(new))
            for key, positions in new.items():
                rows[positions] = ds.row_of[key]
        return rows

    def _keyed_normals(self, dataset: str, keys: list[str], seed: int | str) -> np.ndarray:
        # A draw keyed by (dataset, canonical key, seed or tag) must not depend on which other
        # queries came first, so it is a hash of the key rather than a generator's stream:
        # 53 bits of BLAKE2b give a uniform in (0, 1), the normal quantile makes it Gaussian.
        from scipy.special import ndtri

        canonical = self.space.canonical_key
        prefix = f"{dataset}\x00{seed}\x00".encode()
        bits = np.fromiter(
            (
                int.from_bytes(hashlib.blake2b(prefix + canonical(k).encode(), digest_size=8).digest(), "big")
                >> 11
                for k in keys
            ),
            dtype=np.float64,
            count=len(keys),
        )
        return ndtri((bits + 0.5) / float(1 << 53))

    def _seed_draws(self, ds: _Dataset, seed: int) -> np.ndarray:
        z = ds.z.get(seed)
        if z is None:
            z = self._keyed_normals(ds.name, ds.keys, seed)
            ds.z[seed] = z
        return z

    # --- queries ------------------------------------------------------------------

    def _names(self, ds: _Dataset, metrics: Sequence[str] | str | None) -> list[str]:
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

    def _check_epoch(self, ds: _Dataset, epoch: int | None) -> None:
        if epoch is None:
            return
        if ds.final_epoch is not None and not isinstance(epoch, bool) and epoch == ds.final_epoch:
            return
        raise UnknownEpochError(
            epoch, f"the surrogate of {ds.name!r} predicts final results only (epoch {ds.final_epoch})"
        )

    def _noise(
        self, ds: _Dataset, rows: np.ndarray, seed: SeedPolicy, rng: np.random.Generator | None
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
        z = self._seed_draws(ds, int(seed))[rows] if ds.noise is not None else None
        return z, np.full(len(rows), int(seed), dtype=np.int64)

    def _values(self, ds: _Dataset, rows: np.ndarray, names: list[str], z: np.ndarray | None) -> dict:
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
