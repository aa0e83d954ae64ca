"""All proxies of one NB201 architecture on the CPU: shared build and batch vs one pass per proxy.

    python -m pytest tests/benchmarks/test_proxy_speed.py --benchmark-enable

Both compute grad_norm, snip, grasp, fisher, jacob_cov, synflow, nwot, params and flops
for the published network (C=16, N=5, 32x32, 10 classes) at batch 64, one torch thread:

- ``shared``: ``compute_proxies`` (one build, one forward pass for the data proxies,
  synflow last in place);
- ``per_proxy``: the reference implementations' style: for each proxy a fresh network
  and its own forward/backward (synflow on a deep copy).

In the fast suite (``--benchmark-disable``) each runs once, untimed, on a tiny network.
Figures: docs/performance.md.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from nasbench_suite.proxies.compute import build, compute_proxies, input_shape  # noqa: E402
from nasbench_suite.proxies.measures import batch_proxies, synflow  # noqa: E402
from nasbench_suite.proxies.settings import PROXIES, ProxySettings  # noqa: E402
from nasbench_suite.train.networks import network_stats  # noqa: E402
from nasbench_suite.train.specs import dataset_spec  # noqa: E402

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
TINY = {"width": 4, "cells_per_stage": 1, "input_size": 8}


def _setup(benchmark):
    network = TINY if benchmark.disabled else {}
    settings = ProxySettings(
        "nb201", "cifar10-valid", "synthetic", tuple(PROXIES), batch_size=64, network=network, threads=1
    )
    side = input_shape(settings)[1]
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(64, 3, side, side, generator=g), torch.randint(0, 10, (64,), generator=g))
    return settings, batch


def per_proxy(settings: ProxySettings, batch) -> dict[str, float]:
    """The reference style: one network build and one forward/backward per proxy."""
    values = {}
    spec = dataset_spec(settings.dataset)
    for proxy in settings.proxies:
        net = build(settings, ARCH)
        if proxy in ("params", "flops"):
            stats = network_stats("nb201", ARCH, spec, settings.network, net)
            values[proxy] = stats.params_m if proxy == "params" else stats.flops_m
        elif proxy == "synflow":
            values[proxy] = synflow(net, input_shape(settings))
        else:
            values[proxy] = batch_proxies(net, *batch, [proxy])[proxy]
    return values


@pytest.mark.benchmark(group="proxies-one-nb201-arch")
def test_all_proxies_shared_build_and_batch(benchmark):
    settings, batch = _setup(benchmark)
    previous = torch.get_num_threads()
    values = benchmark.pedantic(compute_proxies, args=(settings, ARCH, batch), rounds=3, warmup_rounds=1)
    torch.set_num_threads(previous)
    assert list(values) == list(PROXIES)


@pytest.mark.benchmark(group="proxies-one-nb201-arch")
def test_all_proxies_one_pass_per_proxy(benchmark):
    settings, batch = _setup(benchmark)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        values = benchmark.pedantic(per_proxy, args=(settings, batch), rounds=3, warmup_rounds=1)
    finally:
        torch.set_num_threads(previous)
    shared = compute_proxies(settings, ARCH, batch)
    assert values == pytest.approx(shared, rel=1e-4)
