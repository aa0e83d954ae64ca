"""The Benchmark interface: one query API over tables, surrogates and live training.

A benchmark answers "what would training this architecture on this dataset have
given, and what would it have cost?" for a seed policy:

- a stored seed (an ``int``): that run's results;
- ``"mean"``: the mean over the stored seeds of each metric (NaNs ignored);
- ``"sample"``: one stored seed drawn with the caller's ``numpy.random.Generator``
  (deterministic for a given generator state): what a real training run would see.

The cost (``cost_s``) is the simulated training time in seconds: the stored
training time of the run (for ``"mean"``, the mean over seeds; at an
intermediate ``epoch``, the time spent up to and including that epoch).

Optional capability: ``predict_dist`` (the predictive mean and standard deviation of
one training run) is offered by backends whose ``supports_predict_dist`` is true (the
surrogate); on the others it raises :class:`PredictDistUnsupportedError`. Callers check
the flag rather than probing for the method.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from nasbench_suite.errors import NasbenchError
from nasbench_suite.spaces.base import SearchSpace

if TYPE_CHECKING:
    import pandas as pd

SeedPolicy = int | Literal["mean", "sample"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One answer of ``Benchmark.query``.

    Attributes:
        arch: the stored key of the architecture that answered.
        dataset: dataset name.
        seed: the seed whose run answered, or ``"mean"``.
        epoch: the epoch the metrics are taken at (``None``: end of training).
        metrics: metric name -> value (NaN where not measured).
        cost_s: simulated training cost in seconds (NaN if unknown).
    """

    arch: str
    dataset: str
    seed: int | str
    epoch: int | None
    metrics: dict[str, float]
    cost_s: float

    def __getitem__(self, metric: str) -> float:
        return self.metrics[metric]


class PredictDistUnsupportedError(NasbenchError, NotImplementedError):
    """The benchmark offers no predictive distribution (``supports_predict_dist`` is false)."""

    def __init__(self, benchmark: object):
        self.benchmark = benchmark
        super().__init__(
            f"{benchmark!r} has no predictive distribution (predict_dist); a table answers with its "
            "stored seeds instead"
        )


class Benchmark(ABC):
    """What every benchmark backend (table, surrogate, live trainer) provides."""

    #: Whether :meth:`predict_dist` is offered; a backend that implements it sets this.
    supports_predict_dist: ClassVar[bool] = False
    #: Whether ``seed="sample"`` draws fresh seed noise on every query (a surrogate: its
    #: seed mean is then an expectation no observation shares a draw with); false where
    #: a sample is one of a few stored runs (a table).
    fresh_seed_noise: ClassVar[bool] = False

    @property
    @abstractmethod
    def space(self) -> SearchSpace:
        """The search space of the architectures it answers for."""

    @property
    @abstractmethod
    def datasets(self) -> list[str]:
        """Dataset names, sorted."""

    @abstractmethod
    def seeds(self, dataset: str) -> tuple[int, ...]:
        """Stored training seeds of ``dataset``."""

    @abstractmethod
    def epochs(self, dataset: str) -> tuple[int, ...]:
        """Epochs at which per-epoch results can be queried (empty: final results only)."""

    @abstractmethod
    def metric_names(self, dataset: str) -> list[str]:
        """Every metric ``query`` can return for ``dataset``."""

    @abstractmethod
    def query(
        self,
        arch: Any,
        dataset: str,
        seed: SeedPolicy = "mean",
        *,
        epoch: int | None = None,
        rng: np.random.Generator | None = None,
        metrics: Sequence[str] | str | None = None,
    ) -> QueryResult:
        """Results of one architecture.

        Args:
            arch: an architecture of the space or its text form.
            dataset: dataset name.
            seed: a stored seed, ``"mean"`` or ``"sample"`` (needs ``rng``).
            epoch: 1-based epoch for per-epoch results; ``None`` for the end of training.
            rng: generator for ``seed="sample"``.
            metrics: names to return; ``None`` for the per-seed training results,
                ``"all"`` for every metric of the dataset.

        Raises:
            MalformedArchError, UnknownArchError, UnknownDatasetError,
            UnknownSeedError, UnknownEpochError, UnknownMetricError.
        """

    @abstractmethod
    def query_batch(
        self,
        archs: Sequence[Any],
        dataset: str,
        seed: SeedPolicy = "mean",
        *,
        epoch: int | None = None,
        rng: np.random.Generator | None = None,
        metrics: Sequence[str] | str | None = None,
    ) -> pd.DataFrame:
        """Vectorised ``query``: one row per architecture, in order.

        Columns: ``arch`` (stored key; a ``Categorical`` over the keys for a
        table), ``seed`` (the seed that answered, -1 for ``"mean"``), one column
        per metric, ``cost_s``. Same arguments and errors as ``query``.
        """

    def predict_dist(
        self, archs: Sequence[Any], dataset: str, metric: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predicted mean and standard deviation of one training run's ``metric`` (optional).

        Args:
            archs: architectures of the space (or text forms).
            dataset: dataset name.
            metric: a metric of the dataset (default: its accuracy metric).

        Returns:
            ``(mean, std)``, each ``(n,)``, in the metric's units.

        Raises:
            PredictDistUnsupportedError: the backend has none (``supports_predict_dist`` false).
        """
        raise PredictDistUnsupportedError(self)

    def arch_seeds(self, arch: Any, dataset: str) -> tuple[int, ...]:
        """The seeds with a run of ``arch`` on ``dataset`` (default: every seed of the dataset)."""
        self.space.key(arch)
        return tuple(self.seeds(dataset))

    def seed_matrix(self, archs: Sequence[Any], dataset: str, metric: str) -> np.ndarray:
        """``metric`` of every stored seed of ``archs``: an ``(n, S)`` array over
        ``seeds(dataset)``, NaN where a run is missing. The default queries one seed at a time."""
        columns = [
            self.query_batch(archs, dataset, seed, metrics=[metric])[metric].to_numpy(dtype=float)
            for seed in self.seeds(dataset)
        ]
        return np.column_stack(columns) if columns else np.zeros((len(archs), 0))

    def reference_archs(self, dataset: str) -> list[str]:
        """Keys of the architectures over which "the best in the benchmark" is taken.

        Regret is measured against the best seed-mean result over these. The default
        is every architecture of the space (``space.enumerate()``); a table returns
        its stored architectures that have a result for ``dataset``.
        """
        return [self.space.key(arch) for arch in self.space.enumerate()]

    def identity(self) -> dict[str, str]:
        """What answered, for reports: ``kind`` (``"table"``, ``"surrogate"``, or the class
        name), ``source`` (a file or folder name, or a shipped name) and ``checksum`` (of the
        content, ``"unknown"`` where the backend has none)."""
        return {"kind": type(self).__name__, "source": repr(self), "checksum": "unknown"}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files or workers held by the backend."""

    def __enter__(self) -> Benchmark:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
