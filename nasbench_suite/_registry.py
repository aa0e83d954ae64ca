"""Name -> factory registries with lazily imported built-ins and installed plugins.

Spaces, search strategies, predictors and importers are all found by name (the
name a table stores, a CLI flag, a leaderboard row), through one mechanism,
:class:`LazyRegistry`. A name is resolved, in this order, to

1. a factory registered in this process (``register``, ``registered``, or a module
   that calls them, such as one imported by the CLI's ``--plugin MODULE``);
2. a built-in, named by ``(module, attribute)`` and imported on first use, so that
   listing names or importing a package never loads a heavy dependency (the GIN
   predictor's torch, Optuna);
3. an installed plugin: an entry point of the registry's group (``[project.entry-points.
   "nasbench_suite.strategies"] my-search = "my_package.module:MySearch"``), loaded on
   the first lookup of its name. ``names()`` lists plugins without loading them.

Entry-point groups: ``nasbench_suite.spaces``, ``nasbench_suite.strategies``,
``nasbench_suite.predictors`` and ``nasbench_suite.importers`` (:data:`ENTRY_POINT_GROUPS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from nasbench_suite.errors import PluginError

F = TypeVar("F")

#: The entry-point group of each registry, by what it registers.
ENTRY_POINT_GROUPS: dict[str, str] = {
    "spaces": "nasbench_suite.spaces",
    "strategies": "nasbench_suite.strategies",
    "predictors": "nasbench_suite.predictors",
    "importers": "nasbench_suite.importers",
}


class LazyRegistry(Generic[F]):
    """Factories by name: registered ones, built-ins imported on first use, installed plugins.

    Args:
        kind: what a factory makes, for messages ("strategy", "predictor").
        builtins: name -> (module, attribute) of the built-in factories.
        error: the exception type raised for a bad registration (name taken, wrong type).
        unknown: builds the exception raised for an unknown name from (name, known names).
        base: when given, a factory (registered or plugin) must be a subclass of it.
        entry_point_group: the importlib entry-point group of installed plugins.
    """

    def __init__(
        self,
        kind: str,
        builtins: Mapping[str, tuple[str, str]],
        *,
        error: Callable[[str], Exception],
        unknown: Callable[[str, list[str]], Exception],
        base: type | None = None,
        entry_point_group: str,
    ):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._builtins = dict(builtins)
        self._registered: dict[str, F] = {}
        # Built-ins and plugins already imported: a cache, never consulted before `_registered`.
        self._loaded: dict[str, F] = {}
        self._error = error
        self._unknown = unknown
        self._base = base

    def register(self, name: str, factory: F, *, replace: bool = False) -> None:
        """Make ``factory`` available as ``lookup(name)``.

        A registered factory takes precedence over an installed plugin of the same name.

        Raises:
            the registry's ``error``: ``name`` is taken and ``replace`` is false, or
                ``factory`` is not a subclass of the registry's ``base``.
        """
        if not self._is_factory(factory):
            raise self._error(f"cannot register {factory!r} as {self.kind} {name!r}: {self._not_a_factory()}")
        if (name in self._registered or name in self._builtins) and not replace:
            raise self._error(f"a {self.kind} named {name!r} is already registered")
        self._registered[name] = factory

    def unregister(self, name: str) -> None:
        """Forget the factory registered as ``name`` (a built-in or plugin of that name comes back).

        Unregistering a name that was never registered does nothing, so cleanup code
        can call it unconditionally.
        """
        self._registered.pop(name, None)
        self._loaded.pop(name, None)

    @contextmanager
    def registered(self, name: str, factory: F, *, replace: bool = False) -> Iterator[F]:
        """Register ``factory`` as ``name`` for the duration of a ``with`` block.

        On exit the registry is as it was: a factory this one replaced is registered
        again. Meant for tests and for scripts that must leave no trace.

        Raises:
            as :meth:`register`.
        """
        previous = self._registered.get(name)
        self.register(name, factory, replace=replace)
        try:
            yield factory
        finally:
            self.unregister(name)
            if previous is not None:
                self._registered[name] = previous

    def lookup(self, name: str) -> F:
        """The factory named ``name``, importing a built-in or loading a plugin on first use.

        Raises:
            the registry's ``unknown`` exception: no factory has that name.
            PluginError: the installed plugin of that name failed to load, or is not a
                subclass of the registry's ``base``.
        """
        factory = self._registered.get(name)
        if factory is None:
            factory = self._loaded.get(name)
        if factory is None and name in self._builtins:
            module_name, attribute = self._builtins[name]
            factory = getattr(importlib.import_module(module_name), attribute)
            self._loaded[name] = factory
        if factory is None:
            entry_point = self._entry_points().get(name)
            if entry_point is None:
                raise self._unknown(name, self.names())
            factory = self._load_plugin(entry_point)
            self._loaded[name] = factory
        return factory

    def names(self) -> list[str]:
        """Every name, built in, registered or installed as a plugin (not loaded), sorted."""
        return sorted({*self._builtins, *self._registered, *self._entry_points()})

    def _entry_points(self) -> dict[str, Any]:
        """Installed plugins of this registry's group by name (read each time: installs change)."""
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group=self.entry_point_group)}

    def _load_plugin(self, entry_point: Any) -> F:
        """Load one entry point; any failure is one named error, never a traceback."""
        group = self.entry_point_group
        try:
            factory = entry_point.load()
        except Exception as exc:  # a plugin can fail in any way; say which one failed and how
            reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")
            raise PluginError(group, entry_point.name, entry_point.value, reason) from None
        if not self._is_factory(factory):
            raise PluginError(
                group, entry_point.name, entry_point.value, f"{factory!r}: {self._not_a_factory()}"
            )
        return factory

    def _is_factory(self, factory: object) -> bool:
        if self._base is None:
            return callable(factory)
        return isinstance(factory, type) and issubclass(factory, self._base)

    def _not_a_factory(self) -> str:
        return f"not a {self._base.__name__} subclass" if self._base is not None else "not callable"
