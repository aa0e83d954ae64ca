"""The zero-cost proxies of an untrained network on one batch (torch).

:func:`batch_proxies` computes every data-dependent proxy (grad_norm, snip,
grasp, fisher, jacob_cov, nwot) from **one** forward pass: the references run
one forward and backward per proxy, each on a fresh copy of the network, but
the network is in train mode with the same weights and batch every time, so the
forward pass, the loss and its gradient are the same tensors each time. Here:

- one forward with hooks (ReLU inputs for nwot, conv/linear outputs for fisher);
- ``d(sum of logits)/d(input)`` for jacob_cov (the reference's Jacobian);
- ``dL/dw`` (and ``dL/da`` of the conv/linear outputs for fisher) in one call, with
  ``create_graph`` when grasp is asked for;
- grasp's Hessian-gradient product ``H g`` by differentiating ``sum(g.detach() * g)``,
  as the reference does after its second forward pass.

:func:`synflow` changes the network (absolute weights, float64, no batch norm):
by default it works on a deep copy; the caller that runs it last on a network it
discards passes ``in_place=True`` and saves the copy.

Each function follows the reference implementation's definition (see
``settings.PROXIES`` and docs/proxies.md); values are Python floats.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench_suite.proxies.settings import FAILED_SCORE


def weighted_layers(net: nn.Module) -> list[nn.Module]:
    """The Conv2d and Linear layers of ``net`` in module order: the layers the proxies sum over."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def finite_or_failed(value: float) -> float:
    """``value``, or the reference's score for a failed computation when it is NaN or infinite."""
    return value if math.isfinite(value) else FAILED_SCORE


def jacob_cov_score(jacobians: np.ndarray) -> float:
    """jacob_cov of per-image Jacobians (B, D): ``-sum(log(l + k) + 1/(l + k))``, k = 1e-5.

    l are the eigenvalues of the B x B correlation matrix of the rows. A batch whose
    Jacobians are constant (no input-output path) has no correlation matrix: the
    reference's failure value.
    """
    with np.errstate(all="ignore"):
        corr = np.corrcoef(jacobians.astype(np.float64))
    if not np.all(np.isfinite(corr)):
        return FAILED_SCORE
    eigenvalues = np.linalg.eigvalsh(corr)
    k = 1e-5
    with np.errstate(all="ignore"):
        score = -float(np.sum(np.log(eigenvalues + k) + 1.0 / (eigenvalues + k)))
    return finite_or_failed(score)


def batch_proxies(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, proxies: Iterable[str]
) -> dict[str, float]:
    """The data-dependent proxies of ``net`` on the batch ``(x, y)``, from one forward pass.

    Args:
        net: the untrained network; put in train mode; its weights are not changed
            (gradients are taken with ``torch.autograd.grad``, nothing is accumulated).
        x: images (B, C, H, W), normalised; y: labels (B,).
        proxies: any of grad_norm, snip, grasp, fisher, jacob_cov, nwot.

    Returns:
        proxy -> value.
    """
    wanted = set(proxies)
    net.train()
    layers = weighted_layers(net)
    handles = []
    kernel = torch.zeros((len(x), len(x)), dtype=torch.float64, device=x.device)
    outputs: list[list[torch.Tensor]] = [[] for _ in layers]

    def count_codes(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal kernel
        codes = (inputs[0].detach().reshape(len(x), -1) > 0).to(torch.float32)
        # c c^T + (1-c)(1-c)^T: agreements between two images' binary codes.
        agree = codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T
        kernel = kernel + agree.to(torch.float64)

    if "nwot" in wanted:
        handles += [m.register_forward_hook(count_codes) for m in net.modules() if isinstance(m, nn.ReLU)]
    if "fisher" in wanted:
        for i, layer in enumerate(layers):
            handles.append(layer.register_forward_hook(lambda m, inp, out, i=i: outputs[i].append(out)))
    try:
        x = x.detach().clone().requires_grad_("jacob_cov" in wanted)
        logits = net(x)
    finally:
        for handle in handles:
            handle.remove()
    values: dict[str, float] = {}
    if "nwot" in wanted:
        values["nwot"] = finite_or_failed(float(torch.linalg.slogdet(kernel)[1]))
    gradient_proxies = wanted & {"grad_norm", "snip", "grasp", "fisher"}
    if "jacob_cov" in wanted:
        (jacobian,) = torch.autograd.grad(
            logits.sum(), x, retain_graph=bool(gradient_proxies), allow_unused=True
        )
        if jacobian is None:  # the output does not depend on the input: no input-output path
            jacobian = torch.zeros_like(x)
        values["jacob_cov"] = jacob_cov_score(jacobian.reshape(len(x), -1).cpu().numpy())
    if not gradient_proxies:
        return values
    loss = F.cross_entropy(logits, y)
    weights = [layer.weight for layer in layers]
    acts = [a for per_layer in outputs for a in per_layer]
    grads = torch.autograd.grad(loss, weights + acts, create_graph="grasp" in wanted, allow_unused=True)
    weight_grads = [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads)]
    if "grad_norm" in wanted:
        values["grad_norm"] = float(sum(g.detach().norm() for g in weight_grads))
    if "snip" in wanted:
        values["snip"] = float(
            sum((g.detach() * w.detach()).abs().sum() for g, w in zip(weight_grads, weights))
        )
    if "fisher" in wanted:
        values["fisher"] = _fisher(layers, outputs, list(grads[len(weights) :]))
    if "grasp" in wanted:
        z = sum((g.detach() * g).sum() for g in weight_grads if g.requires_grad)
        if isinstance(z, torch.Tensor) and z.requires_grad:
            hessian_grad = torch.autograd.grad(z, weights, allow_unused=True)
            total = sum((-w.detach() * hg).sum() for w, hg in zip(weights, hessian_grad) if hg is not None)
            values["grasp"] = float(total)
        else:  # no weight gets a gradient (no input-output path): H g is zero
            values["grasp"] = 0.0
    return {p: finite_or_failed(v) for p, v in values.items()}


def _fisher(layers: list[nn.Module], outputs: list[list[torch.Tensor]], act_grads: list) -> float:
    total = 0.0
    position = 0
    for layer, acts in zip(layers, outputs):
        per_channel = torch.zeros(layer.weight.shape[0], dtype=torch.float64, device=layer.weight.device)
        for act in acts:
            grad = act_grads[position]
            position += 1
            if grad is None:
                continue
            product = act.detach() * grad.detach()
            g_nk = product.sum(dim=tuple(range(2, product.dim()))) if product.dim() > 2 else product
            per_channel += (0.5 * g_nk.pow(2).mean(0)).to(torch.float64)
        # The reference broadcasts each channel's value over the channel's weights before summing.
        total += float(per_channel.abs().sum()) * layer.weight[0].numel()
    return total


def synflow(net: nn.Module, input_shape: tuple[int, ...], in_place: bool = False) -> float:
    """synflow: log of sum |w * dR/dw| over conv/linear weights, R = sum of outputs on one all-ones input.

    The network gets absolute parameters, float64 and no batch norm (the reference's
    ``bn=False`` copy). The sum is taken in the log domain (logsumexp of log|w*g|), so a
    score far beyond float64's range still has its log; a zero score is 0, as in the
    reference (which maps a zero sum to 0 before taking logs).

    Args:
        net: the network (unchanged unless ``in_place``).
        input_shape: (C, H, W) of one input.
        in_place: change ``net`` itself (the caller discards it afterwards).
    """
    if not in_place:
        net = copy.deepcopy(net)
    _remove_batch_norm(net)
    net.double()
    with torch.no_grad():
        for tensor in net.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    device = next(net.parameters()).device
    net.zero_grad(set_to_none=True)
    net(torch.ones((1, *input_shape), dtype=torch.float64, device=device)).sum().backward()
    logs = []
    for layer in weighted_layers(net):
        if layer.weight.grad is None:
            continue
        terms = (layer.weight * layer.weight.grad).abs().detach().flatten()
        terms = terms[terms > 0]
        if len(terms):
            logs.append(torch.logsumexp(terms.log(), dim=0))
    if not logs:
        return 0.0
    return finite_or_failed(float(torch.logsumexp(torch.stack(logs), dim=0)))


def _remove_batch_norm(net: nn.Module) -> None:
    for module in list(net.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())
