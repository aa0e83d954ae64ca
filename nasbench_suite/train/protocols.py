"""Training protocols: validated, hashable configs shipped as JSON files (torch-free).

A protocol is everything that decides what a training run computes: epochs,
optimiser, schedule, augmentation, network size, share of the training split,
evaluation cadence. Its :attr:`Protocol.hash` (BLAKE2b of the canonical JSON of
those fields, name and description left out) is stored with every table entry,
so two tables agree on a protocol exactly when their hashes agree.

Shipped protocols live in ``nasbench_suite/train/protocols/<name>.json``
(``nb201-200``, ``nb201-12``, ``nb201-proxy``, ``nb201-tiny``); a path to a JSON file
of the same shape works wherever a name does. ``docs/trainer.md`` describes them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from nasbench_suite.train.errors import TrainConfigError

_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "description": (str,),
    "epochs": (int,),
    "batch_size": (int,),
    "lr": (float, int),
    "min_lr": (float, int),
    "warmup_epochs": (int,),
    "momentum": (float, int),
    "nesterov": (bool,),
    "weight_decay": (float, int),
    "label_smoothing": (float, int),
    "crop_padding": (int,),
    "flip": (bool,),
    "network": (dict,),
    "train_fraction": (float, int),
    "eval_every": (int,),
    "valid_images": (int,),
    "test_images": (int,),
    "full_final_eval": (bool,),
}

#: Fields added after protocols were first hashed: left out of the hash at their default, so that
#: the hashes of earlier protocols (stored with every table entry) never change.
_LATER_FIELDS_DEFAULTS = {"valid_images": 0, "test_images": 0, "full_final_eval": False}


@dataclass(frozen=True)
class Protocol:
    """One training protocol (see the module docstring; units: epochs, images, learning rates)."""

    name: str
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    description: str = ""
    min_lr: float = 0.0
    warmup_epochs: int = 0
    label_smoothing: float = 0.0
    crop_padding: int = 4
    flip: bool = True
    network: dict[str, Any] = field(default_factory=dict)
    train_fraction: float = 1.0
    eval_every: int = 1
    #: Evaluate on a fixed subset of this many validation / test images (0: the whole split).
    #: On a CPU, evaluating 35k images each epoch costs more than training a reduced network.
    valid_images: int = 0
    test_images: int = 0
    #: Evaluate the last epoch on the whole splits even when earlier epochs use the subsets: the
    #: final values are what a table's rankings rest on, and a 2,500-image subset adds about one
    #: accuracy point of sampling noise to each run (docs/trainer.md, the pilot).
    full_final_eval: bool = False

    def check(self) -> None:
        """Raises TrainConfigError naming the first invalid field."""
        checks = (
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr > 0 and 0 <= self.min_lr <= self.lr, "need lr > 0 and 0 <= min_lr <= lr"),
            (0 <= self.warmup_epochs < self.epochs, "warmup_epochs must be in [0, epochs)"),
            (0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (self.crop_padding >= 0, "crop_padding must be >= 0"),
            (0 < self.train_fraction <= 1, "train_fraction must be in (0, 1]"),
            (self.eval_every >= 1, "eval_every must be >= 1"),
            (self.valid_images >= 0 and self.test_images >= 0, "valid_images and test_images must be >= 0"),
        )
        for ok, reason in checks:
            if not ok:
                raise TrainConfigError(f"protocol {self.name!r}: {reason}")

    def to_dict(self) -> dict[str, Any]:
        """The protocol as a JSON-able dict, with its ``hash``."""
        return {**asdict(self), "hash": self.hash}

    @property
    def hash(self) -> str:
        """BLAKE2b (16 hex digits) of everything that changes what training computes."""
        content = {
            k: v
            for k, v in asdict(self).items()
            if k not in ("name", "description") and _LATER_FIELDS_DEFAULTS.get(k, object()) != v
        }
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def eval_epochs(self) -> list[int]:
        """1-based epochs after which validation and test sets are evaluated (always the last)."""
        return sorted({*range(self.eval_every, self.epochs + 1, self.eval_every), self.epochs})


def shipped_names(package: str) -> list[str]:
    """Names of the JSON configs shipped in ``package``'s ``protocols/`` folder."""
    folder = resources.files(package) / "protocols"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def read_config(name_or_path: str | Path, package: str, what: str, error: type[Exception]) -> tuple[Any, str]:
    """The parsed JSON of a config shipped in ``package`` (by name) or of a file (by path), and
    where it came from; ``error`` (one line naming ``what``) for an unknown name or a bad file."""
    text = str(name_or_path)
    shipped = shipped_names(package)
    if text in shipped:
        resource = resources.files(package) / "protocols" / f"{text}.json"
        return json.loads(resource.read_text()), text
    path = Path(text)
    if not path.is_file():
        raise error(f"unknown {what} {text!r}: neither a shipped one ({', '.join(shipped)}) nor a file")
    try:
        return json.loads(path.read_text()), str(path)
    except (OSError, ValueError) as exc:
        raise error(f"{path}: cannot read the protocol ({exc})") from None


def available() -> list[str]:
    """Names of the shipped protocols."""
    return shipped_names("nasbench_suite.train")


def protocol_from_dict(obj: Any, source: str = "<dict>") -> Protocol:
    """Build and check a protocol from a dict (the JSON form; a ``hash`` key is checked if present).

    Raises:
        TrainConfigError: unknown or missing fields, wrong types, invalid values, a stale hash.
    """
    if not isinstance(obj, dict):
        raise TrainConfigError(f"{source}: a protocol must be a JSON object")
    body = {k: v for k, v in obj.items() if k != "hash"}
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise TrainConfigError(f"{source}: unknown protocol field(s) {', '.join(unknown)}")
    for key, value in body.items():
        types = _FIELDS[key]
        # bool is an int in Python; only fields that are bools may hold one.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise TrainConfigError(f"{source}: field {key!r} has the wrong type ({value!r})")
    try:
        protocol = Protocol(**body)
    except TypeError as exc:
        raise TrainConfigError(f"{source}: {exc}") from None
    protocol = Protocol(**{**asdict(protocol), **{k: float(getattr(protocol, k)) for k in _FLOAT_FIELDS}})
    protocol.check()
    if "hash" in obj and obj["hash"] != protocol.hash:
        raise TrainConfigError(f"{source}: stored hash {obj['hash']!r} does not match {protocol.hash!r}")
    return protocol


_FLOAT_FIELDS = ("lr", "min_lr", "momentum", "weight_decay", "label_smoothing", "train_fraction")


def load_protocol(name_or_path: str | Path) -> Protocol:
    """A shipped protocol by name, or a protocol JSON file by path.

    Raises:
        TrainConfigError: unknown name, unreadable or invalid file.
    """
    obj, source = read_config(name_or_path, "nasbench_suite.train", "protocol", TrainConfigError)
    return protocol_from_dict(obj, source)
