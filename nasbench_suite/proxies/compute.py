"""All the proxies of one architecture: one network build, one batch, shared by every proxy (torch).

:func:`network_builder` finds how a space's architectures become networks: the
trainer's builder for the spaces it trains (NB201, NB101), else the space
object's own ``build_network(arch, dataset, network)`` method (a user space that
provides one). :func:`proxy_batch` draws the batch once per process and seed;
:func:`compute_proxies` builds the network once (seeded initialisation), counts
params and FLOPs on it, computes the data-dependent proxies from one shared
forward pass (``measures.batch_proxies``) and synflow last, in place, because
synflow's absolute float64 weights are the only change any proxy makes to the
network and nothing uses the network afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasbench_suite import spaces
from nasbench_suite.proxies.measures import batch_proxies, synflow
from nasbench_suite.proxies.settings import ProxyConfigError, ProxySettings
from nasbench_suite.train.networks import TRAINABLE_SPACES, build_network, network_stats
from nasbench_suite.train.specs import DatasetSpec, dataset_spec

Builder = Callable[[Any, DatasetSpec, dict[str, Any]], torch.nn.Module]


def network_builder(space: str) -> Builder:
    """How architectures of ``space`` become torch networks.

    Raises:
        ProxyConfigError: the space has no network builder (neither the trainer's nor its own).
    """
    if space in TRAINABLE_SPACES:
        return lambda arch, spec, network: build_network(space, arch, spec, network)
    own = getattr(spaces.get(space), "build_network", None)
    if not callable(own):
        raise ProxyConfigError(
            f"space {space!r} has no network builder: the trainer builds {', '.join(TRAINABLE_SPACES)};"
            " a user space provides build_network(arch, dataset, network)"
        )
    return own


def input_shape(settings: ProxySettings) -> tuple[int, int, int]:
    """(C, H, W) of one input of the settings' network."""
    spec = dataset_spec(settings.dataset)
    side = settings.network.get("input_size") or spec.input_size
    return spec.channels, side, side


_BATCHES: dict[tuple[Any, ...], tuple[torch.Tensor, torch.Tensor]] = {}


def proxy_batch(settings: ProxySettings) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The batch of the settings (normalised images on the device, labels), drawn once per process.

    ``batch_size`` training images drawn without replacement with the seed, augmented
    with the trainer's crop and flip, normalised with the training split's channel
    statistics. None when the settings' data source is ``none`` (data-free proxies).

    Raises:
        TrainDataError: unreadable source; ProxyConfigError: fewer training images than the batch.
    """
    if settings.data_source == "none":
        return None
    key = (settings.dataset, settings.data_source, settings.seed, settings.batch_size, settings.device)
    key += (input_shape(settings),)
    if key not in _BATCHES:
        from nasbench_suite.train.data import load_training_data
        from nasbench_suite.train.trainer import augment, channel_stats

        data = load_training_data(settings.dataset, settings.data_source)
        n = len(data.train)
        if n < settings.batch_size:
            raise ProxyConfigError(f"{settings.data_source}: {n} training images, fewer than the batch")
        rng = np.random.default_rng(settings.seed)
        idx = np.sort(rng.choice(n, settings.batch_size, replace=False))
        images = torch.from_numpy(np.ascontiguousarray(data.train.images[idx])).permute(0, 3, 1, 2)
        side = input_shape(settings)[1]
        if images.shape[-1] != side:
            images = F.interpolate(images.float(), size=(side, side), mode="area").round().to(torch.uint8)
        generator = torch.Generator().manual_seed(settings.seed)
        images = augment(images.contiguous(), 4, True, generator)
        mean, std = channel_stats(data.train.images)
        mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        x = (images.float() / 255.0 - mean_t) / std_t
        y = torch.as_tensor(np.asarray(data.train.labels)[idx], dtype=torch.int64)
        _BATCHES.clear()
        _BATCHES[key] = (x.to(settings.device), y.to(settings.device))
    return _BATCHES[key]


def build(settings: ProxySettings, arch: Any, builder: Builder | None = None) -> torch.nn.Module:
    """The network of ``arch`` with the seeded initialisation (torch's global generator untouched)."""
    builder = builder or network_builder(settings.space)
    init_seed = int(np.random.SeedSequence(settings.seed).generate_state(1)[0])
    device = torch.device(settings.device)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(init_seed)
        net = builder(arch, dataset_spec(settings.dataset), dict(settings.network))
    return net.to(device)


def compute_proxies(
    settings: ProxySettings,
    arch: Any,
    batch: tuple[torch.Tensor, torch.Tensor] | None = None,
    builder: Builder | None = None,
) -> dict[str, float]:
    """Every proxy of the settings for ``arch`` (an architecture of the space or its text).

    Args:
        settings: proxies, batch size, seed, network size, device.
        arch: the architecture.
        batch: ``(x, y)`` to use instead of :func:`proxy_batch`'s (tests).
        builder: network builder instead of :func:`network_builder`'s.

    Returns:
        proxy name -> value (see ``settings.PROXIES``).

    Raises:
        ProxyConfigError, MalformedArchError, TrainDataError: bad input.
    """
    arch = spaces.get(settings.space).validate(arch)
    previous = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        return _compute(settings, arch, batch, builder)
    finally:  # the thread count is process-wide: leave it as it was for the caller
        torch.set_num_threads(previous)


def _compute(
    settings: ProxySettings,
    arch: Any,
    batch: tuple[torch.Tensor, torch.Tensor] | None,
    builder: Builder | None,
) -> dict[str, float]:
    net = build(settings, arch, builder)
    values: dict[str, float] = {}
    shape = input_shape(settings)
    if {"params", "flops"} & set(settings.proxies):
        stats = _stats(settings, arch, net, shape)
        values.update(params=stats[0], flops=stats[1])
    data_proxies = [p for p in settings.proxies if p not in ("params", "flops", "synflow")]
    if data_proxies:
        x, y = batch if batch is not None else proxy_batch(settings)  # type: ignore[misc]
        values.update(batch_proxies(net, x, y, data_proxies))
    if "synflow" in settings.proxies:
        values["synflow"] = synflow(net, shape, in_place=True)
    return {p: values[p] for p in settings.proxies}


def _stats(settings: ProxySettings, arch: Any, net: torch.nn.Module, shape: tuple[int, int, int]) -> tuple:
    if settings.space in TRAINABLE_SPACES:
        stats = network_stats(settings.space, arch, dataset_spec(settings.dataset), settings.network, net)
    else:
        from nasbench_suite.train.torch_stats import measure_stats

        stats = measure_stats(net, shape)
    return stats.params_m, stats.flops_m


def timed_proxies(settings: ProxySettings, arch: Any) -> dict[str, Any]:
    """:func:`compute_proxies` with its wall-clock time and the hardware: a journal result."""
    from nasbench_suite.train.trainer import hardware_description

    proxy_batch(settings)  # loading the data once per process is not the architecture's cost
    start = time.perf_counter()
    values = compute_proxies(settings, arch)
    if settings.device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return {
        "values": values,
        "time_s": elapsed,
        "hardware": hardware_description(torch.device(settings.device)),
    }
