"""Importers: published benchmark files and user tables -> ``TableData``.

One module per source format, found through this registry (never by matching
name prefixes). Each importer exposes ``import_table(source, **options)``
returning a :class:`~nasbench_suite.tabular.model.TableData`; the caller writes
it with :func:`nasbench_suite.tabular.write_table`. ``register(name, function)``
adds a user importer (``unregister`` and the ``registered`` context manager undo
it), and installed packages can declare importers under the entry-point group
``nasbench_suite.importers`` (``name = "package.module:import_table"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nasbench_suite._registry import ENTRY_POINT_GROUPS, LazyRegistry
from nasbench_suite.errors import NasbenchError
from nasbench_suite.tabular.model import TableData

#: What an importer is: ``import_table(source: Path, **options) -> TableData``.
Importer = Callable[..., TableData]


class UnknownImporterError(NasbenchError, LookupError):
    """No importer is registered under this name."""

    def __init__(self, name: str, known: list[str] | tuple[str, ...] = ()):
        self.name = name
        super().__init__(f"unknown importer {name!r}; known: {', '.join(known or available())}")


# importer name -> (module, its `import_table` function), imported on first use.
_REGISTRY: LazyRegistry[Importer] = LazyRegistry(
    "importer",
    {
        "nb201": ("nasbench_suite.importers.nb201", "import_table"),
        "nats-tss": ("nasbench_suite.importers.nats_tss", "import_table"),
        "nb101": ("nasbench_suite.importers.nb101", "import_table"),
        "nb101-official": ("nasbench_suite.importers.nb101_official", "import_table"),
        "csv": ("nasbench_suite.importers.long_format", "import_table"),
    },
    error=ValueError,
    unknown=UnknownImporterError,
    entry_point_group=ENTRY_POINT_GROUPS["importers"],
)


def register(name: str, importer: Importer, *, replace: bool = False) -> None:
    """Make ``importer(source, **options)`` available as ``get(name)`` and ``nasbench import NAME``.

    Raises:
        ValueError: if ``name`` is taken and ``replace`` is false, or ``importer`` is not callable.
    """
    _REGISTRY.register(name, importer, replace=replace)


def unregister(name: str) -> None:
    """Forget the importer registered as ``name`` (a built-in of that name comes back)."""
    _REGISTRY.unregister(name)


@contextmanager
def registered(name: str, importer: Importer, *, replace: bool = False) -> Iterator[Importer]:
    """``register(name, importer)`` for the duration of a ``with`` block, undone on exit.

    Raises:
        ValueError: as :func:`register`.
    """
    with _REGISTRY.registered(name, importer, replace=replace):
        yield importer


def available() -> list[str]:
    """Names of the importers (built in, registered, installed plugins), sorted."""
    return _REGISTRY.names()


def get(name: str) -> Importer:
    """The ``import_table`` function of importer ``name``.

    Raises:
        UnknownImporterError: if there is no such importer.
        PluginError: the installed plugin of that name failed to load.
    """
    return _REGISTRY.lookup(name)


def import_table(name: str, source: str | Path, **options: Any) -> TableData:
    """Run importer ``name`` on ``source`` (a folder or file, per importer)."""
    return get(name)(Path(source), **options)


__all__ = [
    "Importer",
    "UnknownImporterError",
    "available",
    "get",
    "import_table",
    "register",
    "registered",
    "unregister",
]
