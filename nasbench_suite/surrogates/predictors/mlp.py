"""An ensemble of small multilayer perceptrons (scikit-learn, no torch).

Each network is trained as scikit-learn's ``MLPRegressor`` trains it (Adam, ReLU;
``adam_mlp.py`` makes the same steps without the library's per-step overhead, with
bit-identical weights) on standardised inputs and targets; prediction is a plain numpy forward pass over
the fitted weights, which are also what is saved (``.npz`` of ``coefs_`` and
``intercepts_``), so a loaded model predicts bit-identically.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite._schema import Float, Int, Obj, Seq, Str
from nasbench_suite.surrogates.predictors.base import (
    SCALER_SCHEMA,
    Predictor,
    PredictorError,
    TargetScaler,
    child_seeds,
)

#: A saved array may declare at most this many times the bytes its zip member stores.
MAX_EXPANSION = 1_100


class MLPPredictor(Predictor):
    """``n_nets`` MLPs differing by seed; mean and spread (std, ddof 0) across them."""

    name = "mlp"
    graph_encoding: ClassVar[str] = "onehot+features+path_stats"
    defaults: ClassVar[dict[str, Any]] = {
        "encoding": "auto",
        "hidden": [64, 64],
        "n_nets": 5,
        "epochs": 200,
        "batch_size": 32,
        "learning_rate": 1e-3,
        "alpha": 1e-4,
    }
    # Inside an ensemble, each member is one network: the ensemble supplies the spread.
    member_defaults: ClassVar[dict[str, Any]] = {"n_nets": 1}
    spec_schema = Obj(
        {
            "params": Obj(
                {
                    "encoding": Str(max_len=200),
                    "hidden": Seq(Int(1, 1 << 16), min_len=1, max_len=64),
                    "n_nets": Int(1, 1_000),
                    "epochs": Int(1, 1 << 31),
                    "batch_size": Int(1, 1 << 31),
                    "learning_rate": Float(lo=0.0),
                    "alpha": Float(lo=0.0),
                }
            ),
            "state": Obj({"scaler": SCALER_SCHEMA, "n_layers": Int(1, 65)}),
        }
    )

    def fit(self, archs: Sequence[Any], y: Sequence[float] | np.ndarray) -> MLPPredictor:
        """Fit every network on the same data, each from its own seed."""
        from nasbench_suite.surrogates.predictors import adam_mlp

        values, target = self._check_fit_input(archs, y)
        x = self._encode(values).astype(np.float64)
        self.x_mean_ = x.mean(axis=0)
        spread = x.std(axis=0)
        self.x_scale_ = np.where(spread > 0, spread, 1.0)
        self.scaler_ = TargetScaler.fit(target)
        z = self.scaler_.transform(target)
        p = self.params
        inputs = (x - self.x_mean_) / self.x_scale_
        self.weights_: list[tuple[list[np.ndarray], list[np.ndarray]]] = []
        for seed in child_seeds(self.seed, int(p["n_nets"])):
            # MLPRegressor's training, bit for bit, without its per-step overhead (adam_mlp.py).
            self.weights_.append(
                adam_mlp.train(
                    inputs,
                    z,
                    p["hidden"],
                    alpha=float(p["alpha"]),
                    batch_size=min(int(p["batch_size"]), len(values)),
                    learning_rate=float(p["learning_rate"]),
                    epochs=int(p["epochs"]),
                    seed=seed,
                )
            )
        self.fitted_ = True
        return self

    def predict_dist(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation across the networks, each ``(n,)``."""
        _, x = self._encode_for_predict(archs)
        x = (x.astype(np.float64) - self.x_mean_) / self.x_scale_
        preds = np.stack([self.scaler_.inverse(_forward(x, c, b)) for c, b in self.weights_])
        return preds.mean(axis=0), preds.std(axis=0)

    def _save(self, directory: Path) -> tuple[list[str], dict[str, Any]]:
        files = []
        for i, (coefs, intercepts) in enumerate(self.weights_):
            name = f"net_{i}.npz"
            arrays = {f"coef_{k}": c for k, c in enumerate(coefs)}
            arrays.update({f"intercept_{k}": b for k, b in enumerate(intercepts)})
            _save_npz(directory / name, arrays)
            files.append(name)
        _save_npz(directory / "inputs.npz", {"mean": self.x_mean_, "scale": self.x_scale_})
        return [*files, "inputs.npz"], {"scaler": self.scaler_.state(), "n_layers": len(self.weights_[0][0])}

    def _load(self, directory: Path, spec: dict[str, Any]) -> None:
        n_layers = int(spec["state"]["n_layers"])
        n_nets = int(self.params["n_nets"])
        if sorted(spec["files"]) != sorted([f"net_{i}.npz" for i in range(n_nets)] + ["inputs.npz"]):
            raise PredictorError(f"predictor 'mlp': n_nets is {n_nets}, saved files {spec['files']}"[:300])
        self.weights_ = []
        for i in range(n_nets):
            check_npz(directory / f"net_{i}.npz")
            with np.load(directory / f"net_{i}.npz", allow_pickle=False) as data:
                coefs = [data[f"coef_{k}"] for k in range(n_layers)]
                intercepts = [data[f"intercept_{k}"] for k in range(n_layers)]
            self.weights_.append((coefs, intercepts))
        check_npz(directory / "inputs.npz")
        with np.load(directory / "inputs.npz", allow_pickle=False) as data:
            self.x_mean_, self.x_scale_ = data["mean"], data["scale"]
        self.scaler_ = TargetScaler(**spec["state"]["scaler"])


def check_npz(path: Path) -> None:
    """Refuse an ``.npz`` whose arrays declare more bytes than their zip members could hold,
    or are not plain numbers, before numpy allocates them.

    Raises:
        PredictorError: naming the file and the array.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size > MAX_EXPANSION * info.compress_size + (1 << 16):
                    raise PredictorError(f"{path}: {info.filename!r} expands more than {MAX_EXPANSION}:1")
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    header = (
                        np.lib.format.read_array_header_1_0(member)
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0(member)
                    )
                shape, _, dtype = header
                declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if dtype.kind not in "biuf" or declared > info.file_size:
                    raise PredictorError(
                        f"{path}: array {info.filename!r} ({dtype}, shape {shape}) is not plain numbers "
                        "its file holds"
                    )
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise PredictorError(f"{path}: not a readable .npz ({exc})") from None


def _forward(x: np.ndarray, coefs: list[np.ndarray], intercepts: list[np.ndarray]) -> np.ndarray:
    """The MLPRegressor network: ReLU hidden layers, identity output; ``(n,)``."""
    h = x
    for k, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        h = h @ w + b
        if k < len(coefs) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    _atomic.write_bytes(path, buffer.getbuffer())
