"""Search spaces: what an architecture is.

``get("nb201")`` returns a space by name; ``register`` adds a user space so that
tables, importers and the CLI can find it by the name stored in a table file
(``unregister`` and the ``registered`` context manager undo it). Installed
packages can also declare spaces under the entry-point group
``nasbench_suite.spaces``; the CLI's ``--plugin MODULE`` imports a module that
calls ``register``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nasbench_suite._registry import ENTRY_POINT_GROUPS, LazyRegistry
from nasbench_suite.errors import NasbenchError, SpaceConfigError, UnknownSpaceError
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
    entry_point_group=ENTRY_POINT_GROUPS["spaces"],
)


def register(name: str, factory: Callable[..., SearchSpace], *, replace: bool = False) -> None:
    """Make ``factory(**config)`` available as ``get(name, **config)``.

    Raises:
        ValueError: if ``name`` is taken and ``replace`` is false, or ``factory`` is not callable.
    """
    _REGISTRY.register(name, factory, replace=replace)


def unregister(name: str) -> None:
    """Forget the space registered as ``name`` (a built-in of that name comes back)."""
    _REGISTRY.unregister(name)


@contextmanager
def registered(
    name: str, factory: Callable[..., SearchSpace], *, replace: bool = False
) -> Iterator[Callable[..., SearchSpace]]:
    """``register(name, factory)`` for the duration of a ``with`` block, undone on exit.

    Raises:
        ValueError: as :func:`register`.
    """
    with _REGISTRY.registered(name, factory, replace=replace):
        yield factory


def get(name: str, **config: Any) -> SearchSpace:
    """The space registered as ``name``, built with ``config``.

    Installed packages can declare spaces under the entry-point group
    ``nasbench_suite.spaces`` (``name = "package.module:SpaceClass"``); they are found
    on the first lookup of a name that is not built in.

    Raises:
        UnknownSpaceError: if no space has that name.
        PluginError: the installed plugin of that name failed to load.
        SpaceConfigError: the space's constructor refuses ``config`` (a config read from a
            file is untrusted: any TypeError or ValueError it raises becomes this error).
    """
    cls = _REGISTRY.lookup(name)
    try:
        return cls(**config)
    except NasbenchError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise SpaceConfigError(name, config, f"{type(exc).__name__}: {exc}") from None


def available() -> list[str]:
    """Names of the spaces (built in, registered, installed plugins), sorted."""
    return _REGISTRY.names()


__all__ = [
    "Arch",
    "CellGraph",
    "Decision",
    "SearchSpace",
    "available",
    "get",
    "register",
    "registered",
    "unregister",
]
