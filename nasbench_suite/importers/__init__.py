"""Importers: published benchmark files and user tables -> ``TableData``.

One module per source format, found through this registry (never by matching
name prefixes). Each importer exposes ``import_table(source, **options)``
returning a :class:`~nasbench_suite.tabular.model.TableData`; the caller writes
it with :func:`nasbench_suite.tabular.write_table`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasbench_suite.errors import NasbenchError
from nasbench_suite.tabular.model import TableData

# importer name -> module that defines `import_table(source: Path, **options) -> TableData`
_MODULES: dict[str, str] = {
    "nb201": "nasbench_suite.importers.nb201",
    "nats-tss": "nasbench_suite.importers.nats_tss",
    "nb101": "nasbench_suite.importers.nb101",
    "csv": "nasbench_suite.importers.long_format",
}


class UnknownImporterError(NasbenchError, LookupError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"unknown importer {name!r}; known: {', '.join(available())}")


def available() -> list[str]:
    """Names of the importers, sorted."""
    return sorted(_MODULES)


def get(name: str) -> Callable[..., TableData]:
    """The ``import_table`` function of importer ``name``.

    Raises:
        UnknownImporterError: if there is no such importer.
    """
    try:
        module_name = _MODULES[name]
    except KeyError:
        raise UnknownImporterError(name) from None
    return importlib.import_module(module_name).import_table


def import_table(name: str, source: str | Path, **options: Any) -> TableData:
    """Run importer ``name`` on ``source`` (a folder or file, per importer)."""
    return get(name)(Path(source), **options)


__all__ = ["UnknownImporterError", "available", "get", "import_table"]
