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
            holding a ``manifest.json``: final results, or per-epoch learning curves);
            when no file or folder of that name exists, the name of a shipped benchmark:
            a surrogate (``"nb201"``: the NB201 surrogate installed with the package, all
            three NB201 datasets; ``"nb201-cpu-lc"``: the learning-curve surrogate of the
            project's own NB201 table) or a table the project built (``"nb201-cpu"``:
            ``tabular/nb201-cpu.h5``); or an already open Benchmark (returned as is).

    Raises:
        TableNotFoundError, NotATableError, TableCorruptError, TableSchemaError,
        SurrogateArtefactError.
    """
    if isinstance(source, Benchmark):
        return source
    path = resolve_source(source)
    if path.is_dir():
        from nasbench_suite.surrogates import artefact

        if artefact.read_manifest(path).get("kind") == artefact.CURVES:
            from nasbench_suite.bench.curve_surrogate import CurveSurrogateBenchmark

            return CurveSurrogateBenchmark(path, **options)
        from nasbench_suite.bench.surrogate import SurrogateBenchmark

        return SurrogateBenchmark(path, **options)
    return TabularBenchmark(path, **options)


def resolve_source(source: str | Path) -> Path:
    """The file or folder ``source`` names: the path itself when it exists, else the shipped
    benchmark of that name (a bare name such as ``"nb201"``, not a path with folders): a
    shipped surrogate artefact first, then a shipped table (``tabular/NAME.h5``).

    Raises:
        TableNotFoundError: neither a file, a folder nor a shipped name (listing the shipped ones).
        SurrogateArtefactError: a shipped name whose package data is incomplete.
    """
    path = Path(source)
    if path.exists():
        return path
    from nasbench_suite.surrogates import artefact
    from nasbench_suite.tabular import shipped

    bare = len(path.parts) == 1
    found = artefact.shipped_path(str(source)) if bare else None
    if found is None and bare:
        found = shipped.shipped_table(str(source))
    if found is not None:
        return found
    surrogates = ", ".join(sorted({*artefact.SHIPPED, *artefact.shipped_names()}))
    tables = ", ".join(shipped.shipped_table_names()) or "none in this install"
    raise TableNotFoundError(
        path,
        f"no such table file or surrogate folder; shipped surrogates: {surrogates}; shipped tables: {tables}",
    )


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
