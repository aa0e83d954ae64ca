"""What the surrogate backend holds per dataset: its loaded models, the predictions made so far,
and the keyed draws of noise that make those predictions behave like a table's runs.

:class:`~nasbench_suite.bench.surrogate.SurrogateBenchmark` answers queries from a
:class:`LoadedDataset`; this module loads one from the manifest (:func:`load_dataset`),
predicts new architectures into it (:meth:`LoadedDataset.predict`) and draws the
standard normals keyed by (dataset, canonical architecture, seed or tag) that seed
policies and fixed per-architecture draws use (:func:`keyed_normals`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.errors import SurrogateArtefactError
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates import artefact
from nasbench_suite.surrogates.noise import SeedNoiseModel, keyed_normals


@dataclass
class LoadedDataset:
    """Loaded models of one dataset and the predictions made so far."""

    name: str
    path: Path  # the artefact folder, named by errors
    canonical: Callable[[str], str]  # the space's canonical_key, which keys the draws
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

    def draws(self, keys: list[str], seed: int | str) -> np.ndarray:
        """:func:`keyed_normals` of ``keys`` in this dataset."""
        return keyed_normals(self.canonical, self.name, keys, seed)

    def seed_draws(self, seed: int) -> np.ndarray:
        """The keyed draws of every predicted row under training seed ``seed`` (cached)."""
        z = self.z.get(seed)
        if z is None:
            z = self.draws(self.keys, seed)
            self.z[seed] = z
        return z

    def predict(self, keys: list[str]) -> None:
        """Predict every target for new ``keys`` (stored keys of the space) and append them.

        Raises:
            SurrogateArtefactError: a model cannot predict with this version of the code.
        """
        start = len(self.keys)
        for i, key in enumerate(keys):
            self.row_of[key] = start + i
        self.keys.extend(keys)
        rough_z = None if self.roughness is None else self.draws(keys, "roughness")
        for name, model in self.models.items():
            try:
                mean = np.asarray(model.predict(keys), dtype=np.float64)
            except ValueError as exc:
                # e.g. XGBoost's "feature shape mismatch": the encoding the model was fitted on
                # is not what this version of the code computes.
                raise SurrogateArtefactError(
                    self.path / self.targets[name]["model"]["directory"],
                    f"the model cannot predict with this version of nasbench-suite ({exc}); its encoding "
                    f"or predictor changed since the artefact was fitted: refit it "
                    f"(nasbench surrogate fit TABLE.h5 -o {self.path} --force)",
                ) from None
            if self.targets[name]["transform"] == "log":
                mean = np.exp(mean)
            if rough_z is not None and self.targets[name]["kind"] != "cost":
                # The table's roughness around the smooth fit: one fixed draw per architecture,
                # shared by the dataset's accuracies (an architecture better than its features
                # say is better on every split); every seed policy answers around it.
                mean = self.roughness.sample(mean, rough_z)
            if name in self.arch_noise:
                # A per-architecture value of the table: one fixed draw per architecture.
                mean = self.arch_noise[name].sample(mean, self.draws(keys, f"arch:{name}"))
            self.means[name] = np.concatenate([self.means[name], mean]) if name in self.means else mean
        for seed in list(self.z):
            self.z[seed] = np.concatenate([self.z[seed], self.draws(keys, seed)])


def load_dataset(path: Path, space: SearchSpace, dataset: str, entry: dict[str, Any]) -> LoadedDataset:
    """Load the models and noise models of ``dataset`` (its manifest ``entry``); nothing predicted yet.

    Raises:
        SurrogateArtefactError: a model file is missing or fails its checksum, or a saved
            noise model is malformed.
    """
    models = {
        name: artefact.load_predictor(space, path, t["model"]) for name, t in sorted(entry["targets"].items())
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
        raise SurrogateArtefactError(path / artefact.MANIFEST, f"{dataset}: {exc}") from None
    return LoadedDataset(
        name=dataset,
        path=path,
        canonical=space.canonical_key,
        seeds=tuple(entry["seeds"]),
        final_epoch=entry.get("final_epoch"),
        metric=entry["metric"],
        targets=entry["targets"],
        models=models,
        noise=noise,
        arch_noise=arch_noise,
        roughness=roughness,
    )
