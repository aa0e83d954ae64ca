"""Plugins written outside the repository and installed through entry points: the strategy,
predictor, space and importer of docs/extending.md, as a distribution in a temporary folder.

``importlib.metadata`` finds a ``<name>.dist-info`` folder on ``sys.path`` as it finds an
installed package, so putting the folder on ``PYTHONPATH`` installs the plugin for a fresh
interpreter without pip. Its module has no ``register`` calls: the entry points alone make
its names known, with no ``--plugin``. Everything runs in subprocesses, so this process's
registries never see the plugin.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import code_blocks, plugin_module_source, tomllib

#: The entry-point groups of the registries.
GROUPS = (
    "nasbench_suite.strategies",
    "nasbench_suite.predictors",
    "nasbench_suite.spaces",
    "nasbench_suite.importers",
)


def install_plugin(folder: Path) -> dict[str, dict[str, str]]:
    """Write docs/extending.md's ``my_plugin.py`` (without its ``register`` calls) and a
    ``my_plugin-0.1.dist-info`` with its entry points into ``folder``; returns the entry points."""
    module = "\n".join(
        line
        for line in plugin_module_source().splitlines()
        if not re.match(r"(search|predictors|spaces|importers)\.register\(", line)
    )
    (folder / "my_plugin.py").write_text(module)
    entry_points = tomllib.loads(code_blocks("extending.md", "toml")[0])["project"]["entry-points"]
    info = folder / "my_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items()) + "\n"
            for group, entries in entry_points.items()
        )
    )
    return entry_points


def run_python(folder: Path, code: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``code`` (with ``args`` as ``sys.argv[1:]``) in a fresh interpreter that has the plugin
    in ``folder`` installed, working in ``folder``."""
    inherited = os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), inherited]))}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plugin")
    entry_points = install_plugin(folder)
    assert set(entry_points) == set(GROUPS)
    return folder


#: In the plugin's interpreter: names listed without importing the plugin; the doc's
#: training log written; the doc's command lines run without --plugin; the suites run.
_END_TO_END = """
import json, sys
from pathlib import Path
from nasbench_suite import importers, search, spaces
from nasbench_suite.cli import main
from nasbench_suite.surrogates import predictors

listed = {
    "strategies": "greedy-mutation" in search.available(),
    "predictors": "knn" in predictors.available(),
    "spaces": "widths" in spaces.available(),
    "importers": "width-log" in importers.available(),
}
imported_to_list = "my_plugin" in sys.modules

namespace = {"__name__": "doc"}
exec(compile(sys.argv[1], "docs/extending.md", "exec"), namespace)  # writes log.jsonl, imports it
Path("log.jsonl").write_bytes((namespace["workdir"] / "log.jsonl").read_bytes())
codes = [main(argv) for argv in json.loads(sys.argv[2])]

# The classes the entry points gave (the plugin's pytest file, below, checks the space).
from nasbench_suite.testing import check_predictor, check_strategy
strategy = search.strategy_class("greedy-mutation")
not_applicable = check_strategy(strategy) + check_predictor(predictors.predictor_class("knn"), {"k": 5})
print(json.dumps({"listed": listed, "imported_to_list": imported_to_list, "codes": codes,
                  "module": strategy.__module__, "not_applicable": not_applicable}))
"""


def test_installed_plugins_run_in_nasbench_and_pass_the_conformance_suites(plugin):
    # The doc's command lines, as an installed plugin needs them: without --plugin.
    commands = [shlex.split(line)[1:] for line in code_blocks("extending.md", "bash")[0].strip().splitlines()]
    commands = [[a for a in argv if a not in ("--plugin", "my_plugin")] for argv in commands]
    # The doc's importer usage block, minus the lines that use the module directly.
    usage = next(
        b for b in code_blocks("extending.md") if "log.jsonl" in b and not b.startswith("# my_plugin")
    )
    usage = usage.replace("from my_plugin import WidthSpace\n", "from nasbench_suite import spaces\n")
    usage = usage.replace("WidthSpace().enumerate()", 'spaces.get("widths").enumerate()')
    proc = run_python(plugin, _END_TO_END, usage, json.dumps(commands), timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["listed"] == {"strategies": True, "predictors": True, "spaces": True, "importers": True}
    assert not out["imported_to_list"], "listing the plugins imported them"
    assert out["codes"] == [0] * len(commands)
    assert out["module"] == "my_plugin"
    assert out["not_applicable"] == []  # every check ran, the fresh-interpreter ones included
    assert "greedy-mutation on cifar10: 2 runs, 20 evaluations" in proc.stdout
    assert (plugin / "greedy.parquet").is_file() and (plugin / "widths.h5").is_file()


def test_the_plugins_own_pytest_suite_runs_the_checks_outside_the_repository(plugin):
    """The doc's pytest block as the plugin's test file, run by pytest with no project conftest."""
    tests = next(b for b in code_blocks("extending.md") if "parametrize_strategy_checks" in b)
    (plugin / "test_my_plugin.py").write_text(tests)
    (plugin / "pytest.ini").write_text("[pytest]\n")
    code = "import sys, pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'test_my_plugin.py']))"
    proc = run_python(plugin, code, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed and int(passed.group(1)) >= 25, proc.stdout[-2000:]
    assert "failed" not in proc.stdout


def test_a_broken_plugin_is_one_named_error(tmp_path):
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('missing dependency: frobnicate')\n")
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[nasbench_suite.strategies]\nbroken = broken_plugin:Broken\n")
    code = textwrap.dedent(
        """
        from nasbench_suite.cli import main
        argv = "search --strategy broken --dataset cifar10-valid --budget-evals 5 -o x.parquet".split()
        raise SystemExit(main(argv))
        """
    )
    proc = run_python(tmp_path, code)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken" in lines[0] and "frobnicate" in lines[0], proc.stderr
