"""Search spaces: what an architecture is.

``get("nb201")`` returns a space by name; ``register`` adds a user space so that
tables, importers and the CLI can find it by the name stored in a table file.
Installed packages can also declare spaces under the entry-point group
``nasbench_suite.spaces``; the CLI's ``--plugin MODULE`` imports a module that
calls ``register``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from nasbench_suite.errors import UnknownSpaceError
from nasbench_suite.spaces.base import Arch, CellGraph, Decision, SearchSpace

_FACTORIES: dict[str, Callable[..., SearchSpace]] = {}


def register(name: str, factory: Callable[..., SearchSpace], *, replace: bool = False) -> None:
    """Make ``factory(**config)`` available as ``get(name, **config)``.

    Raises:
        ValueError: if ``name`` is taken and ``replace`` is false.
    """
    if (name in _FACTORIES or name in _BUILTINS) and not replace:
        raise ValueError(f"a search space named {name!r} is already registered")
    _FACTORIES[name] = factory


def get(name: str, **config: Any) -> SearchSpace:
    """The space registered as ``name``, built with ``config``.

    Raises:
        UnknownSpaceError: if no space has that name.
    """
    factory = _FACTORIES.get(name)
    if factory is None and name not in _BUILTINS:
        _load_entry_points()
        factory = _FACTORIES.get(name)
    if factory is None and name in _BUILTINS:
        module_name, class_name = _BUILTINS[name]
        factory = getattr(importlib.import_module(module_name), class_name)
        _FACTORIES[name] = factory
    if factory is None:
        raise UnknownSpaceError(name, available())
    return factory(**config)


def _load_entry_points() -> None:
    """Register the spaces that installed packages declare under the entry-point group
    ``nasbench_suite.spaces`` (``name = "package.module:SpaceClass"``)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="nasbench_suite.spaces"):
        if ep.name not in _FACTORIES:
            _FACTORIES[ep.name] = ep.load()


def available() -> list[str]:
    """Names of the registered spaces, sorted."""
    return sorted({*_FACTORIES, *_BUILTINS})


# Built-in spaces, imported on first use so that `import nasbench_suite.spaces` stays cheap.
_BUILTINS: dict[str, tuple[str, str]] = {
    "nb201": ("nasbench_suite.spaces.nb201", "NB201Space"),
    "nb101": ("nasbench_suite.spaces.nb101", "NB101Space"),
}


__all__ = ["Arch", "CellGraph", "Decision", "SearchSpace", "available", "get", "register"]
