"""Training one architecture with one seed under a protocol (torch).

On a GPU the whole dataset lives in GPU memory as uint8 and augmentation
(random crop with zero padding, horizontal flip) runs there on whole batches, so
a run never waits for a data loader; the forward pass runs under bf16 autocast
with channels_last tensors. On the CPU the same code runs in float32, and
``deterministic=True`` makes a run bit-reproducible.

Seeds: a run's seed feeds a ``numpy.random.SeedSequence`` whose children seed
the weight initialisation and the data order/augmentation (torch generators),
so a run never touches or depends on torch's global generator state.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasbench_suite.train.data import SPLIT_SEED, Split, TrainingData
from nasbench_suite.train.networks import build_network, input_side, network_stats
from nasbench_suite.train.protocols import Protocol
from nasbench_suite.train.specs import DatasetSpec

#: Metrics of a run: per-seed final values and per-epoch curves (``docs/trainer.md``).
SPLIT_METRICS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")


@dataclass(frozen=True)
class RunOptions:
    """How (not what) to train: device, compilation, determinism, sharing of the device.

    Attributes:
        device: ``cpu``, ``cuda`` or ``cuda:K``.
        compile: wrap the model in ``torch.compile``.
        deterministic: deterministic algorithms (CPU runs become bit-reproducible).
        jobs_per_device: how many runs share the device (recorded with the timings).
        threads: torch CPU threads of this process (0: leave torch's default).
    """

    device: str = "cpu"
    compile: bool = False
    deterministic: bool = False
    jobs_per_device: int = 1
    threads: int = 0


class DeviceData:
    """A :class:`TrainingData` moved to a device once: uint8 NCHW images, labels, normalisation."""

    def __init__(self, data: TrainingData, device: torch.device, side: int):
        self.device = device
        self.num_classes = data.num_classes
        mean, std = channel_stats(data.train.images)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.splits = {name: self._move(getattr(data, name), side) for name in ("train", "valid", "test")}
        #: Evaluation subsets (split -> indices) used before the last epoch, when the whole splits
        #: are kept for the last one (``Protocol.full_final_eval``).
        self.subsets: dict[str, torch.Tensor] = {}

    def _move(self, split: Split, side: int) -> tuple[torch.Tensor, torch.Tensor]:
        array = np.ascontiguousarray(split.images)
        if not array.flags.writeable:  # a read-only memory map of the cache: torch wants its own copy
            array = array.copy()
        images = torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()
        if images.shape[-1] != side:
            # Reduced-resolution proxies: resize once with area averaging, then store as uint8 again.
            images = F.interpolate(images.float(), size=(side, side), mode="area").round().clamp(0, 255)
            images = images.to(torch.uint8)
        labels = torch.tensor(np.asarray(split.labels), dtype=torch.int64)
        return images.to(self.device), labels.to(self.device)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() / 255.0 - self.mean) / self.std


def channel_stats(images: np.ndarray, chunk: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of uint8 images (N, H, W, C), scaled to [0, 1].

    Summed in float64 chunks: a float64 copy of CIFAR-10's training split would take 1.2 GB.
    """
    flat = np.asarray(images).reshape(-1, images.shape[-1])
    total = np.zeros(flat.shape[1])
    squares = np.zeros(flat.shape[1])
    for start in range(0, len(flat), chunk):
        block = flat[start : start + chunk].astype(np.float64)
        total += block.sum(axis=0)
        squares += (block**2).sum(axis=0)
    mean = total / len(flat)
    std = np.sqrt(np.maximum(squares / len(flat) - mean**2, 0.0))
    return mean / 255.0, std / 255.0


def augment(images: torch.Tensor, padding: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Random crop after zero padding by ``padding`` pixels, then a random horizontal flip, per image.

    Runs on whole uint8 batches (B, C, H, W) on their own device.
    """
    b, _, h, w = images.shape
    if padding:
        padded = F.pad(images, (padding, padding, padding, padding))
        dev = images.device
        oy = torch.randint(0, 2 * padding + 1, (b,), generator=generator, device=dev)
        ox = torch.randint(0, 2 * padding + 1, (b,), generator=generator, device=dev)
        rows = (oy[:, None] + torch.arange(h, device=dev))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=dev))[:, None, None, :]
        batch = torch.arange(b, device=dev)[:, None, None, None]
        chans = torch.arange(images.shape[1], device=dev)[None, :, None, None]
        images = padded[batch, chans, rows, cols]
    if flip:
        mask = torch.rand(b, generator=generator, device=images.device) < 0.5
        images = torch.where(mask[:, None, None, None], images.flip(3), images)
    return images


def hardware_description(device: torch.device, jobs_per_device: int = 1) -> str:
    """What the timings were measured on: device model, software, and how many runs shared it."""
    if device.type == "cuda":
        name = f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    else:
        name = f"{_cpu_model()} ({torch.get_num_threads()} threads)"
    shared = f", shared by {jobs_per_device} runs" if jobs_per_device > 1 else ""
    return f"{name}, torch {torch.__version__}{shared}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def lr_at(step: int, total: int, warmup: int, protocol: Protocol) -> float:
    """Learning rate at optimiser step ``step``: linear warm-up, then cosine from lr to min_lr."""
    if step < warmup:
        return protocol.lr * (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return protocol.min_lr + (protocol.lr - protocol.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def train_subset(n: int, fraction: float) -> np.ndarray:
    """Indices of the training images a protocol uses: a fixed share, the same for every run."""
    if fraction >= 1:
        return np.arange(n)
    rng = np.random.default_rng(SPLIT_SEED + 1)
    return np.sort(rng.permutation(n)[: max(1, round(n * fraction))])


def train_run(
    space: str,
    arch: Any,
    dataset: DatasetSpec,
    seed: int,
    protocol: Protocol,
    data: DeviceData,
    options: RunOptions | None = None,
) -> dict[str, Any]:
    """Train ``arch`` with ``seed`` under ``protocol``; return a JSON-able result.

    Returns:
        ``final`` (metric -> value after the last epoch, ``*_acc`` in percent, losses in
        nats, ``train_time_s`` summed over epochs, ``eval_time_s``), ``curves``
        (metric -> one value per epoch, None where not evaluated), ``params``,
        ``flops`` (per image), ``hardware`` and ``protocol_hash``.

    Raises:
        MalformedArchError, TrainConfigError: bad architecture or network settings.
    """
    options = options or RunOptions()
    # Thread count and deterministic mode are process-wide in torch: restore both so that a
    # run never changes what later code in the same process (a test session, a notebook) does.
    previous_threads = torch.get_num_threads()
    if options.threads:
        torch.set_num_threads(options.threads)
    previous = torch.are_deterministic_algorithms_enabled()
    if options.deterministic:
        if data.device.type == "cuda":
            # cuBLAS is deterministic only with a fixed workspace; it must be set before
            # cuBLAS starts, which in a fresh worker process is the first run.
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    try:
        return _train(space, arch, dataset, seed, protocol, data, options)
    finally:
        torch.use_deterministic_algorithms(previous)
        torch.set_num_threads(previous_threads)


def _run_clock(device: torch.device) -> Callable[[], float]:
    """The clock that times epochs: the process's CPU time for a one-thread CPU run, else wall time.

    A one-thread CPU run's CPU time equals its wall time on an idle core, and unlike wall time it
    does not grow when other processes share the core, so a table trained on a busy machine still
    charges searches what the training costs. Several threads (CPU time sums them) and devices
    (the host waits) are timed by the wall clock.
    """
    if device.type == "cpu" and torch.get_num_threads() == 1:
        return time.process_time
    return time.perf_counter


def _train(
    space: str,
    arch: Any,
    dataset: DatasetSpec,
    seed: int,
    protocol: Protocol,
    data: DeviceData,
    options: RunOptions,
) -> dict[str, Any]:
    device = data.device
    init_seed, data_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(init_seed)
        model = build_network(space, arch, dataset, protocol.network)
    # Measured on this model (NB101): building a second one would draw from torch's global generator.
    stats = network_stats(space, arch, dataset, protocol.network, model=model)
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    if cuda:
        # Input shapes never change within a run, so cuDNN's autotuner pays off after the
        # first batches; it picks non-deterministic kernels, hence only outside deterministic mode.
        torch.backends.cudnn.benchmark = not options.deterministic
    model = model.to(device=device, memory_format=memory_format)
    step_model = torch.compile(model) if options.compile else model
    optimiser = torch.optim.SGD(
        model.parameters(),
        lr=protocol.lr,
        momentum=protocol.momentum,
        nesterov=protocol.nesterov,
        weight_decay=protocol.weight_decay,
    )
    generator = torch.Generator(device=device)
    generator.manual_seed(data_seed)
    train_x, train_y = data.splits["train"]
    subset = torch.from_numpy(train_subset(len(train_y), protocol.train_fraction)).to(device)
    steps_per_epoch = math.ceil(len(subset) / protocol.batch_size)
    total_steps = protocol.epochs * steps_per_epoch
    warmup = protocol.warmup_epochs * steps_per_epoch
    eval_epochs = set(protocol.eval_epochs())
    curves: dict[str, list[float | None]] = {m: [] for m in (*SPLIT_METRICS, "epoch_train_time_s")}
    eval_time = 0.0
    step = 0
    clock = _run_clock(device)
    for epoch in range(1, protocol.epochs + 1):
        model.train()
        _sync(device)
        start = clock()
        order = subset[torch.randperm(len(subset), generator=generator, device=device)]
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        for first in range(0, len(order), protocol.batch_size):
            idx = order[first : first + protocol.batch_size]
            x = augment(train_x[idx], protocol.crop_padding, protocol.flip, generator)
            x = data.normalise(x).contiguous(memory_format=memory_format)
            y = train_y[idx]
            for group in optimiser.param_groups:
                group["lr"] = lr_at(step, total_steps, warmup, protocol)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda):
                logits = step_model(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=protocol.label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            step += 1
            # Accumulate on the device: no host synchronisation inside the epoch.
            loss_sum += loss.detach() * len(idx)
            correct += (logits.detach().argmax(1) == y).sum()
        _sync(device)
        curves["epoch_train_time_s"].append(clock() - start)
        curves["train_loss"].append(float(loss_sum) / len(order))
        curves["train_acc"].append(100.0 * float(correct) / len(order))
        start = clock()
        for split in ("valid", "test"):
            if epoch in eval_epochs:
                whole = epoch == protocol.epochs  # the last epoch: the whole split, if kept
                loss_value, acc = evaluate(step_model, data, split, memory_format, whole)
            else:
                loss_value, acc = None, None
            curves[f"{split}_loss"].append(loss_value)
            curves[f"{split}_acc"].append(acc)
        _sync(device)
        eval_time += clock() - start
    final = {m: curves[m][-1] for m in SPLIT_METRICS}
    final["train_time_s"] = float(sum(curves["epoch_train_time_s"]))  # type: ignore[arg-type]
    final["eval_time_s"] = eval_time
    return {
        "final": final,
        "curves": curves,
        "params": stats.params,
        "flops": stats.flops,
        "hardware": hardware_description(device, options.jobs_per_device),
        "protocol_hash": protocol.hash,
    }


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    data: DeviceData,
    split: str,
    memory_format: torch.memory_format,
    whole: bool = False,
) -> tuple[float, float]:
    """Mean cross-entropy (nats) and accuracy (percent) of ``model`` on a split (its evaluation
    subset unless ``whole``), in eval mode."""
    model.eval()
    images, labels = data.splits[split]
    subset = None if whole else data.subsets.get(split)
    if subset is not None:
        images, labels = images[subset], labels[subset]
    cuda = data.device.type == "cuda"
    loss_sum, correct = torch.zeros((), device=data.device), torch.zeros((), device=data.device)
    for first in range(0, len(labels), 1024):
        x = data.normalise(images[first : first + 1024]).contiguous(memory_format=memory_format)
        y = labels[first : first + 1024]
        with torch.autocast(device_type=data.device.type, dtype=torch.bfloat16, enabled=cuda):
            logits = model(x).float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    return float(loss_sum) / len(labels), 100.0 * float(correct) / len(labels)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def eval_subset(n: int, size: int, offset: int) -> np.ndarray:
    """Indices of the ``size`` evaluation images a protocol uses (0 or >= n: all): fixed, sorted."""
    if size <= 0 or size >= n:
        return np.arange(n)
    rng = np.random.default_rng(SPLIT_SEED + offset)
    return np.sort(rng.permutation(n)[:size])


def prepare_data(
    data: TrainingData, space: str, dataset: DatasetSpec, protocol: Protocol, device: str
) -> DeviceData:
    """Move ``data`` to ``device`` at the input side the protocol's network takes, with the
    protocol's evaluation subsets (``valid_images``, ``test_images``) of the valid and test splits;
    the whole splits stay there too when the protocol evaluates its last epoch on them."""
    keep_full = protocol.full_final_eval
    subsets = {
        "valid": eval_subset(len(data.valid.labels), protocol.valid_images, 2),
        "test": eval_subset(len(data.test.labels), protocol.test_images, 3),
    }
    if not keep_full:
        valid, test = data.valid.take(subsets["valid"]), data.test.take(subsets["test"])
        data = TrainingData(data.name, data.num_classes, data.train, valid, test, data.source)
    moved = DeviceData(data, torch.device(device), input_side(space, dataset, protocol.network))
    if keep_full:
        moved.subsets = {
            split: torch.from_numpy(idx).to(moved.device)
            for split, idx in subsets.items()
            if len(idx) < len(moved.splits[split][1])
        }
    return moved
