"""Name -> factory registries with lazily imported built-ins.

Spaces, search strategies and predictors are all found by name (the name a table
stores, a CLI flag, a leaderboard row). Built-ins are named by ``(module, attribute)``
and imported on first use, so listing names or importing a package never loads a
heavy dependency (the GIN predictor's torch, Optuna) and users can register their
own factories beside them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

F = TypeVar("F")


class LazyRegistry(Generic[F]):
    """Factories by name: built-ins imported on first lookup, user ones registered.

    Args:
        kind: what a factory makes, for messages ("strategy", "predictor").
        builtins: name -> (module, attribute) of the built-in factories.
        error: the exception type raised for a bad registration (name taken, wrong type).
        unknown: builds the exception raised for an unknown name from (name, known names).
        base: when given, a registered factory must be a subclass of it.
        entry_point_group: an importlib entry-point group consulted once, on the first
            lookup of a name that is neither built in nor registered (installed plugins).
    """

    def __init__(
        self,
        kind: str,
        builtins: Mapping[str, tuple[str, str]],
        *,
        error: Callable[[str], Exception],
        unknown: Callable[[str, list[str]], Exception],
        base: type | None = None,
        entry_point_group: str | None = None,
    ):
        self.kind = kind
        self._builtins = dict(builtins)
        self._factories: dict[str, F] = {}
        self._error = error
        self._unknown = unknown
        self._base = base
        self._entry_point_group = entry_point_group
        self._entry_points_loaded = False

    def register(self, name: str, factory: F, *, replace: bool = False) -> None:
        """Make ``factory`` available as ``lookup(name)``.

        Raises:
            the registry's ``error``: ``name`` is taken and ``replace`` is false, or
                ``factory`` is not a subclass of the registry's ``base``.
        """
        if self._base is not None and not (isinstance(factory, type) and issubclass(factory, self._base)):
            raise self._error(
                f"cannot register {factory!r} as {self.kind} {name!r}: not a {self._base.__name__} subclass"
            )
        if (name in self._factories or name in self._builtins) and not replace:
            raise self._error(f"a {self.kind} named {name!r} is already registered")
        self._factories[name] = factory

    def unregister(self, name: str) -> None:
        """Forget a registered factory (a built-in comes back on its next lookup)."""
        self._factories.pop(name, None)

    def lookup(self, name: str) -> F:
        """The factory registered as ``name``, importing a built-in on first use.

        Raises:
            the registry's ``unknown`` exception: no factory has that name.
        """
        factory = self._factories.get(name)
        if factory is None and name not in self._builtins:
            self._load_entry_points()
            factory = self._factories.get(name)
        if factory is None and name in self._builtins:
            module_name, attribute = self._builtins[name]
            factory = getattr(importlib.import_module(module_name), attribute)
            self._factories[name] = factory
        if factory is None:
            raise self._unknown(name, self.names())
        return factory

    def names(self) -> list[str]:
        """Every name, built in or registered, sorted."""
        return sorted({*self._builtins, *self._factories})

    def _load_entry_points(self) -> None:
        if self._entry_point_group is None or self._entry_points_loaded:
            return
        from importlib.metadata import entry_points

        self._entry_points_loaded = True
        for ep in entry_points(group=self._entry_point_group):
            if ep.name not in self._factories and ep.name not in self._builtins:
                self._factories[ep.name] = ep.load()
