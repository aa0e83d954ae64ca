"""A graph isomorphism network (GIN, Xu et al. 2019) in plain torch.

The input is the padded cell graph of :func:`encodings.encode_graphs`: adjacency
``A`` (``A[i, j] = 1`` for an edge i -> j), one-hot node labels and a node mask.
Each layer aggregates by sums in both directions of the DAG, kept apart so the
network knows data flow from its reverse (a "directed GIN")::

    h' = MLP([h, A^T h, A h]) * mask        # own state, sum over predecessors, over successors

where the MLP is Linear -> LayerNorm -> ReLU -> Linear -> LayerNorm -> ReLU.
LayerNorm rather than GIN's BatchNorm: it normalises each node on its own, so
padding slots, batch composition and a last batch of one never change the
statistics, and training equals inference. The readout concatenates, over the
layers, the masked sum of node states (GIN's readout), and a small MLP head maps
it to the standardised target. Adam on the mean squared error with a cosine
learning-rate decay, for a fixed number of epochs (no early stopping: no
validation split is spent on tiny training sets).

Determinism: parameters are initialised and batches shuffled from one
``torch.Generator`` seeded from the predictor's seed (the global torch seed is
never touched), every op used is deterministic on CPU, and torch runs on
``n_threads`` threads while fitting and predicting (restored afterwards), so one
seed gives bit-identical predictions on a given machine and torch build.

``predict_dist``'s std is zero (one network has no spread):
``get("ensemble", space, base="gin", n_members=5)`` gives the spread across
networks of different seeds. Saved as a ``state_dict`` of tensors
(``torch.save``), loaded with ``weights_only=True``.

This module imports torch; the registry imports it only when ``"gin"`` is named.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite._schema import Float, Int, Obj
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates import encodings
from nasbench_suite.surrogates.predictors.base import (
    SCALER_SCHEMA,
    Predictor,
    PredictorError,
    TargetScaler,
    child_seeds,
)

if TYPE_CHECKING:
    import torch

_MODEL_FILE = "gin.pt"
#: Architectures per forward pass at prediction time (bounds memory; the chunking is
#: fixed so that the same inputs always take the same kernels).
_PREDICT_CHUNK = 4096


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise PredictorError(
            "predictor 'gin' needs torch, which is not installed: pip install 'nasbench-suite[torch]'"
        ) from None
    return torch


class GINPredictor(Predictor):
    """A directed GIN on the space's cell graphs (see the module docstring).

    Parameters: ``hidden`` (node state width), ``n_layers`` (message-passing
    layers), ``epochs``, ``batch_size``, ``learning_rate`` (Adam, decayed to zero
    by a cosine), ``weight_decay`` (Adam's L2 term) and ``n_threads`` (torch threads
    while fitting and predicting).
    """

    name = "gin"
    defaults: ClassVar[dict[str, Any]] = {
        "hidden": 64,
        "n_layers": 3,
        "epochs": 200,
        "batch_size": 64,
        "learning_rate": 1e-3,
        "weight_decay": 0.0,
        "n_threads": 1,
    }

    spec_schema = Obj(
        {
            "params": Obj(
                {
                    "hidden": Int(1, 1 << 16),
                    "n_layers": Int(1, 64),
                    "epochs": Int(1, 1 << 31),
                    "batch_size": Int(1, 1 << 31),
                    "learning_rate": Float(lo=0.0),
                    "weight_decay": Float(lo=0.0),
                    "n_threads": Int(1, 1024),
                }
            ),
            "state": Obj({"scaler": SCALER_SCHEMA, "n_features": Int(1, 1 << 16)}),
        }
    )

    def __init__(self, space: SearchSpace, seed: int = 0, **params: Any):
        super().__init__(space, seed, **params)
        _import_torch()
        p = self.params
        for key in ("hidden", "n_layers", "epochs", "batch_size", "n_threads"):
            value = p[key]
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                raise PredictorError(f"predictor 'gin': {key} must be a positive integer, got {value!r}")
        for key, positive in (("learning_rate", True), ("weight_decay", False)):
            value = p[key]
            number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not number or value < 0 or (positive and value == 0):
                need = "a positive" if positive else "a non-negative"
                raise PredictorError(f"predictor 'gin': {key} must be {need} finite number, got {value!r}")

    def fit(self, archs: Sequence[Any], y: Sequence[float] | np.ndarray) -> GINPredictor:
        """Train one network from the seed on all of ``archs`` (see :meth:`Predictor.fit`)."""
        torch = _import_torch()
        values, target = self._check_fit_input(archs, y)
        scaler = TargetScaler.fit(target)
        p = self.params
        with _torch_settings(torch, int(p["n_threads"])):
            adjacency, features, mask = self._tensors(torch, values)
            z = torch.from_numpy(scaler.transform(target).astype(np.float32))
            generator = torch.Generator().manual_seed(child_seeds(self.seed, 1)[0])
            weights = _init_weights(
                torch, features.shape[-1], int(p["hidden"]), int(p["n_layers"]), generator
            )
            _train(torch, weights, (adjacency, features, mask), z, p, generator)
        self.weights_, self.scaler_ = weights, scaler
        self.fitted_ = True
        return self

    def predict_dist(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted targets and zeros (std), each ``(n,)``."""
        self._check_fitted()
        torch = _import_torch()
        values = self._check_archs(archs)
        with _torch_settings(torch, int(self.params["n_threads"])), torch.inference_mode():
            adjacency, features, mask = self._tensors(torch, values)
            n_layers = int(self.params["n_layers"])
            out = [
                _forward(torch, self.weights_, n_layers, adjacency[s], features[s], mask[s])
                for s in (slice(i, i + _PREDICT_CHUNK) for i in range(0, len(values), _PREDICT_CHUNK))
            ]
        mean = self.scaler_.inverse(torch.cat(out).numpy().astype(np.float64))
        return mean, np.zeros_like(mean)

    def _tensors(self, torch: Any, values: list[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        adjacency, features, mask = encodings.encode_graphs(
            self.space, [self.space.canonical(v) for v in values]
        )
        return (
            torch.from_numpy(adjacency),
            torch.from_numpy(features),
            torch.from_numpy(mask.astype(np.float32)),
        )

    def _save(self, directory: Path) -> tuple[list[str], dict[str, Any]]:
        torch = _import_torch()
        buffer = io.BytesIO()  # torch's own writer reports a full disk as an 'unexpected pos' error
        torch.save({k: v.detach().clone() for k, v in self.weights_.items()}, buffer)
        _atomic.write_bytes(directory / _MODEL_FILE, buffer.getbuffer())
        n_features = int(self.weights_["layer0.w1"].shape[0]) // 3
        return [_MODEL_FILE], {"scaler": self.scaler_.state(), "n_features": n_features}

    def _load(self, directory: Path, spec: dict[str, Any]) -> None:
        torch = _import_torch()
        hidden, n_layers = int(self.params["hidden"]), int(self.params["n_layers"])
        n_features = int(spec["state"]["n_features"])
        # Every layer holds at least hidden x max(hidden, 3 x width) float32 weights: more than the
        # file holds is a manifest asking for an allocation the file cannot back.
        least = 4 * n_layers * hidden * max(hidden, 3 * min(n_features, hidden))
        size = (directory / _MODEL_FILE).stat().st_size
        if least > size:
            raise PredictorError(
                f"predictor 'gin': hidden={hidden}, n_layers={n_layers}, n_features={n_features} need at "
                f"least {least:,} bytes of weights; {directory / _MODEL_FILE} holds {size:,}"
            )
        try:
            weights = torch.load(directory / _MODEL_FILE, weights_only=True)
        except Exception as exc:  # torch raises several types for a damaged or foreign file
            raise PredictorError(f"predictor 'gin': cannot read {directory / _MODEL_FILE}: {exc}") from None
        expected = _init_weights(torch, n_features, hidden, n_layers, torch.Generator().manual_seed(0))
        tensors = isinstance(weights, dict) and all(isinstance(v, torch.Tensor) for v in weights.values())
        shapes = {k: tuple(v.shape) for k, v in weights.items()} if tensors else None
        if shapes != {k: tuple(v.shape) for k, v in expected.items()}:
            raise PredictorError(
                f"predictor 'gin': {directory / _MODEL_FILE} does not hold the weights the spec describes"
            )
        width = len(self.space.graph_ops()) + len(encodings.GRAPH_ENDS)
        if width != int(spec["state"]["n_features"]):
            raise PredictorError(
                f"predictor 'gin': saved for {spec['state']['n_features']} node labels, space "
                f"{self.space.name!r} has {width}"
            )
        self.weights_ = weights
        self.scaler_ = TargetScaler(**spec["state"]["scaler"])


@contextmanager
def _torch_settings(torch: Any, n_threads: int) -> Iterator[None]:
    """Run torch on ``n_threads`` intra-op threads, restored on exit.

    Not ``torch.use_deterministic_algorithms``: every op used here (dense matmul,
    ``bmm``, ``layer_norm``, row indexing, Adam) is deterministic on CPU already,
    the flag is process-wide (it would change other threads' torch code), and
    setting it imports torch's compiler stack (1.5 s). Fixing the thread count is
    what fixes the summation order of the CPU kernels.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _init_weights(
    torch: Any, n_features: int, hidden: int, n_layers: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Named parameters, linear layers drawn like ``torch.nn.Linear`` (uniform in
    ``+-1/sqrt(fan_in)``) but from ``generator``; norms start at scale 1, shift 0."""
    weights: dict[str, torch.Tensor] = {}

    def linear(prefix: str, k: str, fan_in: int, fan_out: int) -> None:
        bound = 1.0 / math.sqrt(fan_in)
        for name, shape in ((f"{prefix}w{k}", (fan_in, fan_out)), (f"{prefix}b{k}", (fan_out,))):
            weights[name] = (torch.rand(shape, generator=generator) * 2 - 1) * bound

    width = n_features
    for layer in range(n_layers):
        prefix = f"layer{layer}."
        linear(prefix, "1", 3 * width, hidden)
        linear(prefix, "2", hidden, hidden)
        for k in ("1", "2"):
            weights[f"{prefix}ln{k}.scale"] = torch.ones(hidden)
            weights[f"{prefix}ln{k}.shift"] = torch.zeros(hidden)
        width = hidden
    linear("head.", "1", n_layers * hidden, hidden)
    linear("head.", "2", hidden, 1)
    return {k: v.contiguous() for k, v in weights.items()}


def _forward(
    torch: Any,
    weights: dict[str, torch.Tensor],
    n_layers: int,
    adjacency: torch.Tensor,
    features: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Standardised predictions ``(n,)`` for padded graphs ``(n, N, N)``, ``(n, N, F)``, ``(n, N)``."""
    functional = torch.nn.functional
    node_mask = mask.unsqueeze(-1)
    reverse = adjacency.transpose(1, 2)
    h = features
    readouts = []
    for layer in range(n_layers):
        p = f"layer{layer}."
        message = torch.cat([h, torch.bmm(reverse, h), torch.bmm(adjacency, h)], dim=-1)
        for k in ("1", "2"):
            message = message @ weights[f"{p}w{k}"] + weights[f"{p}b{k}"]
            message = functional.layer_norm(
                message, message.shape[-1:], weights[f"{p}ln{k}.scale"], weights[f"{p}ln{k}.shift"]
            )
            message = torch.relu(message)
        h = message * node_mask  # padding slots stay zero: they neither send nor count
        readouts.append(h.sum(dim=1))
    out = torch.relu(torch.cat(readouts, dim=-1) @ weights["head.w1"] + weights["head.b1"])
    return (out @ weights["head.w2"] + weights["head.b2"]).squeeze(-1)


def _train(
    torch: Any,
    weights: dict[str, torch.Tensor],
    graphs: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    z: torch.Tensor,
    p: dict[str, Any],
    generator: torch.Generator,
) -> None:
    """Adam on the mean squared error, cosine-decayed learning rate, in place on ``weights``."""
    adjacency, features, mask = graphs
    for tensor in weights.values():
        tensor.requires_grad_(True)
    lr, epochs, batch = float(p["learning_rate"]), int(p["epochs"]), int(p["batch_size"])
    optimiser = torch.optim.Adam(
        list(weights.values()), lr=lr, weight_decay=float(p["weight_decay"]), foreach=True
    )
    n, n_layers = len(z), int(p["n_layers"])
    for epoch in range(epochs):
        for group in optimiser.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch):
            rows = order[start : start + batch]
            pred = _forward(torch, weights, n_layers, adjacency[rows], features[rows], mask[rows])
            loss = torch.mean((pred - z[rows]) ** 2)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    for tensor in weights.values():
        tensor.requires_grad_(False)
