"""Session fixtures shared by the fast suite and the benchmarks, and the guard that keeps
tests independent of their order.

The suite runs shuffled (pytest-randomly), so a test that leaves a registration, an
environment variable, the working directory or a thread count behind makes some
other test pass or fail depending on the seed. :func:`_leaves_no_global_state_behind`
fails such a test at teardown, naming what it changed; use ``monkeypatch``, a
fixture with ``finally`` or a registry's ``registered(...)`` context manager instead.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import data_path


@pytest.fixture(scope="session")
def nb201_table(tmp_path_factory):
    """The NB201 table imported once per session from ../shared/data/nb201 (skips if absent)."""
    from nasbench_suite import importers
    from nasbench_suite.tabular import write_table

    source = data_path("nb201")
    path = tmp_path_factory.mktemp("nb201") / "nb201.h5"
    write_table(path, importers.import_table("nb201", source))
    return path


@pytest.fixture
def torch_one_thread() -> Iterator[Any]:
    """torch limited to one thread for the test (small models are slower with more on a
    loaded machine), the previous count restored afterwards; yields the torch module."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield torch
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def environment_restored() -> Iterator[None]:
    """For code that sets environment variables process-wide (``ray.init`` sets ``RAY_*`` and
    points ``PYTHONBREAKPOINT`` at Ray's debugger): the environment is put back afterwards,
    but for what libraries set on import (:data:`NOT_STATE`)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        imported = {k: v for k, v in os.environ.items() if k in NOT_STATE}
        os.environ.clear()
        os.environ.update({**saved, **imported})


#: The name registries of the package, by the module that owns each.
REGISTRY_MODULES = (
    "nasbench_suite.spaces",
    "nasbench_suite.search",
    "nasbench_suite.surrogates.predictors",
    "nasbench_suite.importers",
)


def registrations() -> dict[str, dict[str, Any]]:
    """What each registry has registered in this process (not its built-ins or plugins).

    Read from the registries' own tables rather than through ``available()``, which
    scans installed entry points and is too slow to call around every test.
    """
    found = {}
    for name in REGISTRY_MODULES:
        registry = getattr(sys.modules.get(name), "_REGISTRY", None)
        registered = dict(getattr(registry, "_registered", None) or {})
        if registered:  # a registry imported during a test, with nothing registered, is no change
            found[name] = registered
    return found


#: Environment variables that are no test's doing: pytest names the running test in
#: PYTEST_CURRENT_TEST; libraries set the others when first imported (the OpenMP runtime
#: that xgboost and scikit-learn link, torch), whichever test that happens in.
NOT_STATE = frozenset(
    {"PYTEST_CURRENT_TEST", "KMP_INIT_AT_FORK", "KMP_DUPLICATE_LIB_OK", "TORCHINDUCTOR_CACHE_DIR"}
)


@pytest.fixture
def registrations_restored() -> Iterator[None]:
    """For code that registers as part of what it shows (the docs' examples, a --plugin
    module): afterwards every registry holds exactly what it held before."""
    import importlib

    modules = [importlib.import_module(name) for name in REGISTRY_MODULES]
    before = [dict(module._REGISTRY._registered) for module in modules]
    try:
        yield
    finally:
        for module, saved in zip(modules, before, strict=True):
            for name, factory in list(module._REGISTRY._registered.items()):
                if saved.get(name) is not factory:
                    module.unregister(name)
            for name, factory in saved.items():
                if name not in module._REGISTRY._registered:
                    module.register(name, factory, replace=True)


def global_state() -> dict[str, Any]:
    """Everything a test could change for the tests that run after it."""
    progress = sys.modules.get("nasbench_suite._progress")
    torch = sys.modules.get("torch")
    return {
        "registrations": registrations(),
        "environment": {k: v for k, v in os.environ.items() if k not in NOT_STATE},
        "working directory": os.getcwd(),
        "sys.path": [p for p in sys.path if not _inside_site_packages(p)],
        "progress bars forced": getattr(progress, "_forced", None),
        "torch threads": torch.get_num_threads() if torch is not None else None,
    }


def _inside_site_packages(path: str) -> bool:
    """A folder inside an installed distribution, such as the one Ray puts on sys.path when
    first imported for its vendored libraries (a library's doing, not a test's)."""
    roots = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return any(path.startswith(root + os.sep) for root in roots)


@pytest.fixture(autouse=True)
def _leaves_no_global_state_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    before = global_state()
    yield
    after = global_state()
    if before["torch threads"] is None:
        after["torch threads"] = None  # torch was first imported by this test: its default is no leak
    changed = [key for key in before if before[key] != after[key]]
    if changed:
        details = "; ".join(_difference(key, before[key], after[key]) for key in changed)
        pytest.fail(f"{request.node.nodeid} left global state behind: {details}", pytrace=False)


def _difference(key: str, before: Any, after: Any) -> str:
    if isinstance(before, dict) and isinstance(after, dict):
        if key == "registrations":
            lines = []
            for module in sorted(set(before) | set(after)):
                old, new = before.get(module, {}), after.get(module, {})
                diff = sorted(n for n in set(old) | set(new) if old.get(n) is not new.get(n))
                if diff:
                    lines.append(f"{module}: {diff}")
            return "registrations changed (" + ", ".join(lines) + ")"
        diff = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        return f"{key} changed: {diff}"
    return f"{key} changed from {before!r} to {after!r}"
