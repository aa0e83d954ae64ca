"""One supernet search of one method with one seed, deriving an architecture after every epoch (torch).

Data follow the published runs: the weights train on the train half of
``cifar10-valid`` and the architecture (DARTS's and GDAS's parameters, ENAS's
controller) on the valid half, both with the trainer's augmentation (crop and
flip) and normalisation; the weights' learning rate follows the trainer's cosine
schedule per step. Every step of DARTS and GDAS is a weight step on a train batch
(weight optimiser only) followed by an architecture step on a valid batch
(architecture optimiser only), as the reference code orders them.

Derivation after every epoch: DARTS and GDAS take the argmax of the architecture
parameters per edge (``none`` included); RSPS (uniform) and ENAS (controller)
sample ``derive_samples`` candidates (``final_samples`` after the last epoch) and
keep the most accurate, each scored on its own validation batch.

Seeds: a run's seed feeds a ``numpy.random.SeedSequence`` whose children seed the
initialisation and one generator for data order, augmentation, Gumbel noise and
path sampling; torch's global generator is never drawn from.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasbench_suite.oneshot.controller import Controller
from nasbench_suite.oneshot.settings import OneShotSettings, check_method
from nasbench_suite.oneshot.supernet import Supernet
from nasbench_suite.train.data import Split, TrainingData
from nasbench_suite.train.specs import DatasetSpec
from nasbench_suite.train.trainer import DeviceData, augment, hardware_description, lr_at, train_subset


def search_data(
    data: TrainingData, settings: OneShotSettings, dataset: DatasetSpec, device: str
) -> DeviceData:
    """The search's data on ``device``: a fixed ``train_fraction`` of each half, at the supernet's input side.

    The test split is not used by a search; the valid share stands in for it so that nothing
    more is resized or moved.
    """

    def share(split: Split) -> Split:
        idx = train_subset(len(split), settings.train_fraction)
        return Split(np.asarray(split.images)[idx], np.asarray(split.labels)[idx])

    train, valid = share(data.train), share(data.valid)
    side = settings.network.get("input_size") or dataset.input_size
    subset = TrainingData(data.name, data.num_classes, train, valid, valid, data.source)
    return DeviceData(subset, torch.device(device), side)


class _Batches:
    """Endless shuffled batches of one split (a new permutation each pass), augmented and normalised."""

    def __init__(self, data: DeviceData, split: str, settings: OneShotSettings, generator: torch.Generator):
        self.data, self.settings, self.generator = data, settings, generator
        self.x, self.y = data.splits[split]
        self.order: torch.Tensor = torch.empty(0, dtype=torch.int64)
        self.pos = 0

    def next(self, train_mode: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        size = self.settings.batch_size
        if self.pos + size > len(self.order):
            self.order = torch.randperm(len(self.y), generator=self.generator, device=self.generator.device)
            self.pos = 0
        idx = self.order[self.pos : self.pos + size]
        self.pos += size
        x = self.x[idx]
        if train_mode:
            x = augment(x, self.settings.crop_padding, self.settings.flip, self.generator)
        return self.data.normalise(x), self.y[idx]


def run_search(
    method: str,
    settings: OneShotSettings,
    data: DeviceData,
    dataset: DatasetSpec,
    seed: int,
    space: str = "nb201",
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Search with ``method``; return a JSON-able run.

    Returns:
        ``method``, ``seed``, ``epochs`` (one dict per supernet epoch: ``epoch``, ``arch``
        (the space's string of the derived architecture), ``train_loss``, ``train_acc``,
        ``epoch_time_s`` and method-specific ``arch_loss``, ``tau``, ``probs``,
        ``baseline``), ``arch`` (the last derived), ``search_time_s`` (wall time of
        all epochs, derivation included), ``search_cpu_s`` (this process's CPU time over
        them) and ``hardware``.

    Raises:
        OneShotConfigError: unknown method or space without a supernet.
    """
    check_method(method)
    init_seed, data_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        net = Supernet(space, dataset, settings.network, settings.bn_affine, settings.bn_track_running_stats)
        controller = (
            Controller(len(net.layout.edges), len(net.layout.ops), settings.controller)
            if method == "enas"
            else None
        )
    net = net.to(data.device)
    if controller is not None:
        controller = controller.to(data.device)
    generator = torch.Generator(device=data.device)
    generator.manual_seed(data_seed)
    run = _Run(method, settings, net, controller, data, generator)
    epochs = []
    for epoch in range(1, settings.epochs + 1):
        start, cpu = time.perf_counter(), time.process_time()
        record = run.epoch(epoch)
        record["epoch_time_s"] = time.perf_counter() - start
        # CPU time too: on a shared machine the wall time also counts other processes' turns.
        record["epoch_cpu_s"] = time.process_time() - cpu
        epochs.append(record)
        if on_epoch is not None:
            on_epoch(record)
    from nasbench_suite.spaces import get

    fmt = get(space).format
    for record in epochs:
        record["arch"] = fmt(record["arch"])
    return {
        "method": method,
        "seed": seed,
        "epochs": epochs,
        "arch": epochs[-1]["arch"],
        "search_time_s": float(sum(r["epoch_time_s"] for r in epochs)),
        "search_cpu_s": float(sum(r["epoch_cpu_s"] for r in epochs)),
        "hardware": hardware_description(data.device),
    }


class _Run:
    """The state of one search between epochs: supernet, optimisers, batches, step count."""

    def __init__(
        self,
        method: str,
        settings: OneShotSettings,
        net: Supernet,
        controller: Controller | None,
        data: DeviceData,
        generator: torch.Generator,
    ):
        self.method, self.s, self.net, self.controller, self.g = method, settings, net, controller, generator
        self.train = _Batches(data, "train", settings, generator)
        self.valid = _Batches(data, "valid", settings, generator)
        self.steps_per_epoch = math.ceil(len(self.train.y) / settings.batch_size)
        self.total_steps = settings.epochs * self.steps_per_epoch
        self.step = 0
        self.tau = settings.tau_max
        self.w_opt = torch.optim.SGD(
            net.weights(),
            lr=settings.lr,
            momentum=settings.momentum,
            nesterov=settings.nesterov,
            weight_decay=settings.weight_decay,
        )
        self.a_opt = torch.optim.Adam(
            [net.alphas],
            lr=settings.arch_lr,
            betas=settings.arch_betas,
            weight_decay=settings.arch_weight_decay,
        )
        if controller is not None:
            c = settings.controller
            self.c_opt = torch.optim.Adam(controller.parameters(), lr=c.lr, betas=c.betas, eps=c.eps)
        self.baseline: float | None = None

    # -- choosing ops ------------------------------------------------------------------

    def _uniform(self) -> list[int]:
        n_edges, n_ops = self.net.alphas.shape
        return torch.randint(0, n_ops, (n_edges,), generator=self.g, device=self.g.device).tolist()

    def _gumbel(self) -> tuple[torch.Tensor, list[int]]:
        """GDAS: hard one-hot sample with the softmax's gradient (straight-through), and its index."""
        alphas = self.net.alphas
        while True:
            gumbels = -torch.empty_like(alphas).exponential_(generator=self.g).log()
            probs = F.softmax((alphas.log_softmax(dim=1) + gumbels) / self.tau, dim=1)
            if torch.isfinite(probs).all():  # the reference code redraws on inf/NaN as well
                break
        index = probs.argmax(dim=1)
        hard = torch.zeros_like(probs).scatter_(1, index[:, None], 1.0)
        return hard - probs.detach() + probs, index.tolist()

    def _forward(self, x: torch.Tensor, path: list[int] | None = None) -> torch.Tensor:
        if self.method in ("darts", "darts2"):
            return self.net(x, weights=F.softmax(self.net.alphas, dim=1))
        if self.method == "gdas":
            hard, index = self._gumbel()
            return self.net(x, weights=hard, index=index)
        return self.net(x, index=path if path is not None else self._uniform())

    # -- one epoch -----------------------------------------------------------------------

    def epoch(self, epoch: int) -> dict[str, Any]:
        s = self.s
        if self.method == "gdas":
            # Linear from tau_max at the first epoch to tau_min at the last (reference GDAS.py).
            self.tau = s.tau_max - (s.tau_max - s.tau_min) * (epoch - 1) / max(s.epochs - 1, 1)
        self.net.train()
        loss_sum, correct, seen, arch_loss = 0.0, 0, 0, 0.0
        for _ in range(self.steps_per_epoch):
            x, y = self.train.next()
            path = None
            if self.controller is not None:
                with torch.no_grad():
                    _, _, path = self.controller(self.g)
            for group in self.w_opt.param_groups:
                group["lr"] = lr_at(self.step, self.total_steps, 0, s)  # type: ignore[arg-type]
            self.w_opt.zero_grad(set_to_none=True)
            logits = self._forward(x, path)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.weights(), s.grad_clip)
            self.w_opt.step()
            self.step += 1
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.detach().argmax(1) == y).sum())
            seen += len(y)
            if self.method in ("darts", "gdas"):
                xv, yv = self.valid.next()
                self.a_opt.zero_grad(set_to_none=True)
                a_loss = F.cross_entropy(self._forward(xv), yv)
                a_loss.backward()
                self.a_opt.step()
                arch_loss += float(a_loss.detach())
            elif self.method == "darts2":
                arch_loss += self._darts2_arch_step(x, y)
        record: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": loss_sum / seen,
            "train_acc": 100.0 * correct / seen,
        }
        if self.method in ("darts", "darts2", "gdas"):
            record["arch_loss"] = arch_loss / self.steps_per_epoch
            record["probs"] = F.softmax(self.net.alphas.detach(), dim=1).tolist()
            record["arch"] = self.net.argmax_arch()
            if self.method == "gdas":
                record["tau"] = self.tau
            return record
        if self.method == "enas":
            record["baseline"] = self._train_controller()
        samples = s.final_samples if epoch == s.epochs else s.derive_samples
        path, acc = self._best_of(samples)
        record["arch"], record["derive_valid_acc"] = self.net.layout.arch(path), acc
        return record

    def _darts2_arch_step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Second-order DARTS: the gradient of the valid loss after one virtual weight step,
        its Hessian-vector term by finite differences (Liu et al. 2019, eq. 7-8)."""
        weights, alpha = self.net.weights(), self.net.alphas
        xi = self.w_opt.param_groups[0]["lr"]
        xv, yv = self.valid.next()
        backup = [w.detach().clone() for w in weights]
        # The virtual step is on the train batch just used; x, y were normalised and augmented.
        grads = torch.autograd.grad(F.cross_entropy(self._forward(x), y), weights, allow_unused=True)
        with torch.no_grad():
            for w, g in zip(weights, grads):
                buf = self.w_opt.state.get(w, {}).get("momentum_buffer")
                step = (0 if g is None else g) + self.s.weight_decay * w
                w.sub_(xi * (step + (0 if buf is None else self.s.momentum * buf)))
        v_loss = F.cross_entropy(self._forward(xv), yv)
        grads = torch.autograd.grad(v_loss, [alpha, *weights], allow_unused=True)
        d_alpha, dw = grads[0], [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads[1:])]
        r = 0.01 / torch.sqrt(sum((g * g).sum() for g in dw))
        hessian = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for w, b, g in zip(weights, backup, dw):
                    w.copy_(b + sign * r * g)
            hessian.append(torch.autograd.grad(F.cross_entropy(self._forward(x), y), alpha)[0])
        with torch.no_grad():
            for w, b in zip(weights, backup):
                w.copy_(b)
        self.a_opt.zero_grad(set_to_none=True)
        alpha.grad = d_alpha - xi * (hessian[0] - hessian[1]) / (2 * r)
        self.a_opt.step()
        for w in weights:  # the virtual steps leave gradients behind; the weight step starts clean
            w.grad = None
        return float(v_loss.detach())

    def _train_controller(self) -> float:
        """REINFORCE on validation batches, as the reference ENAS.py: reward = batch accuracy +
        entropy bonus; the baseline moves towards the reward from the previous epoch's value."""
        c, ctl = self.s.controller, self.controller
        if ctl is None:
            raise RuntimeError("ENAS's controller step without a controller")
        self.net.eval()
        ctl.train()
        self.c_opt.zero_grad(set_to_none=True)
        previous, baseline = self.baseline, 0.0
        for step in range(c.train_steps * c.num_aggregate):
            x, y = self.valid.next()
            log_prob, entropy, path = ctl(self.g)
            with torch.no_grad():
                acc = (self.net(x, index=path).argmax(1) == y).float().mean()
            reward = acc + c.entropy_weight * entropy.detach()
            baseline = (
                float(acc)
                if previous is None
                else previous - (1 - c.baseline_decay) * (previous - float(reward))
            )
            loss = -log_prob * (reward - baseline) / c.num_aggregate
            loss.backward()
            if (step + 1) % c.num_aggregate == 0:
                torch.nn.utils.clip_grad_norm_(ctl.parameters(), 5.0)
                self.c_opt.step()
                self.c_opt.zero_grad(set_to_none=True)
        self.baseline = baseline
        return baseline

    @torch.no_grad()
    def _best_of(self, samples: int) -> tuple[list[int], float]:
        """The most accurate of ``samples`` sampled paths, each on its own validation batch."""
        self.net.eval()
        best: tuple[list[int], float] = ([], -1.0)
        for _ in range(samples):
            if self.controller is not None:
                self.controller.eval()
                path = self.controller(self.g)[2]
            else:
                path = self._uniform()
            x, y = self.valid.next(train_mode=False)
            acc = 100.0 * float((self.net(x, index=path).argmax(1) == y).float().mean())
            if acc > best[1]:
                best = (path, acc)
        return best
