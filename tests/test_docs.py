"""The worked examples in docs/ run as written."""

from __future__ import annotations

import re
import shlex
import sys

import pytest

from nasbench_suite.cli import main
from nasbench_suite.testing import check_space
from tests.support import PLUGIN_MODULE, code_blocks, plugin_module_source, tomllib


def python_blocks(doc: str) -> list[str]:
    return code_blocks(doc, "python")


def plugin_usage_blocks() -> list[str]:
    """docs/extending.md's blocks that use the plugin module (run in order, in one namespace)."""
    return [b for b in python_blocks("extending.md") if not b.startswith(PLUGIN_MODULE)]


@pytest.fixture
def custom_space_doc(registrations_restored, monkeypatch):
    """The custom-space walkthrough registers its space 'chain' (and the CLI test imports it as
    a module): both are undone afterwards."""
    monkeypatch.delitem(sys.modules, "my_spaces", raising=False)
    yield
    sys.modules.pop("my_spaces", None)


def test_custom_space_walkthrough_runs(capsys, custom_space_doc):
    namespace: dict = {"__name__": "custom_space_doc"}
    for block in python_blocks("custom-space.md"):
        exec(compile(block, "docs/custom-space.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "unknown op 'conv7'" in out
    assert namespace["result"].metrics["valid_acc"] > 60
    assert namespace["bench"].space.name == "chain"
    check_space(namespace["space"])  # the space a reader copies passes the conformance suite


def test_custom_space_from_the_command_line(tmp_path, monkeypatch, capsys, custom_space_doc):
    """The CLI imports and queries a user space through --plugin, as the doc shows."""
    blocks = python_blocks("custom-space.md")
    (tmp_path / "my_spaces.py").write_text(blocks[0])
    namespace: dict = {"__name__": "doc"}
    exec(compile(blocks[0] + blocks[1], "docs/custom-space.md", "exec"), namespace)
    monkeypatch.syspath_prepend(str(tmp_path))
    csv = namespace["workdir"] / "chain_results.csv"
    table = tmp_path / "chain.h5"
    assert (
        main(["--plugin", "my_spaces", "import", "csv", str(csv), "--space", "chain", "-o", str(table)]) == 0
    )
    arch = sorted(namespace["archs"])[0]
    assert main(["--plugin", "my_spaces", "query", str(table), "--dataset", "cifar10", "--arch", arch]) == 0
    assert "valid_acc" in capsys.readouterr().out
    assert main(["--plugin", "no_such_module_xyz", "info", str(table)]) == 2


@pytest.fixture
def my_plugin(tmp_path, monkeypatch, registrations_restored):
    """docs/extending.md's my_plugin.py written to a folder on sys.path; forgotten afterwards."""
    (tmp_path / "my_plugin.py").write_text(plugin_module_source())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_plugin", raising=False)
    yield tmp_path
    sys.modules.pop("my_plugin", None)


def test_extending_recipes_run_and_their_plugins_conform(my_plugin):
    """Every usage block runs (the conformance suites included) in one namespace, in order."""
    namespace: dict = {"__name__": "extending_doc"}
    for block in plugin_usage_blocks():
        exec(compile(block, "docs/extending.md", "exec"), namespace)
    from nasbench_suite import importers, search, spaces
    from nasbench_suite.surrogates import predictors

    assert search.strategy_class("greedy-mutation") is namespace["GreedyMutation"]
    assert predictors.predictor_class("knn") is namespace["NearestNeighbours"]
    assert type(spaces.get("widths")) is namespace["WidthSpace"]
    assert "width-log" in importers.available()
    # The pytest block gives one test per check, each named after its class and check.
    marks = {name: fn.pytestmark[0] for name, fn in namespace.items() if name.startswith("test_")}
    assert sorted(marks) == ["test_greedy_mutation", "test_nearest_neighbours", "test_width_space"]
    ids = [p.id for p in marks["test_greedy_mutation"].args[1]]
    assert "GreedyMutation-check_same_seed_same_run" in ids


def test_extending_command_lines_run(my_plugin, monkeypatch, capsys):
    """The doc's `nasbench --plugin my_plugin ...` lines, verbatim, in the folder of its log."""
    namespace: dict = {"__name__": "extending_doc"}
    importer_usage = next(b for b in plugin_usage_blocks() if "log.jsonl" in b)
    exec(compile(importer_usage, "docs/extending.md", "exec"), namespace)
    monkeypatch.chdir(namespace["workdir"])
    (namespace["workdir"] / "widths.h5").unlink()  # the command writes it again
    for line in code_blocks("extending.md", "bash")[0].strip().splitlines():
        argv = shlex.split(line)
        assert argv[0] == "nasbench"
        assert main(argv[1:]) == 0, line
    out = capsys.readouterr().out
    assert "greedy-mutation on cifar10: 2 runs, 20 evaluations" in out
    assert "knn" in out and (namespace["workdir"] / "greedy.parquet").is_file()


def test_extending_entry_points_name_what_the_module_defines():
    groups = tomllib.loads(code_blocks("extending.md", "toml")[0])["project"]["entry-points"]
    source = plugin_module_source()
    assert set(groups) == {f"nasbench_suite.{k}" for k in ("strategies", "predictors", "spaces", "importers")}
    for group, entries in groups.items():
        for name, target in entries.items():
            module, attribute = target.split(":")
            assert module == "my_plugin" and re.search(rf"^(class|def) {attribute}\b", source, re.M), target
            assert f'register("{name}", {attribute})' in source, (group, name)


def test_bring_your_own_optimiser_page_runs(capsys):
    """docs/bring-your-own-optimiser.md: an Optuna sampler and a plain function run through the
    driver and land on one board with the built-in strategies, under one protocol."""
    namespace: dict = {"__name__": "byo_doc"}
    for block in python_blocks("bring-your-own-optimiser.md"):
        exec(compile(block, "docs/bring-your-own-optimiser.md", "exec"), namespace)
    board = namespace["board"]
    names = {row["strategy"] for row in board.boards[0].rows}
    assert names == {"optuna-tpe-multivariate", "hill-climb", "random", "rea"}
    assert all(row["runs"] == 2 for row in board.boards[0].rows)
    for result in namespace["mine"]:
        assert result.ok and result.summary["n_evals"] == 40 and result.bench_checksum
    assert (namespace["out"] / "leaderboard.md").read_text().count("hill-climb") >= 1
    assert "Categorical" in capsys.readouterr().out
