"""nasbench-suite: tabular and surrogate benchmarks for neural architecture search.

Importing the package is cheap and never imports torch or Ray; subpackages load
what they need when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nasbench_suite._version import __version__

if TYPE_CHECKING:
    from nasbench_suite.bench.base import Benchmark


def open_benchmark(source: Any, **options: Any) -> Benchmark:
    """Open a benchmark: a table file (``.h5``), a surrogate artefact folder, or a shipped name
    (``"nb201"``, ``"nb201-cpu"``, ``"nb201-cpu-lc"``).

    See :func:`nasbench_suite.bench.open_benchmark` for the options.
    """
    from nasbench_suite.bench import open_benchmark as _open

    return _open(source, **options)


__all__ = ["__version__", "open_benchmark"]
