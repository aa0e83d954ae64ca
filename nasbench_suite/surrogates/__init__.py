"""Surrogates: architecture encodings and accuracy predictors.

``encodings`` turns architectures into vectors and graph tensors; ``predictors``
holds the models (``predictors.get("xgb", space)``). Both are light: importing
this package loads neither torch nor the table modules, so search strategies can
use predictors without ever touching a benchmark.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["encodings", "predictors"]


def __getattr__(name: str) -> ModuleType:
    # Submodules load on first use: `from nasbench_suite.surrogates import predictors` works either way.
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
