"""Benchmarks: one query interface over tables and surrogates (and, later, live training)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasbench_suite.bench.base import Benchmark, PredictDistUnsupportedError, QueryResult, SeedPolicy
from nasbench_suite.bench.tabular import SeedPolicyError, TabularBenchmark
from nasbench_suite.errors import TableNotFoundError


def open_benchmark(source: str | Path | Benchmark, **options: Any) -> Benchmark:
    """Open a benchmark.

    Args:
        source: path of a table file (``.h5``); a surrogate artefact directory (one
            holding a ``manifest.json``); the short name of a shipped surrogate
            (``"nb201"``: ``surrogates/nb201`` of the checkout, all three NB201
            datasets) when no file of that name exists; or an already open
            Benchmark (returned as is).

    Raises:
        TableNotFoundError, NotATableError, TableCorruptError, TableSchemaError,
        SurrogateArtefactError.
    """
    if isinstance(source, Benchmark):
        return source
    path = Path(source)
    if path.is_dir():
        from nasbench_suite.bench.surrogate import SurrogateBenchmark

        return SurrogateBenchmark(path, **options)
    if not path.exists():
        from nasbench_suite.surrogates import artefact

        shipped = artefact.shipped_path(source) if isinstance(source, str) else None
        if shipped is not None:
            from nasbench_suite.bench.surrogate import SurrogateBenchmark

            return SurrogateBenchmark(shipped, **options)
        known = ", ".join(sorted({*artefact.SHIPPED, *artefact.shipped_names()}))
        raise TableNotFoundError(path, f"no such table file or surrogate folder; shipped benchmarks: {known}")
    return TabularBenchmark(path, **options)


__all__ = [
    "Benchmark",
    "PredictDistUnsupportedError",
    "QueryResult",
    "SeedPolicy",
    "SeedPolicyError",
    "TabularBenchmark",
    "open_benchmark",
]
