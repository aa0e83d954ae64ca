"""A Benchmark backed by a table file.

Speed comes from doing the work once: on the first query of a (dataset, metric
set) the needed columns are read, checked and stacked into one (N, S, M) array
(plus its seed mean), so a query is a dict lookup and one row of numpy indexing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_suite import spaces
from nasbench_suite.bench.base import Benchmark, QueryResult, SeedPolicy
from nasbench_suite.errors import (
    MalformedArchError,
    NasbenchError,
    UnknownArchError,
    UnknownEpochError,
    UnknownMetricError,
    UnknownSeedError,
)
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.tabular.reader import DatasetInfo, Table

if TYPE_CHECKING:
    import pandas as pd

COST_METRIC = "train_time_s"
EPOCH_COST_METRIC = "epoch_train_time_s"


class SeedPolicyError(NasbenchError, ValueError):
    """A seed policy that is neither a stored seed, 'mean' nor 'sample' (or 'sample' without rng)."""


@dataclass
class _View:
    """Stacked arrays of one (dataset, epoch, metric set): what queries index into."""

    seed_names: list[str]  # metrics that vary by seed, columns of `per_seed`
    arch_names: list[str]  # per-arch and static metrics, columns of `per_arch`
    per_seed: np.ndarray  # (N, S, M) float64
    per_seed_mean: np.ndarray  # (N, M)
    per_arch: np.ndarray  # (N, K)
    cost: np.ndarray  # (N, S) seconds
    cost_mean: np.ndarray  # (N,)
    present: np.ndarray  # (N, S) bool
    names: list[str]  # seed_names + arch_names


class TabularBenchmark(Benchmark):
    """Queries answered from a table file (see :class:`Benchmark` for the contract)."""

    def __init__(self, path: str | Path):
        self.table = Table(path)
        self._views: dict[tuple[str, int | None, tuple[str, ...] | str | None], _View] = {}

    # --- description ----------------------------------------------------------

    @cached_property
    def space(self) -> SearchSpace:
        return spaces.get(self.table.space, **self.table.space_config)

    @property
    def datasets(self) -> list[str]:
        return sorted(self.table.datasets)

    def seeds(self, dataset: str) -> tuple[int, ...]:
        return self.table.dataset(dataset).seeds

    def epochs(self, dataset: str) -> tuple[int, ...]:
        return self.table.dataset(dataset).epochs

    def metric_names(self, dataset: str) -> list[str]:
        return sorted({*self.table.dataset(dataset).metric_names(), *self.table.static_metrics})

    def reference_archs(self, dataset: str) -> list[str]:
        """The stored architectures with at least one run of ``dataset`` (all, if it has no seeds)."""
        keys = self.table.keys
        if not self.seeds(dataset):
            return list(keys)
        has_run = self.table.present(dataset).any(axis=1)
        return [key for key, ok in zip(keys, has_run.tolist()) if ok]

    def arch_seeds(self, arch: Any, dataset: str) -> tuple[int, ...]:
        seeds = self.table.dataset(dataset).seeds
        present = self.table.present(dataset)[self._row(arch)]
        return tuple(int(s) for s, ok in zip(seeds, present.tolist()) if ok)

    def seed_matrix(self, archs: Sequence[Any], dataset: str, metric: str) -> np.ndarray:
        view = self._view(dataset, None, [metric])
        if not view.seed_names:
            raise UnknownMetricError(metric, view.seed_names)
        rows = self._rows(archs)
        return np.where(view.present[rows], view.per_seed[rows, :, 0], np.nan)

    def identity(self) -> dict[str, str]:
        """``kind`` "table", the file name and the manifest checksum (BLAKE2b-128 of the canonical
        JSON manifest, which holds the checksum of every array: it identifies the content)."""
        from nasbench_suite.tabular import layout

        return {
            "kind": "table",
            "source": Path(self.table.path).name,
            "checksum": layout.json_checksum(self.table.manifest),
        }

    def close(self) -> None:
        self.table.close()

    def __repr__(self) -> str:
        return f"TabularBenchmark({str(self.table.path)!r})"

    # --- queries --------------------------------------------------------------

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
        view = self._view(dataset, epoch, metrics)
        row = self._row(arch)
        if seed == "mean":
            if not view.present[row].any() and len(view.seed_names):
                raise UnknownSeedError("mean", self.seeds(dataset), f"(no run of {self.table.keys[row]!r})")
            values = view.per_seed_mean[row].tolist() + view.per_arch[row].tolist()
            return QueryResult(
                self.table.keys[row],
                dataset,
                "mean",
                epoch,
                dict(zip(view.names, values)),
                float(view.cost_mean[row]),
            )
        col = self._seed_column(view, row, dataset, seed, rng)
        values = view.per_seed[row, col].tolist() + view.per_arch[row].tolist()
        return QueryResult(
            self.table.keys[row],
            dataset,
            self.table.dataset(dataset).seeds[col],
            epoch,
            dict(zip(view.names, values)),
            float(view.cost[row, col]),
        )

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
        import pandas as pd  # imported here: single queries should not pay for pandas

        view = self._view(dataset, epoch, metrics)
        rows = self._rows(archs)
        seeds = np.asarray(self.table.dataset(dataset).seeds, dtype=np.int64)
        if seed == "mean":
            if len(view.seed_names) and not view.present[rows].any(axis=1).all():
                bad = int(rows[~view.present[rows].any(axis=1)][0])
                raise UnknownSeedError("mean", tuple(seeds), f"(no run of {self.table.keys[bad]!r})")
            seed_values = view.per_seed_mean[rows]
            cost = view.cost_mean[rows]
            seed_column = np.full(len(rows), -1, dtype=np.int64)
        else:
            cols = self._seed_columns(view, rows, dataset, seed, rng)
            seed_values = view.per_seed[rows, cols]
            cost = view.cost[rows, cols]
            seed_column = seeds[cols]
        columns: dict[str, Any] = {"arch": self._keys_array[rows], "seed": seed_column}
        for j, name in enumerate(view.seed_names):
            columns[name] = seed_values[:, j]
        arch_values = view.per_arch[rows]
        for j, name in enumerate(view.arch_names):
            columns[name] = arch_values[:, j]
        columns["cost_s"] = cost
        return pd.DataFrame(columns, copy=False)

    # --- rows -------------------------------------------------------------------

    def _row(self, arch: Any) -> int:
        if isinstance(arch, str):
            row = self.table.row_of.get(arch)
            if row is not None:
                return row
        key = self.space.key(arch)  # parses and validates: MalformedArchError names the problem
        row = self.table.row_of.get(key)
        if row is None:
            raise self._unknown(arch, key)
        return row

    def _rows(self, archs: Sequence[Any]) -> np.ndarray:
        if isinstance(archs, (str, bytes)):
            raise MalformedArchError(self.table.space, archs, "query_batch takes a sequence of architectures")
        import pandas as pd

        texts = [a if isinstance(a, str) else None for a in archs]
        rows = self._key_index.get_indexer(pd.Index(texts, dtype=object)) if texts else np.zeros(0, int)
        rows = np.asarray(rows, dtype=np.int64)
        for i in np.flatnonzero(rows < 0):
            rows[i] = self._row(archs[i])
        return rows

    @cached_property
    def _keys_array(self) -> np.ndarray:
        return np.asarray(self.table.keys, dtype=object)

    @cached_property
    def _key_index(self) -> pd.Index:
        import pandas as pd

        return pd.Index(self.table.keys, dtype=object)

    def _unknown(self, arch: Any, key: str) -> UnknownArchError:
        shown = arch if isinstance(arch, str) else key
        where = f"the table {self.table.path.name}"
        try:
            canonical = self.space.canonical_key(arch)
        except NasbenchError:
            canonical = None
        twin = self.table.rows_by_canonical.get(canonical) if canonical else None
        if twin is not None:
            where += f" (an isomorphic architecture is: {self.table.keys[twin]})"
        return UnknownArchError(shown, where)

    # --- seeds ------------------------------------------------------------------

    def _seed_column(
        self, view: _View, row: int, dataset: str, seed: SeedPolicy, rng: np.random.Generator | None
    ) -> int:
        seeds = self.table.dataset(dataset).seeds
        present = view.present[row]
        if seed == "sample":
            if rng is None:
                raise SeedPolicyError("seed='sample' needs rng=numpy.random.Generator")
            cols = np.flatnonzero(present)
            if len(cols) == 0:
                raise UnknownSeedError("sample", seeds, f"(no run of {self.table.keys[row]!r})")
            return int(cols[rng.integers(len(cols))])
        col = self._column_of_seed(seeds, seed)
        if not present[col]:
            have = [s for s, p in zip(seeds, present) if p]
            raise UnknownSeedError(seed, tuple(have), f"for {self.table.keys[row]!r}")
        return col

    def _seed_columns(
        self, view: _View, rows: np.ndarray, dataset: str, seed: SeedPolicy, rng: np.random.Generator | None
    ) -> np.ndarray:
        seeds = self.table.dataset(dataset).seeds
        present = view.present[rows]
        if seed == "sample":
            if rng is None:
                raise SeedPolicyError("seed='sample' needs rng=numpy.random.Generator")
            counts = present.sum(axis=1)
            if (counts == 0).any():
                bad = int(rows[np.flatnonzero(counts == 0)[0]])
                raise UnknownSeedError("sample", seeds, f"(no run of {self.table.keys[bad]!r})")
            # The k-th present seed of each row, k uniform in [0, count).
            k = (rng.random(len(rows)) * counts).astype(np.int64)
            return np.argmax(np.cumsum(present, axis=1) > k[:, None], axis=1)
        col = self._column_of_seed(seeds, seed)
        if not present[:, col].all():
            bad = int(rows[np.flatnonzero(~present[:, col])[0]])
            have = [s for s, p in zip(seeds, view.present[bad]) if p]
            raise UnknownSeedError(seed, tuple(have), f"for {self.table.keys[bad]!r}")
        return np.full(len(rows), col, dtype=np.int64)

    @staticmethod
    def _column_of_seed(seeds: tuple[int, ...], seed: Any) -> int:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise SeedPolicyError(f"seed must be a stored seed (int), 'mean' or 'sample', not {seed!r}")
        try:
            return seeds.index(int(seed))
        except ValueError:
            raise UnknownSeedError(seed, seeds) from None

    # --- views ------------------------------------------------------------------

    def _view(self, dataset: str, epoch: int | None, metrics: Sequence[str] | str | None) -> _View:
        cache_key = (
            dataset,
            epoch,
            metrics if metrics is None or isinstance(metrics, str) else tuple(metrics),
        )
        view = self._views.get(cache_key)
        if view is None:
            view = self._build_view(self.table.dataset(dataset), epoch, metrics)
            self._views[cache_key] = view
        return view

    def _build_view(self, info: DatasetInfo, epoch: int | None, metrics: Sequence[str] | str | None) -> _View:
        t = self.table
        n, s = t.n_archs, len(info.seeds)
        epoch_index = self._epoch_index(info, epoch)
        seed_source = info.curves if epoch_index is not None else info.per_seed
        if metrics is None:
            seed_names = sorted(seed_source) if (s or not info.per_arch) else []
            arch_names = [] if seed_names else sorted(info.per_arch)
        elif metrics == "all":
            seed_names = sorted(seed_source)
            arch_names = sorted(info.per_arch) + sorted(t.static_metrics)
        else:
            if isinstance(metrics, str):
                raise UnknownMetricError(metrics, ["all", *self.metric_names(info.name)])
            seed_names, arch_names = [], []
            for m in metrics:
                if m in seed_source:
                    seed_names.append(m)
                elif m in info.per_arch or m in t.static_metrics:
                    arch_names.append(m)
                else:
                    known = sorted({*seed_source, *info.per_arch, *t.static_metrics})
                    raise UnknownMetricError(m, known)

        def seed_column(name: str) -> np.ndarray:
            if epoch_index is None:
                return t.metric(info.name, name, "per_seed")
            return t.metric(info.name, name, "curves")[:, :, epoch_index]

        per_seed = np.empty((n, s, len(seed_names)))
        for j, name in enumerate(seed_names):
            per_seed[:, :, j] = seed_column(name)
        per_arch = np.empty((n, len(arch_names)))
        for j, name in enumerate(arch_names):
            per_arch[:, j] = (
                t.metric(info.name, name, "per_arch") if name in info.per_arch else t.static(name)
            )
        present = t.present(info.name)
        cost = self._cost(info, epoch_index)
        return _View(
            seed_names=seed_names,
            arch_names=arch_names,
            per_seed=per_seed,
            per_seed_mean=_nanmean(per_seed, axis=1),
            per_arch=per_arch,
            cost=cost,
            cost_mean=_nanmean(cost, axis=1),
            present=present,
            names=seed_names + arch_names,
        )

    def _epoch_index(self, info: DatasetInfo, epoch: int | None) -> int | None:
        if epoch is None:
            return None
        if isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, (int, np.integer)):
            raise UnknownEpochError(epoch, "an epoch is a positive integer")
        if info.epochs:
            if int(epoch) not in info.epochs:
                raise UnknownEpochError(
                    epoch, f"dataset {info.name!r} stores epochs {info.epochs[0]}..{info.epochs[-1]}"
                )
            return info.epochs.index(int(epoch))
        final = info.protocol.get("epochs")
        if final is not None and int(epoch) == int(final):
            return None
        raise UnknownEpochError(
            epoch, f"dataset {info.name!r} stores only final results (epoch {final}), no per-epoch curves"
        )

    def _cost(self, info: DatasetInfo, epoch_index: int | None) -> np.ndarray:
        t = self.table
        shape = (t.n_archs, len(info.seeds))
        if epoch_index is not None and EPOCH_COST_METRIC in info.curves:
            per_epoch = t.metric(info.name, EPOCH_COST_METRIC, "curves")[:, :, : epoch_index + 1]
            total = per_epoch.sum(axis=2)  # NaN if any epoch's time is missing: not imputed
            return total
        if COST_METRIC in info.per_seed:
            final = t.metric(info.name, COST_METRIC, "per_seed")
            if epoch_index is not None:
                # Only a final time is stored: charge the fraction of epochs run.
                return final * (info.epochs[epoch_index] / info.epochs[-1])
            return final
        return np.full(shape, np.nan)


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    count = np.sum(~np.isnan(values), axis=axis)
    total = np.nansum(values, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
