"""One-shot methods and protocols: validated, hashable JSON configs (torch-free).

A protocol holds the settings every method shares (network size, data share,
weight optimiser, batch norm of the search cells) and, under ``methods``, what
one method changes (the published runs give GDAS, RSPS and ENAS other epochs and
learning rates than DARTS). :meth:`OneShotProtocol.settings` merges the two into
the :class:`OneShotSettings` of one method. Shipped protocols live in
``nasbench_suite/oneshot/protocols/<name>.json``; a path to a JSON file of the
same shape works wherever a name does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nasbench_suite.errors import NasbenchError
from nasbench_suite.train.protocols import read_config, shipped_names

#: Methods, by the name the command line takes.
METHODS: tuple[str, ...] = ("darts", "darts2", "gdas", "rsps", "enas")


def supernet_spaces() -> tuple[str, ...]:
    """Spaces with a supernet (their cell layout is known to ``oneshot.supernet``)."""
    return ("nb201",)


class OneShotConfigError(NasbenchError, ValueError):
    """A one-shot method, protocol or space is invalid; the message names the value."""


@dataclass(frozen=True)
class ControllerSettings:
    """ENAS controller: LSTM policy over the edges' ops, trained by REINFORCE on validation batches."""

    lstm_size: int = 32
    lstm_layers: int = 2
    tanh_constant: float = 2.5
    temperature: float = 5.0
    lr: float = 0.001
    betas: tuple[float, float] = (0.0, 0.999)
    eps: float = 0.001
    entropy_weight: float = 0.0001
    baseline_decay: float = 0.99
    train_steps: int = 50
    num_aggregate: int = 20


@dataclass(frozen=True)
class OneShotSettings:
    """Everything one method's search computes (units: epochs, images, learning rates).

    ``lr``/``min_lr`` are the weights' cosine schedule (the trainer's ``lr_at``);
    ``arch_*`` the Adam optimiser of the architecture parameters (DARTS, GDAS);
    ``tau_max``/``tau_min`` GDAS's linear Gumbel temperature schedule; ``train_fraction``
    the share of each half of the split used (train half: weights, valid half:
    architecture); ``derive_samples`` the candidates RSPS and ENAS compare on one
    validation batch each after every epoch, ``final_samples`` after the last.
    """

    epochs: int
    batch_size: int
    lr: float
    min_lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    tau_max: float = 10.0
    tau_min: float = 0.1
    network: dict[str, Any] = field(default_factory=dict)
    bn_affine: bool = False
    bn_track_running_stats: bool = False
    train_fraction: float = 1.0
    crop_padding: int = 4
    flip: bool = True
    derive_samples: int = 10
    final_samples: int = 100
    controller: ControllerSettings = field(default_factory=ControllerSettings)

    def check(self, where: str) -> None:
        """Raises OneShotConfigError naming the first invalid field."""
        checks = (
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.batch_size >= 2, "batch_size must be >= 2 (batch norm needs two images)"),
            (self.lr > 0 and 0 <= self.min_lr <= self.lr, "need lr > 0 and 0 <= min_lr <= lr"),
            (0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (self.weight_decay >= 0 and self.arch_weight_decay >= 0, "weight decays must be >= 0"),
            (self.grad_clip > 0 and self.arch_lr > 0, "grad_clip and arch_lr must be > 0"),
            (self.tau_max >= self.tau_min > 0, "need tau_max >= tau_min > 0"),
            (0 < self.train_fraction <= 1, "train_fraction must be in (0, 1]"),
            (self.derive_samples >= 1 and self.final_samples >= 1, "derive/final_samples must be >= 1"),
            (
                self.controller.train_steps >= 1 and self.controller.num_aggregate >= 1,
                "controller steps >= 1",
            ),
        )
        for ok, reason in checks:
            if not ok:
                raise OneShotConfigError(f"{where}: {reason}")


_SETTING_FIELDS = {f.name for f in fields(OneShotSettings)}
_CONTROLLER_FIELDS = {f.name for f in fields(ControllerSettings)}
_PAIRS = ("arch_betas", "betas")


def _build(values: dict[str, Any], where: str) -> OneShotSettings:
    unknown = sorted(set(values) - _SETTING_FIELDS)
    if unknown:
        raise OneShotConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    values = dict(values)
    controller = values.pop("controller", {}) or {}
    if not isinstance(controller, dict) or set(controller) - _CONTROLLER_FIELDS:
        bad = sorted(set(controller) - _CONTROLLER_FIELDS) if isinstance(controller, dict) else controller
        raise OneShotConfigError(f"{where}: bad controller settings {bad}")
    controller = {k: tuple(v) if k in _PAIRS else v for k, v in controller.items()}
    values = {k: tuple(v) if k in _PAIRS else v for k, v in values.items()}
    try:
        settings = OneShotSettings(**values, controller=ControllerSettings(**controller))
    except TypeError as exc:
        raise OneShotConfigError(f"{where}: {exc}") from None
    settings.check(where)
    return settings


@dataclass(frozen=True)
class OneShotProtocol:
    """A named one-shot protocol: shared settings plus per-method overrides."""

    name: str
    description: str
    common: dict[str, Any]
    methods: dict[str, dict[str, Any]]

    def settings(self, method: str) -> OneShotSettings:
        """The merged settings of ``method``.

        Raises:
            OneShotConfigError: an unknown method or an invalid merged setting.
        """
        check_method(method)
        merged = {**self.common, **self.methods.get(method, {})}
        if "controller" in self.common and "controller" in self.methods.get(method, {}):
            merged["controller"] = {**self.common["controller"], **self.methods[method]["controller"]}
        return _build(merged, f"protocol {self.name!r}, method {method!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hash": self.hash}

    @property
    def hash(self) -> str:
        """BLAKE2b (16 hex digits) of what changes the searches' results (name and description left out)."""
        text = json.dumps({"common": self.common, "methods": self.methods}, sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def check_method(method: str) -> None:
    """Raises OneShotConfigError for a method not in :data:`METHODS`."""
    if method not in METHODS:
        raise OneShotConfigError(f"unknown one-shot method {method!r}; known: {', '.join(METHODS)}")


def available() -> list[str]:
    """Names of the shipped one-shot protocols."""
    return shipped_names("nasbench_suite.oneshot")


def protocol_from_dict(obj: Any, source: str) -> OneShotProtocol:
    """Build a protocol from its JSON form and check every method's merged settings.

    Raises:
        OneShotConfigError: unknown or missing keys, wrong types, invalid values.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("common"), dict):
        raise OneShotConfigError(f"{source}: a one-shot protocol is a JSON object with a 'common' object")
    unknown = sorted(set(obj) - {"name", "description", "common", "methods", "hash"})
    if unknown:
        raise OneShotConfigError(f"{source}: unknown key(s) {', '.join(unknown)}")
    methods = obj.get("methods", {})
    if not isinstance(methods, dict) or not all(isinstance(v, dict) for v in methods.values()):
        raise OneShotConfigError(f"{source}: 'methods' must map method names to objects")
    for method in methods:
        check_method(method)
    protocol = OneShotProtocol(
        str(obj.get("name", Path(source).stem)), str(obj.get("description", "")), obj["common"], methods
    )
    for method in METHODS:
        protocol.settings(method)
    return protocol


def load_oneshot_protocol(name_or_path: str | Path) -> OneShotProtocol:
    """A shipped one-shot protocol by name, or a protocol JSON file by path.

    Raises:
        OneShotConfigError: unknown name, unreadable or invalid file.
    """
    obj, source = read_config(name_or_path, "nasbench_suite.oneshot", "one-shot protocol", OneShotConfigError)
    return protocol_from_dict(obj, source)
