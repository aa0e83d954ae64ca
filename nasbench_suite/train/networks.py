"""Which network a space's architecture becomes, and its size (torch-free entry points).

:func:`network_stats` answers parameters and FLOPs without torch for NB201 (closed
form) and builds the torch model for NB101; :func:`build_network` (torch) builds
the model a protocol trains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nasbench_suite import spaces
from nasbench_suite.train.counting import NB201NetConfig, NetStats, nb201_stats
from nasbench_suite.train.errors import TorchMissingError, TrainConfigError
from nasbench_suite.train.specs import DatasetSpec

if TYPE_CHECKING:
    from torch import nn

#: Spaces the trainer can build networks for.
TRAINABLE_SPACES = ("nb101", "nb201")


def _config(space: str, network: dict[str, Any] | None) -> Any:
    network = network or {}
    try:
        if space == "nb201":
            return NB201NetConfig(**network)
        if space == "nb101":
            from nasbench_suite.train.nb101_config import NB101NetConfig

            return NB101NetConfig(**network)
    except TypeError as exc:
        raise TrainConfigError(f"network settings {network} do not fit the {space} network ({exc})") from None
    raise TrainConfigError(
        f"the trainer cannot build {space!r} networks; it can: {', '.join(TRAINABLE_SPACES)}"
    )


def input_side(space: str, dataset: DatasetSpec, network: dict[str, Any] | None) -> int:
    """Input side in pixels that a network of ``space`` with ``network`` settings takes."""
    return _config(space, network).input_size or dataset.input_size


def network_stats(
    space: str,
    arch: Any,
    dataset: DatasetSpec,
    network: dict[str, Any] | None = None,
    model: nn.Module | None = None,
) -> NetStats:
    """Parameters and per-image FLOPs of the network of ``arch`` (an architecture or its text).

    ``model``, the network already built for ``arch`` with these settings, is measured
    instead of building another (NB101; NB201 counts in closed form and ignores it).

    Raises:
        MalformedArchError / InvalidArchError: for a bad architecture.
        TrainConfigError: for a space without a network or bad network settings.
        TorchMissingError: NB101 counts need torch.
    """
    config = _config(space, network)
    arch = spaces.get(space).validate(arch)
    if space == "nb201":
        return nb201_stats(arch, dataset, config)
    from nasbench_suite.train.torch_stats import measure_stats

    if model is None:
        model = build_network(space, arch, dataset, network)
    side = config.input_size or dataset.input_size
    return measure_stats(model, (dataset.channels, side, side))


def build_network(
    space: str, arch: Any, dataset: DatasetSpec, network: dict[str, Any] | None = None
) -> nn.Module:
    """The torch model of ``arch`` in ``space`` with the given network settings.

    Raises:
        TorchMissingError: torch is not installed.
        TrainConfigError, MalformedArchError: as :func:`network_stats`.
    """
    config = _config(space, network)
    arch = spaces.get(space).validate(arch)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise TorchMissingError("building a network") from None
    if space == "nb201":
        from nasbench_suite.train.nb201_net import NB201Network

        return NB201Network(arch, dataset, config)
    from nasbench_suite.train.nb101_net import NB101Network

    return NB101Network(arch, dataset, config)
