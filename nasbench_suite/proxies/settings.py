"""What a proxy computation is: the proxies, their definitions and every setting (torch-free).

A :class:`ProxySettings` is to the proxies what a training protocol is to the
trainer: everything that decides the numbers (proxies, batch size, seed, network
size, data source, the conventions below), JSON-able and hashed. A table stores
it as the dataset's ``protocol`` and its provenance, so a table never mixes
proxies computed under different settings.

The conventions follow the reference implementations (Abdelfattah et al. 2021,
``SamsungLabs/zero-cost-nas``, and NASLib's copy of it, which produced the
published NAS-Bench-Suite-Zero values); :data:`CONVENTIONS` states each one and
docs/proxies.md says why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from nasbench_suite.tabular.model import MetricInfo
from nasbench_suite.train.errors import TrainConfigError

#: Proxy name -> (unit, definition). Metrics are stored as ``zc_<name>`` per architecture.
PROXIES: dict[str, tuple[str, str]] = {
    "grad_norm": ("score", "sum over conv/linear layers of the L2 norm of the loss gradient of the weights"),
    "snip": ("score", "sum over conv/linear weights of |dL/dw * w| (Lee et al. 2019)"),
    "grasp": ("score", "sum over conv/linear weights of -w * (H g), g = dL/dw (Wang et al. 2020)"),
    "fisher": (
        "score",
        "sum over conv/linear output channels of 0.5 * mean_n (sum_xy a*dL/da)^2, times the"
        " channel's fan-in (Turner et al. 2020; the reference broadcasts each channel to its weights)",
    ),
    "jacob_cov": (
        "score",
        "-sum(log(l + 1e-5) + 1/(l + 1e-5)) over the eigenvalues l of the correlation matrix of the"
        " per-image input Jacobians of the summed logits (Mellor et al. 2020, v1)",
    ),
    "synflow": (
        "log score",
        "natural log of sum over conv/linear weights of |w * dR/dw|, R = sum of the outputs of the"
        " network with |weights|, no batch norm, float64, on one all-ones input (Tanaka et al. 2020)",
    ),
    "nwot": (
        "log score",
        "log-determinant of K = sum over ReLUs of c c^T + (1-c)(1-c)^T, c the binary codes (input > 0)"
        " of the batch (Mellor et al. 2021, v2)",
    ),
    "params": ("M", "parameters of the network, millions (train/counting.py conventions)"),
    "flops": ("MFLOPs", "FLOPs of one forward pass of one image, millions (train/counting.py)"),
}
#: Proxies that read no images (``--data`` may be ``none`` when only these are asked for).
DATA_FREE = frozenset({"synflow", "params", "flops"})
#: Proxies that need gradients of the loss (one shared forward/backward in compute.py).
GRADIENT_PROXIES = frozenset({"grad_norm", "snip", "grasp", "fisher"})
#: The value the reference gives a score that is NaN or infinite (a failed jacob_cov, say).
FAILED_SCORE = -1e8

#: Every convention that decides a value, as recorded in the table's provenance.
CONVENTIONS: dict[str, str] = {
    "data": "one batch of the training split, drawn with the seed, the same batch for every architecture",
    "augmentation": "the trainer's random crop (pad 4) and horizontal flip, as the reference's train loader",
    "loss": "cross-entropy, mean over the batch",
    "batch_norm": "train mode (batch statistics) for every proxy; synflow removes batch norm",
    "initialisation": "torch defaults, seeded with the seed (torch's global generator untouched)",
    "layers": "gradient proxies sum over the weights of every Conv2d and Linear layer (biases excluded)",
    "synflow": "float64 copy with |weights| and no batch norm, input of ones (1 image); log of the sum,"
    " summed in the log domain (logsumexp) so that huge values never overflow; a zero score is 0",
    "failed": f"a score that is NaN or infinite (jacob_cov of a network without an input-output path)"
    f" is {FAILED_SCORE:g}, as in the reference",
    "no_path": "a network without an input-output path gets what the definitions give: 0 for grad_norm,"
    " snip, grasp and synflow (no gradient reaches a weight), the classifier bias's share for fisher,"
    f" {FAILED_SCORE:g} for jacob_cov, a finite nwot",
}


class ProxyConfigError(TrainConfigError):
    """Bad proxy input: unknown proxy, a space without a network builder, settings a table refuses."""


def check_proxies(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The proxies asked for, validated, without duplicates, in the order given.

    Raises:
        ProxyConfigError: for an unknown name or an empty list.
    """
    names = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [n for n in names if n not in PROXIES]
    if unknown:
        raise ProxyConfigError(f"unknown proxy {unknown[0]!r}; known: {', '.join(PROXIES)}")
    if not names:
        raise ProxyConfigError("no proxy asked for")
    return names


def metric_name(proxy: str) -> str:
    """The table metric of a proxy: ``zc_<name>`` (the prefix of imported proxy columns)."""
    return f"zc_{proxy}"


def metric_infos(proxies: tuple[str, ...]) -> dict[str, MetricInfo]:
    """MetricInfo of each proxy's table metric and of ``zc_time_s`` (compute time per architecture)."""
    infos = {metric_name(p): MetricInfo(*PROXIES[p]) for p in proxies}
    infos["zc_time_s"] = MetricInfo("s", "wall-clock time of computing all the proxies of the architecture")
    return infos


@dataclass(frozen=True)
class ProxySettings:
    """Everything that decides the proxy values of a command; JSON-able, hashed.

    Attributes:
        space: search space name.
        dataset: dataset name (class count and input size; the images if ``data_source`` is set).
        data_source: where the images come from (``none`` for data-free proxies only).
        proxies: proxy names, validated.
        batch_size: images in the batch (64, the references' setting).
        seed: seeds the batch, its augmentation and the weight initialisation.
        network: network size settings (as a protocol's ``network``; empty: the published size).
        device: ``cpu``, ``cuda`` or ``cuda:K`` (not part of the hash).
        threads: torch CPU threads (0: torch's default; not part of the hash).
    """

    space: str
    dataset: str
    data_source: str
    proxies: tuple[str, ...]
    batch_size: int = 64
    seed: int = 0
    network: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    threads: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "proxies", check_proxies(list(self.proxies)))
        if self.batch_size < 2:
            raise ProxyConfigError(f"batch size {self.batch_size}: need at least 2 (correlations, kernels)")
        needs_data = [p for p in self.proxies if p not in DATA_FREE]
        if self.data_source == "none" and needs_data:
            raise ProxyConfigError(f"proxy {needs_data[0]!r} needs images: pass --data")

    def protocol(self) -> dict[str, Any]:
        """The table dataset's protocol: what decides the values, with conventions and ``hash``."""
        body = {
            "kind": "zero-cost proxies",
            "proxies": list(self.proxies),
            "batch_size": self.batch_size,
            "seed": self.seed,
            "network": dict(self.network),
            "conventions": CONVENTIONS,
        }
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return {**body, "hash": hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}

    @property
    def hash(self) -> str:
        return self.protocol()["hash"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (travels to worker processes and Ray tasks)."""
        return {**asdict(self), "proxies": list(self.proxies)}
