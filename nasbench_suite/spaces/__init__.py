"""Search spaces: what an architecture is.

``get("nb201")`` returns a space by name; ``register`` adds a user space so that
tables, importers and the CLI can find it by the name stored in a table file.
Installed packages can also declare spaces under the entry-point group
``nasbench_suite.spaces``; the CLI's ``--plugin MODULE`` imports a module that
calls ``register``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nasbench_suite._registry import LazyRegistry
from nasbench_suite.errors import UnknownSpaceError
from nasbench_suite.spaces.base import Arch, CellGraph, Decision, SearchSpace

# Built-in spaces, imported on first use so that `import nasbench_suite.spaces` stays cheap.
_REGISTRY: LazyRegistry[Callable[..., SearchSpace]] = LazyRegistry(
    "search space",
    {
        "nb201": ("nasbench_suite.spaces.nb201", "NB201Space"),
        "nb101": ("nasbench_suite.spaces.nb101", "NB101Space"),
    },
    error=ValueError,
    unknown=UnknownSpaceError,
    entry_point_group="nasbench_suite.spaces",
)


def register(name: str, factory: Callable[..., SearchSpace], *, replace: bool = False) -> None:
    """Make ``factory(**config)`` available as ``get(name, **config)``.

    Raises:
        ValueError: if ``name`` is taken and ``replace`` is false.
    """
    _REGISTRY.register(name, factory, replace=replace)


def get(name: str, **config: Any) -> SearchSpace:
    """The space registered as ``name``, built with ``config``.

    Installed packages can declare spaces under the entry-point group
    ``nasbench_suite.spaces`` (``name = "package.module:SpaceClass"``); they are found
    on the first lookup of a name that is not built in.

    Raises:
        UnknownSpaceError: if no space has that name.
    """
    return _REGISTRY.lookup(name)(**config)


def available() -> list[str]:
    """Names of the registered spaces, sorted."""
    return _REGISTRY.names()


__all__ = ["Arch", "CellGraph", "Decision", "SearchSpace", "available", "get", "register"]
