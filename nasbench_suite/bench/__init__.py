"""Benchmarks: one query interface over tables (and, later, surrogates and live training)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasbench_suite.bench.base import Benchmark, QueryResult, SeedPolicy
from nasbench_suite.bench.tabular import SeedPolicyError, TabularBenchmark
from nasbench_suite.errors import TableNotFoundError


def open_benchmark(source: str | Path | Benchmark, **options: Any) -> Benchmark:
    """Open a benchmark.

    Args:
        source: path of a table file (``.h5``), or an already open Benchmark
            (returned as is).

    Raises:
        TableNotFoundError, NotATableError, TableCorruptError, TableSchemaError.
    """
    if isinstance(source, Benchmark):
        return source
    path = Path(source)
    if not path.exists():
        raise TableNotFoundError(path)
    return TabularBenchmark(path, **options)


__all__ = [
    "Benchmark",
    "QueryResult",
    "SeedPolicy",
    "SeedPolicyError",
    "TabularBenchmark",
    "open_benchmark",
]
