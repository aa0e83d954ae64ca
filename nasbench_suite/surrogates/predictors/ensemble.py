"""An ensemble of predictors of one kind: mean and spread across members.

BANANAS's predictor is ``get("ensemble", space, base="mlp", encoding="path",
n_members=5)``: members differ by seed (initialisation, subsampling) and, with
``bootstrap=True``, by a bootstrap resample of the training set each.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench_suite._schema import Bool, Int, Json, Map, Obj, Seq, Str
from nasbench_suite.surrogates.predictors.base import Predictor, PredictorError, child_seeds


class EnsemblePredictor(Predictor):
    """``n_members`` predictors ``base`` built with the remaining parameters; the mean and
    standard deviation (ddof 0) of their predictions.

    Parameters other than ``base``, ``n_members`` and ``bootstrap`` go to every
    member (``encoding`` included). A base class may declare ``member_defaults``
    used when members are built (an MLP member is one network, not an ensemble).
    """

    name = "ensemble"
    defaults: ClassVar[dict[str, Any]] = {"base": "xgb", "n_members": 5, "bootstrap": False}
    spec_schema = Obj(
        {
            "params": Obj(
                {"base": Str(max_len=200, name=True), "n_members": Int(1, 1_000), "bootstrap": Bool()},
                extra=Json(),  # the members' parameters, checked by the member's own schema
            ),
            "state": Obj({"members": Seq(Map(Json()), min_len=1, max_len=1_000)}),
        }
    )

    @classmethod
    def _rebuild(cls, space: Any, directory: Path, spec: dict[str, Any]) -> Predictor:
        # Members are built when the ensemble is: their number must be the saved one first.
        if spec["params"]["n_members"] != len(spec["state"]["members"]):
            raise PredictorError(
                f"ensemble spec lists {len(spec['state']['members'])} members but n_members is "
                f"{spec['params']['n_members']}"
            )
        return super()._rebuild(space, directory, spec)

    def __init__(self, space: Any, seed: int = 0, **params: Any):
        own = {k: params.pop(k) for k in list(params) if k in self.defaults}
        super().__init__(space, seed, **own)
        from nasbench_suite.surrogates import predictors

        base = self.params["base"]
        if base == self.name:
            raise PredictorError("an ensemble cannot have ensemble members")
        cls = predictors.predictor_class(base)
        self.base_params: dict[str, Any] = {**cls.member_defaults, **params}
        n = self.params["n_members"]
        if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
            raise PredictorError(f"ensemble: n_members must be a positive integer, got {n!r}")
        # Built now so that unknown member parameters fail here, not at fit time.
        self.members = [cls(space, seed=s, **self.base_params) for s in child_seeds(seed, int(n))]

    def fit(self, archs: Sequence[Any], y: Sequence[float] | np.ndarray) -> EnsemblePredictor:
        """Fit every member (on its own bootstrap resample when ``bootstrap``)."""
        values, target = self._check_fit_input(archs, y)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(len(self.members) + 1)[-1])
        for member in self.members:
            if self.params["bootstrap"]:
                rows = rng.integers(0, len(values), size=len(values))
                member.fit([values[i] for i in rows], target[rows])
            else:
                member.fit(values, target)
        self.fitted_ = True
        return self

    def predict_dist(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation across members, each ``(n,)``."""
        self._check_fitted()
        values = self._check_archs(archs)
        preds = np.stack([m.predict(values) for m in self.members])
        return preds.mean(axis=0), preds.std(axis=0)

    def _params_for_spec(self) -> dict[str, Any]:
        return {**self.params, **self.base_params}

    def _save(self, directory: Path) -> tuple[list[str], dict[str, Any]]:
        files, specs = [], []
        for i, member in enumerate(self.members):
            sub = f"member_{i}"
            spec = member.save(directory / sub)
            files += [f"{sub}/{f}" for f in spec["files"]]
            specs.append(spec)
        return files, {"members": specs}

    def _load(self, directory: Path, spec: dict[str, Any]) -> None:
        from nasbench_suite.surrogates import predictors

        member_specs = spec["state"]["members"]
        if len(member_specs) != len(self.members):
            raise PredictorError(
                f"ensemble spec lists {len(member_specs)} members but n_members is {len(self.members)}"
            )
        self.members = [
            predictors.load_predictor(self.space, directory / f"member_{i}", s)
            for i, s in enumerate(member_specs)
        ]
