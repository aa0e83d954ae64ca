"""The package's floors, checked statically: no import runs back up, no two modules import each other.

Every module of ``nasbench_suite`` sits on a floor (``FLOORS``). A module may import
from its own room (the same subpackage) and from lower floors, never from a higher
floor or from another room on its own floor; typing-only and function-level imports
count the same as module-level ones, because a floor rule is about what a room
knows, not about when it loads it. ``search`` is stricter still
(``tests/test_import_boundary.py``): it sits above ``surrogates`` but must not reach
a benchmark or a table.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from tests.support import REPO

PACKAGE = REPO / "nasbench_suite"

#: Bottom up. A room is a top-level module or subpackage of nasbench_suite.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version"),
    ("stats", "safe_pickle", "_registry", "_progress", "_atomic", "_schema", "provenance"),
    ("spaces",),
    ("tabular",),
    ("importers", "surrogates", "train"),
    ("proxies", "oneshot"),
    ("bench",),
    ("search",),
    ("experiments",),
    ("checks",),
    ("testing",),
    ("cli",),
)
FLOOR_OF = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}
#: ``nasbench_suite/__init__.py`` re-exports ``open_benchmark`` (from ``bench``) and the
#: version: it is the front door, for users and the CLI; no lower room goes through it.
FRONT_DOOR = "__init__"
FLOOR_OF[FRONT_DOOR] = FLOOR_OF["cli"] - 0.5


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every ``nasbench_suite`` module that ``path`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # ``from x import y`` names the submodule x.y, or else y defined in x (resolved later)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return {m for m in found if m == "nasbench_suite" or m.startswith("nasbench_suite.")}


def _existing(modules: set[str], known: set[str]) -> set[str]:
    """The modules named: ``pkg.mod.attr`` resolves to ``pkg.mod`` when ``attr`` is no module."""
    return {m if m in known else m.rpartition(".")[0] for m in modules} & known


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else FRONT_DOOR


def floor_offences(files: list[Path]) -> list[str]:
    known = {module_name(p) for p in files}
    offences = []
    for path in files:
        me = module_name(path)
        my_room = room_of(me)
        for target in sorted(_existing(imported_modules(path), known)):
            room = room_of(target)
            if room == my_room:
                continue
            if room not in FLOOR_OF or my_room not in FLOOR_OF:
                offences.append(f"{me} -> {target}: a room without a floor (add it to FLOORS)")
            elif FLOOR_OF[room] >= FLOOR_OF[my_room]:
                offences.append(f"{me} (floor {FLOOR_OF[my_room]}) imports {target} (floor {FLOOR_OF[room]})")
    return offences


def mutual_imports(files: list[Path]) -> list[str]:
    known = {module_name(p) for p in files}
    graph = {module_name(p): _existing(imported_modules(p), known) for p in files}
    return sorted(
        f"{a} <-> {b}" for a, targets in graph.items() for b in targets if a < b and a in graph.get(b, set())
    )


def package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_room_has_a_floor():
    rooms = {room_of(module_name(p)) for p in package_files()}
    assert sorted(rooms - set(FLOOR_OF)) == []


def test_no_import_runs_back_up_a_floor():
    assert floor_offences(package_files()) == []


def test_no_two_modules_import_each_other():
    assert mutual_imports(package_files()) == []


def test_the_checks_see_typing_only_and_function_level_imports(tmp_path, monkeypatch):
    root = tmp_path / "nasbench_suite"
    (root / "spaces").mkdir(parents=True)
    (root / "bench").mkdir()
    for path in (root / "__init__.py", root / "spaces" / "__init__.py", root / "bench" / "__init__.py"):
        path.write_text("")
    (root / "spaces" / "low.py").write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from nasbench_suite.bench.high import Thing
            def f():
                from ..bench import high
            """
        )
    )
    (root / "bench" / "high.py").write_text("from nasbench_suite.spaces import low\n")
    monkeypatch.setattr("tests.test_floors.REPO", tmp_path)
    files = sorted(root.rglob("*.py"))
    offences = floor_offences(files)
    assert any("nasbench_suite.spaces.low (floor 2) imports nasbench_suite.bench.high" in o for o in offences)
    assert mutual_imports(files) == ["nasbench_suite.bench.high <-> nasbench_suite.spaces.low"]
