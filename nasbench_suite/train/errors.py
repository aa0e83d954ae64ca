"""Named exceptions of the trainer (torch-free)."""

from __future__ import annotations

from nasbench_suite.errors import NasbenchError


class TrainError(NasbenchError):
    """Base class of trainer errors caused by bad input."""


class TrainConfigError(TrainError, ValueError):
    """A protocol, network setting, dataset name or job list is invalid; the message names the value."""


class TrainDataError(TrainError, ValueError):
    """Training data cannot be read: missing file, bad checksum, wrong layout."""


class TorchMissingError(TrainError, ImportError):
    """The trainer needs torch, which is an optional extra (``pip install nasbench-suite[torch]``)."""

    def __init__(self, what: str):
        super().__init__(f"{what} needs torch: pip install 'nasbench-suite[torch]'")
