"""A Benchmark backed by a table file.

Speed comes from doing the work once: on the first query of a (dataset, metric
set) the needed columns are read, checked and stacked into one (N, S, M) array
(plus its seed mean), so a query is a dict lookup and one row of numpy indexing.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_suite import spaces
from nasbench_suite.bench import _batch
from nasbench_suite.bench._views import View, build_view
from nasbench_suite.bench.base import Benchmark, QueryResult, SeedPolicy
from nasbench_suite.errors import (
    NasbenchError,
    UnknownArchError,
    UnknownMetricError,
    UnknownSeedError,
)
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.tabular.reader import Table

if TYPE_CHECKING:
    import pandas as pd


class SeedPolicyError(NasbenchError, ValueError):
    """A seed policy that is neither a stored seed, 'mean' nor 'sample' (or 'sample' without rng)."""


class TabularBenchmark(Benchmark):
    """Queries answered from a table file (see :class:`Benchmark` for the contract)."""

    def __init__(self, path: str | Path):
        self.table = Table(path)
        self._views: dict[tuple[str, int | None, tuple[str, ...] | str | None], View] = {}

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
        rows = _batch.rows_of(archs, self._key_lookup, self.table.space, self._row)
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
        """See :meth:`Benchmark.query_batch`; ``arch`` is a ``Categorical`` over the table's keys.

        Its values are the stored keys (compare, ``tolist()`` and group by them as
        strings); it takes 4 bytes a row where strings would take a copy each.
        ``archs`` may also be such a categorical (a previous result's column).
        """
        import pandas as pd  # imported here: single queries should not pay for pandas

        arrays = self.query_arrays(archs, dataset, seed, epoch=epoch, rng=rng, metrics=metrics)
        arrays["arch"] = _batch.categorical(arrays.pop("row"), self._keys_dtype)  # type: ignore[assignment]
        order = ["arch", *(k for k in arrays if k != "arch")]
        return pd.DataFrame({k: arrays[k] for k in order}, copy=False)

    def query_arrays(
        self,
        archs: Sequence[Any],
        dataset: str,
        seed: SeedPolicy = "mean",
        *,
        epoch: int | None = None,
        rng: np.random.Generator | None = None,
        metrics: Sequence[str] | str | None = None,
    ) -> dict[str, np.ndarray]:
        """:meth:`query_batch` without pandas: a dict of flat numpy arrays, one entry per row.

        Keys: ``row`` (int64, the row of ``self.table.keys``), ``seed`` (int64,
        -1 for ``"mean"``), one float64 array per metric, ``cost_s``. Same
        arguments and errors as :meth:`query_batch`.
        """
        view = self._view(dataset, epoch, metrics)
        rows = _batch.rows_of(archs, self._key_lookup, self.table.space, self._row)
        seeds = np.asarray(self.table.dataset(dataset).seeds, dtype=np.int64)
        if "has_run" not in view.batch:
            view.batch["has_run"] = view.present.any(axis=1)
            view.batch["mean"] = _batch.columns(view.per_seed_mean)
            view.batch["per_seed"] = _batch.columns(view.per_seed)
            view.batch["per_arch"] = _batch.columns(view.per_arch)
            view.batch["cost"] = np.ascontiguousarray(view.cost).reshape(-1)
        out: dict[str, np.ndarray] = {"row": rows}
        if seed == "mean":
            if len(view.seed_names) and not view.batch["has_run"][rows].all():
                bad = int(rows[~view.batch["has_run"][rows]][0])
                raise UnknownSeedError("mean", tuple(seeds), f"(no run of {self.table.keys[bad]!r})")
            out["seed"] = np.full(len(rows), -1, dtype=np.int64)
            out.update((name, col[rows]) for name, col in zip(view.seed_names, view.batch["mean"]))
            cost = view.cost_mean[rows]
        else:
            cols = self._seed_columns(view, rows, dataset, seed, rng)
            flat = rows * len(seeds) + cols
            out["seed"] = seeds[cols]
            out.update((name, col[flat]) for name, col in zip(view.seed_names, view.batch["per_seed"]))
            cost = view.batch["cost"][flat]
        out.update((name, col[rows]) for name, col in zip(view.arch_names, view.batch["per_arch"]))
        out["cost_s"] = cost
        return out

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

    @cached_property
    def _keys_dtype(self) -> pd.CategoricalDtype:
        import pandas as pd

        return pd.CategoricalDtype(self._key_index)

    @cached_property
    def _key_lookup(self) -> _batch.KeyLookup:
        return _batch.KeyLookup(self.table.keys)

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
        self, view: View, row: int, dataset: str, seed: SeedPolicy, rng: np.random.Generator | None
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
        self, view: View, rows: np.ndarray, dataset: str, seed: SeedPolicy, rng: np.random.Generator | None
    ) -> np.ndarray:
        seeds = self.table.dataset(dataset).seeds
        if seed == "sample":
            if rng is None:
                raise SeedPolicyError("seed='sample' needs rng=numpy.random.Generator")
            if "present_columns" not in view.batch:
                # Per row, the columns of its present seeds first (a stable sort keeps their order).
                # Flat, so that the draw is one 1-D gather (a 2-D fancy index costs twice as much).
                order = np.argsort(~view.present, axis=1, kind="stable")
                view.batch["present_columns"] = order.reshape(-1)
                view.batch["present_counts"] = view.present.sum(axis=1)
            counts = view.batch["present_counts"][rows]
            if (counts == 0).any():
                bad = int(rows[np.flatnonzero(counts == 0)[0]])
                raise UnknownSeedError("sample", seeds, f"(no run of {self.table.keys[bad]!r})")
            # The k-th present seed of each row, k uniform in [0, count).
            k = (rng.random(len(rows)) * counts).astype(np.int64)
            return view.batch["present_columns"][rows * len(seeds) + k]
        col = self._column_of_seed(seeds, seed)
        present = view.present[rows, col]
        if not present.all():
            bad = int(rows[np.flatnonzero(~present)[0]])
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

    def _view(self, dataset: str, epoch: int | None, metrics: Sequence[str] | str | None) -> View:
        cache_key = (
            dataset,
            epoch,
            metrics if metrics is None or isinstance(metrics, str) else tuple(metrics),
        )
        view = self._views.get(cache_key)
        if view is None:
            view = build_view(self.table, self.table.dataset(dataset), epoch, metrics)
            self._views[cache_key] = view
        return view
