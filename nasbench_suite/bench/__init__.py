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
            holding a ``manifest.json``); the name of a shipped benchmark (``"nb201"``:
            the NB201 surrogate installed with the package, all three NB201 datasets)
            when no file or folder of that name exists; or an already open Benchmark
            (returned as is).

    Raises:
        TableNotFoundError, NotATableError, TableCorruptError, TableSchemaError,
        SurrogateArtefactError.
    """
    if isinstance(source, Benchmark):
        return source
    path = resolve_source(source)
    if path.is_dir():
        from nasbench_suite.bench.surrogate import SurrogateBenchmark

        return SurrogateBenchmark(path, **options)
    return TabularBenchmark(path, **options)


def resolve_source(source: str | Path) -> Path:
    """The file or folder ``source`` names: the path itself when it exists, else the shipped
    benchmark of that name (a bare name such as ``"nb201"``, not a path with folders).

    Raises:
        TableNotFoundError: neither a file, a folder nor a shipped name (listing the shipped ones).
        SurrogateArtefactError: a shipped name whose package data is incomplete.
    """
    path = Path(source)
    if path.exists():
        return path
    from nasbench_suite.surrogates import artefact

    shipped = artefact.shipped_path(str(source)) if len(path.parts) == 1 else None
    if shipped is not None:
        return shipped
    known = ", ".join(sorted({*artefact.SHIPPED, *artefact.shipped_names()}))
    raise TableNotFoundError(path, f"no such table file or surrogate folder; shipped benchmarks: {known}")


__all__ = [
    "Benchmark",
    "PredictDistUnsupportedError",
    "QueryResult",
    "SeedPolicy",
    "SeedPolicyError",
    "TabularBenchmark",
    "open_benchmark",
    "resolve_source",
]
