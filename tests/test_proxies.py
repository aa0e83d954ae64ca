"""Zero-cost proxies: each against a direct computation from its definition on a tiny network,
the shared forward pass against one computation per proxy, determinism, the no-path case,
a user space with its own network builder, and the published files' keys."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nasbench_suite import spaces  # noqa: E402
from nasbench_suite.proxies.compute import compute_proxies, network_builder, proxy_batch  # noqa: E402
from nasbench_suite.proxies.measures import batch_proxies, jacob_cov_score, synflow  # noqa: E402
from nasbench_suite.proxies.published import naslib_key, stratified_sample  # noqa: E402
from nasbench_suite.proxies.settings import (  # noqa: E402
    FAILED_SCORE,
    PROXIES,
    ProxyConfigError,
    ProxySettings,
)
from nasbench_suite.testing.toy import ToyChainSpace  # noqa: E402

TINY = {"width": 4, "cells_per_stage": 1, "input_size": 8}
DATA_PROXIES = ("grad_norm", "snip", "grasp", "fisher", "jacob_cov", "nwot")


class TwoLayer(nn.Module):
    """conv3x3 (bias) -> ReLU -> global average -> linear: small enough to differentiate by hand."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4, 3)

    def hidden(self, x):
        return self.conv(x)

    def forward(self, x):
        return self.fc(self.relu(self.hidden(x)).mean(dim=(2, 3)))


def _batch(n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 5, 5, generator=g, dtype=torch.float64), torch.arange(n) % 3


def _net():
    return TwoLayer().double()


def _loss_grads(net, x, y, create_graph=False):
    loss = nn.functional.cross_entropy(net(x), y)
    return torch.autograd.grad(loss, [net.conv.weight, net.fc.weight], create_graph=create_graph)


def test_grad_norm_and_snip_follow_their_definitions():
    net, (x, y) = _net(), _batch()
    g_conv, g_fc = _loss_grads(net, x, y)
    values = batch_proxies(net, x, y, ["grad_norm", "snip"])
    assert values["grad_norm"] == pytest.approx(float(g_conv.norm() + g_fc.norm()), rel=1e-10)
    snip = (g_conv * net.conv.weight).abs().sum() + (g_fc * net.fc.weight).abs().sum()
    assert values["snip"] == pytest.approx(float(snip.detach()), rel=1e-10)


def test_grasp_is_minus_w_times_hessian_gradient_by_finite_differences():
    net, (x, y) = _net(), _batch()
    weights = [net.conv.weight, net.fc.weight]
    g = [t.detach() for t in _loss_grads(net, x, y)]
    eps = 1e-6
    shifted = []
    for sign in (1, -1):
        moved = copy.deepcopy(net)
        with torch.no_grad():
            moved.conv.weight += sign * eps * g[0]
            moved.fc.weight += sign * eps * g[1]
        shifted.append(_loss_grads(moved, x, y))
    hg = [(a - b) / (2 * eps) for a, b in zip(*shifted)]
    expected = sum(float((-w.detach() * h).sum()) for w, h in zip(weights, hg))
    assert batch_proxies(net, x, y, ["grasp"])["grasp"] == pytest.approx(expected, rel=1e-5)


def test_fisher_is_half_mean_squared_channel_saliency_times_fan_in():
    net, (x, y) = _net(), _batch()
    act = net.hidden(x)
    logits = net.fc(net.relu(act).mean(dim=(2, 3)))
    loss = nn.functional.cross_entropy(logits, y)
    d_act, d_logits = torch.autograd.grad(loss, [act, logits])
    conv = 0.5 * ((act * d_act).sum(dim=(2, 3)) ** 2).mean(0)
    fc = 0.5 * ((logits * d_logits) ** 2).mean(0)
    expected = float(conv.sum().detach()) * 3 * 3 * 3 + float(fc.sum().detach()) * 4
    assert batch_proxies(net, x, y, ["fisher"])["fisher"] == pytest.approx(expected, rel=1e-10)


def test_jacob_cov_uses_the_eigenvalues_of_the_jacobian_correlations():
    net, (x, y) = _net(), _batch()
    jac = torch.autograd.functional.jacobian(lambda inp: net(inp).sum(), x).reshape(len(x), -1).numpy()
    eig = np.linalg.eigvals(np.corrcoef(jac)).real
    expected = -float(np.sum(np.log(eig + 1e-5) + 1 / (eig + 1e-5)))
    assert batch_proxies(net, x, y, ["jacob_cov"])["jacob_cov"] == pytest.approx(expected, rel=1e-8)
    assert jacob_cov_score(np.zeros((4, 10))) == FAILED_SCORE


def test_nwot_is_the_log_determinant_of_the_binary_code_kernel():
    net, (x, y) = _net(), _batch()
    codes = (net.hidden(x).reshape(len(x), -1) > 0).double()
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T
    expected = float(np.linalg.slogdet(kernel.detach().numpy())[1])
    assert batch_proxies(net, x, y, ["nwot"])["nwot"] == pytest.approx(expected, rel=1e-10)


def test_synflow_in_closed_form_for_a_linear_network():
    net = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3))
    w1, b1 = net[0].weight.detach().abs().double(), net[0].bias.detach().abs().double()
    w2 = net[3].weight.detach().abs().double()
    # |weights|, no batch norm, input ones: R = 1^T (|W2| (|W1| 1 + |b1|) + |b2|); ReLU passes it all.
    hidden = w1 @ torch.ones(5, dtype=torch.float64) + b1
    col = w2.sum(0)  # dR/dh
    score = float((w1 * col[:, None]).sum() + (w2 * hidden[None, :]).sum())
    before = [p.detach().clone() for p in net.parameters()]
    assert synflow(net, (5,)) == pytest.approx(math.log(score), rel=1e-12)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # a copy was changed


def test_the_shared_forward_pass_gives_what_one_pass_per_proxy_gives():
    net, (x, y) = _net(), _batch()
    together = batch_proxies(net, x, y, DATA_PROXIES)
    for proxy in DATA_PROXIES:
        alone = batch_proxies(copy.deepcopy(net), x, y, [proxy])[proxy]
        assert together[proxy] == pytest.approx(alone, rel=1e-9), proxy


def _settings(**kw):
    base = dict(space="nb201", dataset="synthetic", data_source="synthetic:200", proxies=tuple(PROXIES))
    base.update(network=TINY, batch_size=16)
    base.update(kw)
    return ProxySettings(**base)


ARCH = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


def test_proxies_of_an_nb201_network_are_deterministic_and_finite():
    first = compute_proxies(_settings(), ARCH)
    assert compute_proxies(_settings(), ARCH) == first
    assert list(first) == list(PROXIES)
    assert all(math.isfinite(v) and v != FAILED_SCORE for v in first.values())
    other_seed = compute_proxies(_settings(seed=1), ARCH)
    assert other_seed["params"] == first["params"] and other_seed["snip"] != first["snip"]


def test_an_architecture_without_an_input_output_path():
    dead = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|none~2|"
    values = compute_proxies(_settings(), dead)
    for proxy in ("grad_norm", "snip", "grasp", "synflow"):
        assert values[proxy] == 0.0, proxy
    assert values["jacob_cov"] == FAILED_SCORE
    assert 0 < values["fisher"] < math.inf and math.isfinite(values["nwot"])


def test_params_and_flops_are_the_trainers_counts():
    from nasbench_suite.train.counting import NB201NetConfig, nb201_stats
    from nasbench_suite.train.specs import dataset_spec

    values = compute_proxies(_settings(proxies=("params", "flops"), data_source="none"), ARCH)
    stats = nb201_stats(spaces.get("nb201").parse(ARCH), dataset_spec("synthetic"), NB201NetConfig(**TINY))
    assert (values["params"], values["flops"]) == (stats.params_m, stats.flops_m)


def test_the_batch_is_drawn_once_and_normalised():
    x, y = proxy_batch(_settings())
    assert x.shape == (16, 3, 8, 8) and y.shape == (16,)
    assert proxy_batch(_settings())[0] is x
    assert x.dtype == torch.float32 and bool(torch.isfinite(x).all())


class BuilderSpace(ToyChainSpace):
    """A user space that provides its own network builder: a chain of 1x1 or 3x3 convolutions."""

    name = "test-chain-net"

    def build_network(self, arch, dataset, network):
        layers, c = [], dataset.channels
        for op in arch:
            layers += [nn.Conv2d(c, 4, 1 + 2 * (op % 2), padding=op % 2), nn.BatchNorm2d(4), nn.ReLU()]
            c = 4
        return nn.Sequential(
            *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, dataset.num_classes)
        )


def test_a_user_space_with_a_network_builder():
    with spaces.registered("test-chain-net", BuilderSpace):
        values = compute_proxies(_settings(space="test-chain-net", network={}), "0-1-2-1")
        assert compute_proxies(_settings(space="test-chain-net", network={}), "0-1-2-1") == values
    assert all(math.isfinite(v) for v in values.values())
    # conv 1x1 3->4, 3x3 4->4, 1x1 4->4, 3x3 4->4 (bias + batch norm each), linear 4->10
    assert values["params"] == pytest.approx((24 + 156 + 28 + 156 + 50) / 1e6)


def test_bad_input_is_a_named_error():
    with pytest.raises(ProxyConfigError, match="unknown proxy 'snap'"):
        _settings(proxies=("snap",))
    with pytest.raises(ProxyConfigError, match="needs images"):
        _settings(data_source="none")
    with spaces.registered("test-chain-bare", ToyChainSpace):
        with pytest.raises(ProxyConfigError, match="no network builder"):
            network_builder("test-chain-bare")


def test_naslib_keys_and_the_stratified_sample():
    assert naslib_key("(4, 3, 3, 0, 0, 0)") == (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    )
    keys = [f"k{i}" for i in range(100)]
    sample = stratified_sample(keys, np.arange(100.0), 20, strata=4, prefer={"k99"}, seed=0)
    assert len(set(sample)) == 20 and "k99" in sample
    assert sorted(int(k[1:]) // 25 for k in sample) == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5
