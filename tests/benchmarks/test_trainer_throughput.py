"""Training throughput on the CPU: the trainer against a plain PyTorch loop, same work.

    python -m pytest tests/benchmarks/test_trainer_throughput.py --benchmark-enable

Both train the same NB201 network (the ``nb201-cpu`` protocol's: C=8, N=1, 16x16 inputs) on the
same 5,000 images, batch, SGD settings and cosine schedule, for one epoch, in one process with one
torch thread:

- ``trainer``: ``train_run`` (uint8 images resident, crop and flip on whole batches, losses
  accumulated without host synchronisation), its evaluation subsets switched off so that both
  time training only;
- ``plain_loop``: the way a PyTorch tutorial writes it: a ``Dataset`` of normalised float images
  whose ``__getitem__`` crops and flips each image (what torchvision's ``RandomCrop`` and
  ``RandomHorizontalFlip`` do), a shuffling ``DataLoader`` in the same process (no loader workers:
  one core each), ``loss.item()`` each step.

Images per second = 5,000 / median seconds; architectures per CPU-hour follow from the protocol's
epochs. In the fast suite (``--benchmark-disable``) each runs once on 256 images.
Figures: docs/performance.md and docs/trainer.md.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from nasbench_suite.train.data import synthetic_data  # noqa: E402
from nasbench_suite.train.networks import build_network  # noqa: E402
from nasbench_suite.train.protocols import load_protocol  # noqa: E402
from nasbench_suite.train.specs import dataset_spec  # noqa: E402
from nasbench_suite.train.trainer import RunOptions, lr_at, prepare_data, train_run  # noqa: E402

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Both sides time one thread; the suite's state guard wants the caller's count back."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _setup(benchmark):
    n = 256 if benchmark.disabled else 5000
    base = load_protocol("nb201-cpu")
    # One epoch, no evaluation: both sides time the same training work.
    protocol = dataclasses.replace(base, epochs=1, warmup_epochs=0, train_fraction=1.0, eval_every=1)
    raw = synthetic_data(num_classes=10, n_train=n, n_valid=10, n_test=10, size=32, seed=0)
    spec = dataset_spec("cifar10-valid")
    data = prepare_data(raw, "nb201", spec, protocol, "cpu")
    return protocol, spec, data, n


class _Augmented(torch.utils.data.Dataset):
    """Per-sample random crop (zero padding) and flip, as torchvision's transforms do in a Dataset."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, pad: int, flip: bool):
        self.images, self.labels, self.pad, self.flip = images, labels, pad, flip

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        x = self.images[i]
        if self.pad:
            side = x.shape[-1]
            x = F.pad(x, (self.pad,) * 4)
            dy, dx = np.random.randint(0, 2 * self.pad + 1, 2)
            x = x[:, dy : dy + side, dx : dx + side]
        if self.flip and np.random.rand() < 0.5:
            x = x.flip(2)
        return x, self.labels[i]


def plain_loop(protocol, spec, data) -> float:
    """One epoch the straightforward way; returns the mean training loss."""
    torch.manual_seed(0)
    model = build_network("nb201", ARCH, spec, protocol.network)
    images, labels = data.splits["train"]
    dataset = _Augmented(data.normalise(images), labels, protocol.crop_padding, protocol.flip)
    loader = torch.utils.data.DataLoader(dataset, batch_size=protocol.batch_size, shuffle=True)
    optimiser = torch.optim.SGD(
        model.parameters(),
        lr=protocol.lr,
        momentum=protocol.momentum,
        nesterov=protocol.nesterov,
        weight_decay=protocol.weight_decay,
    )
    steps = math.ceil(len(labels) / protocol.batch_size)
    model.train()
    losses = []
    for step, (x, y) in enumerate(loader):
        for group in optimiser.param_groups:
            group["lr"] = lr_at(step, steps, 0, protocol)
        loss = F.cross_entropy(model(x), y, label_smoothing=protocol.label_smoothing)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return float(np.mean(losses))


@pytest.mark.benchmark(group="train-one-epoch-nb201-cpu")
def test_trainer(benchmark):
    protocol, spec, data, n = _setup(benchmark)
    result = benchmark.pedantic(
        train_run,
        args=("nb201", ARCH, spec, 777, protocol, data, RunOptions(threads=1)),
        rounds=3,
        iterations=1,
    )
    assert len(result["curves"]["train_loss"]) == 1 and math.isfinite(result["final"]["train_loss"])
    benchmark.extra_info["images"] = n


@pytest.mark.benchmark(group="train-one-epoch-nb201-cpu")
def test_plain_loop(benchmark):
    protocol, spec, data, n = _setup(benchmark)
    loss = benchmark.pedantic(plain_loop, args=(protocol, spec, data), rounds=3, iterations=1)
    assert math.isfinite(loss)
    benchmark.extra_info["images"] = n
