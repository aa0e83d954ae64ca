"""What the three conformance suites share: running checks, the pytest helper, and the
guards that a check holds around the code it tests."""

from __future__ import annotations

import functools
import importlib
import os
import random
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

#: A named check: calling it runs the check, raising ``AssertionError`` when it fails.
Check = tuple[str, Callable[[], None]]


class CheckNotApplicable(Exception):
    """Raised by a check that cannot run on this object (e.g. a class a fresh interpreter
    cannot import). :func:`run_checks` counts it as passed; the pytest helpers skip."""


def run_checks(checks: Iterable[Check]) -> list[str]:
    """Run every check, then raise one ``AssertionError`` listing all that failed.

    Returns:
        The names of the checks that did not apply (raised :class:`CheckNotApplicable`).

    Raises:
        AssertionError: naming each failed check and its message.
    """
    failures, not_applicable = [], []
    for name, check in checks:
        try:
            check()
        except CheckNotApplicable:
            not_applicable.append(name)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
        except Exception as exc:  # a check that crashes has failed too; report it beside the others
            failures.append(f"{name}: raised {type(exc).__name__}: {exc}")
    if failures:
        raise AssertionError(f"{len(failures)} conformance check(s) failed:\n- " + "\n- ".join(failures))
    return not_applicable


def parametrize_checks(checks: Sequence[Check]) -> Any:
    """``pytest.mark.parametrize("check", ...)`` over named checks, one test id each.

    A check that raises :class:`CheckNotApplicable` is reported as skipped. pytest is
    imported here, not at module level, so the suites work without it.
    """
    import pytest

    def skipping(check: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(check)
        def run() -> None:
            try:
                check()
            except CheckNotApplicable as exc:
                pytest.skip(str(exc))

        return run

    return pytest.mark.parametrize("check", [pytest.param(skipping(c), id=name) for name, c in checks])


def expect(condition: object, message: str) -> None:
    """Raise ``AssertionError(message)`` unless ``condition`` holds.

    The suites use this rather than ``assert``, which ``python -O`` removes: a check must
    never pass because it was optimised away.
    """
    if not condition:
        raise AssertionError(message)


def bind(function: Callable[..., None], *args: Any, **kwargs: Any) -> Callable[[], None]:
    """``function`` with its arguments bound, keeping its name and docstring for reports."""
    bound = functools.partial(function, *args, **kwargs)
    return functools.update_wrapper(bound, function)  # type: ignore[return-value]


@contextmanager
def global_random_untouched(what: str) -> Iterator[None]:
    """Fail if the code in the block draws from (or reseeds) numpy's global generator or
    Python's ``random`` module: every random choice must come from a seeded Generator.

    Reading both states before and after is enough: any draw advances them.
    """
    numpy_before, python_before = np.random.get_state(), random.getstate()
    yield
    numpy_after = np.random.get_state()
    same_numpy = numpy_before[0] == numpy_after[0] and np.array_equal(numpy_before[1], numpy_after[1])
    same_numpy = same_numpy and tuple(numpy_before[2:]) == tuple(numpy_after[2:])
    if not same_numpy:
        raise AssertionError(
            f"{what} used numpy's global random state (np.random.<function>): "
            "draw from the seeded numpy.random.Generator instead"
        )
    if random.getstate() != python_before:
        raise AssertionError(
            f"{what} used Python's global `random` module: "
            "draw from the seeded numpy.random.Generator instead"
        )


def import_path(obj: Any) -> tuple[str, str]:
    """``(module, qualified name)`` under which a fresh interpreter finds ``obj``.

    Raises:
        CheckNotApplicable: ``obj`` is defined in ``__main__`` or inside a function, or its
            module does not give it (code run with ``exec``).
    """
    module, qualname = obj.__module__, obj.__qualname__
    if module == "__main__" or "<locals>" in qualname:
        raise CheckNotApplicable(
            f"{qualname} is defined in {module} or inside a function: a fresh interpreter cannot "
            "import it (define it in a module to run this check)"
        )
    try:
        found = load(module, qualname)
    except (ImportError, AttributeError):
        found = None
    if found is not obj:
        raise CheckNotApplicable(
            f"{qualname} is not what importing {module} gives (code run with exec, or a class "
            "made on the fly): a fresh interpreter cannot import it"
        )
    return module, qualname


def load(module: str, qualname: str) -> Any:
    """The object ``module:qualname`` (the inverse of :func:`import_path`)."""
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def child_environment(*modules: str, **extra: str) -> dict[str, str]:
    """The environment of a fresh interpreter that can import ``modules`` as this one does:
    the folder each was imported from goes first on ``PYTHONPATH``."""
    roots: list[str] = []
    for name in modules:
        module = sys.modules.get(name) or importlib.import_module(name)
        file = getattr(module, "__file__", None)
        if file is None:
            continue
        root = Path(file).resolve().parent
        # A package's __init__ sits one folder deeper than a plain module of the same depth.
        depth = name.count(".") + (1 if Path(file).name == "__init__.py" else 0)
        for _ in range(depth):
            root = root.parent
        roots.append(str(root))
    inherited = os.environ.get("PYTHONPATH", "")
    path = os.pathsep.join(dict.fromkeys([*roots, *filter(None, inherited.split(os.pathsep))]))
    return {**os.environ, "PYTHONPATH": path, **extra}
