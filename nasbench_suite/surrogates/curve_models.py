"""Models of whole learning curves built from the predictor registry, in two layouts.

- ``per-epoch``: one predictor per epoch, each fitted on that epoch's seed-mean value;
- ``basis``: the curves' mean plus their first principal components (a few shapes that
  every curve of the table is a mix of), one predictor per component score; a
  predicted curve is the mean plus the predicted mix, smooth by construction.

:func:`~nasbench_suite.surrogates.curves.fit_curve_surrogate` fits both under cross-validation
and keeps the one with the lower held-out curve RMSE (``layout="auto"``). A model's
predictors are saved in their library's own format (:func:`artefact.save_predictor`);
the basis is a few numbers inline in the manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates import artefact

LAYOUTS = ("per-epoch", "basis")
#: Components of the basis layout: on NB201 curves the first three carry nearly all of
#: the variance across architectures (level, speed of rise, late gain).
BASIS_COMPONENTS = 3


@dataclass
class CurveModel:
    """Predicts ``(n, E)`` curves of one metric."""

    layout: str
    predictors: list[Any]
    mean: np.ndarray | None = None  # (E,) basis layout
    components: np.ndarray | None = None  # (K, E) basis layout

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        columns = np.stack([np.asarray(p.predict(archs), dtype=np.float64) for p in self.predictors], axis=1)
        if self.layout == "per-epoch":
            return columns
        return self.mean[None, :] + columns @ self.components

    def save(self, root: Path, relative: str) -> dict[str, Any]:
        """Save the predictors under ``root/relative/<k>``; returns the manifest entry."""
        entry: dict[str, Any] = {
            "layout": self.layout,
            "models": [
                artefact.save_predictor(p, root, f"{relative}/{k}") for k, p in enumerate(self.predictors)
            ],
            "basis": None,
        }
        if self.layout == "basis":
            entry["basis"] = {"mean": self.mean.tolist(), "components": self.components.tolist()}
        return entry

    @classmethod
    def load(cls, space: SearchSpace, root: Path, entry: dict[str, Any], n_epochs: int) -> CurveModel:
        """Rebuild a saved model (files checked against their checksums first).

        Raises:
            SurrogateArtefactError: a file is missing or changed, or the shapes disagree.
        """
        from nasbench_suite.errors import SurrogateArtefactError

        predictors = [artefact.load_predictor(space, root, m) for m in entry["models"]]
        if entry["layout"] == "per-epoch":
            if len(predictors) != n_epochs:
                raise SurrogateArtefactError(
                    root, f"{len(predictors)} per-epoch models for {n_epochs} epochs"
                )
            return cls("per-epoch", predictors)
        basis = entry.get("basis") or {}
        mean = np.asarray(basis.get("mean", []), dtype=np.float64)
        components = np.asarray(basis.get("components", []), dtype=np.float64)
        if mean.shape != (n_epochs,) or components.shape != (len(predictors), n_epochs):
            raise SurrogateArtefactError(root, "the curve basis does not match the epochs and models")
        return cls("basis", predictors, mean, components)


def fit_curve_model(
    layout: str, make: Callable[[int], Any], archs: Sequence[Any], y: np.ndarray, seed: int
) -> CurveModel:
    """Fit ``layout`` on ``archs`` and their ``(n, E)`` seed-mean curves ``y``.

    ``make(seed)`` returns an unfitted predictor of the registry; each output gets its own
    seed (``seed + k``).
    """
    if layout == "per-epoch":
        return CurveModel(layout, [make(seed + k).fit(archs, y[:, k]) for k in range(y.shape[1])])
    mean = y.mean(axis=0)
    _, _, vt = np.linalg.svd(y - mean, full_matrices=False)
    components = vt[: min(BASIS_COMPONENTS, y.shape[1])]
    scores = (y - mean) @ components.T
    predictors = [make(seed + k).fit(archs, scores[:, k]) for k in range(len(components))]
    return CurveModel(layout, predictors, mean, components)
