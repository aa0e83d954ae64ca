"""Datasets the trainer knows: class count, input resolution, channels (torch-free).

The names are the NB201 benchmark's own (``cifar10-valid`` is a split of the
CIFAR-10 training set, see ``docs/trainer.md``); ``synthetic`` is random data for
tests. Networks and counters take a :class:`DatasetSpec` so that a parameter or
FLOP count never needs torch or the data itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasbench_suite.train.errors import TrainConfigError


@dataclass(frozen=True)
class DatasetSpec:
    """Shape of a dataset as a network sees it.

    Attributes:
        name: the dataset's name in tables.
        num_classes: number of classes (size of the classifier).
        input_size: side of the square input images, in pixels.
        channels: colour channels of the input.
    """

    name: str
    num_classes: int
    input_size: int
    channels: int = 3


DATASETS: dict[str, DatasetSpec] = {
    "cifar10": DatasetSpec("cifar10", 10, 32),
    "cifar10-valid": DatasetSpec("cifar10-valid", 10, 32),
    "cifar100": DatasetSpec("cifar100", 100, 32),
    "ImageNet16-120": DatasetSpec("ImageNet16-120", 120, 16),
    "synthetic": DatasetSpec("synthetic", 10, 32),
}


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of a known dataset.

    Raises:
        TrainConfigError: for a name not in :data:`DATASETS`.
    """
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise TrainConfigError(f"unknown dataset {name!r}; the trainer knows: {known}") from None
