"""The tables the project builds itself (top-level ``tabular/`` of the checkout), found by name.

In a wheel or a non-editable install they are package data of ``nasbench_suite.tables``
(pyproject.toml maps that package to the ``tabular/`` folder), found with
:mod:`importlib.resources`; in a checkout used in place (``PYTHONPATH``, an editable install)
they are read from ``tabular/`` beside the package. ``open_benchmark("nb201-cpu")`` opens
``nb201-cpu.h5`` from the first of the two that has it.
"""

from __future__ import annotations

from pathlib import Path

SUFFIX = ".h5"


def tables_roots() -> list[Path]:
    """Folders that may hold shipped tables: the installed package data, then the checkout's."""
    from importlib import resources

    installed = Path(str(resources.files("nasbench_suite").joinpath("tables")))
    checkout = Path(str(resources.files("nasbench_suite"))).parent / "tabular"
    return [p for p in (installed, checkout) if p.is_dir()]


def shipped_table(name: str) -> Path | None:
    """The shipped table called ``name`` (``name.h5``), or None."""
    if not name or "/" in name or name.startswith("."):
        return None
    for root in tables_roots():
        path = root / f"{name}{SUFFIX}"
        if path.is_file():
            return path
    return None


def shipped_table_names() -> list[str]:
    """Names of the shipped tables, sorted."""
    return sorted(
        {p.name[: -len(SUFFIX)] for root in tables_roots() for p in root.glob(f"*{SUFFIX}") if p.is_file()}
    )
