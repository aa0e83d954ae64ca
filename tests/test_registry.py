"""One registry mechanism for spaces, strategies, predictors and importers; plugins and undo."""

from __future__ import annotations

import sys
import textwrap

import pytest

from nasbench_suite import importers, search, spaces
from nasbench_suite._registry import ENTRY_POINT_GROUPS
from nasbench_suite.cli import main
from nasbench_suite.errors import PluginError, UnknownSpaceError
from nasbench_suite.search.base import StrategyError
from nasbench_suite.search.random import RandomSearch
from nasbench_suite.surrogates import predictors
from nasbench_suite.surrogates.predictors.base import PredictorError

REGISTRIES = {"spaces": spaces, "strategies": search, "predictors": predictors, "importers": importers}


class _Walk(RandomSearch):
    name = "test-walk"


def _importer(source, **options):
    raise AssertionError("not called in these tests")


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """An installed distribution declaring one good and one broken plugin in every group."""
    package = tmp_path / "fake_nasbench_plugin.py"
    package.write_text(
        textwrap.dedent(
            """
            from nasbench_suite.search.random import RandomSearch
            from nasbench_suite.spaces.nb201 import NB201Space
            from nasbench_suite.surrogates.predictors.forest import RandomForestPredictor

            class PluginSearch(RandomSearch):
                name = "plugin-thing"

            def import_table(source, **options):
                return source

            SPACE, STRATEGY, PREDICTOR = NB201Space, PluginSearch, RandomForestPredictor
            IMPORTER = import_table
            """
        )
    )
    dist = tmp_path / "fake_nasbench_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-nasbench-plugin\nVersion: 0.1\n")
    attribute = {
        "spaces": "SPACE",
        "strategies": "STRATEGY",
        "predictors": "PREDICTOR",
        "importers": "IMPORTER",
    }
    lines = []
    for kind, group in ENTRY_POINT_GROUPS.items():
        lines += [
            f"[{group}]",
            f"plugin-thing = fake_nasbench_plugin:{attribute[kind]}",
            "plugin-broken = fake_nasbench_plugin_absent:Nothing",
            "",
        ]
    (dist / "entry_points.txt").write_text("\n".join(lines))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("fake_nasbench_plugin", None)


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_installed_plugins_are_listed_without_loading_and_found_by_name(plugins, kind):
    registry = REGISTRIES[kind]
    assert {"plugin-thing", "plugin-broken"} <= set(registry.available())
    assert "fake_nasbench_plugin" not in sys.modules  # listing loads nothing
    found = registry._REGISTRY.lookup("plugin-thing")
    assert "fake_nasbench_plugin" in sys.modules and callable(found)


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_a_broken_plugin_is_one_named_error(plugins, kind):
    with pytest.raises(
        PluginError, match=r"plugin 'plugin-broken' \(fake_nasbench_plugin_absent:Nothing"
    ) as info:
        REGISTRIES[kind]._REGISTRY.lookup("plugin-broken")
    assert ENTRY_POINT_GROUPS[kind] in str(info.value) and "\n" not in str(info.value)


def test_a_broken_plugin_on_the_command_line_is_one_line(plugins, capsys, tmp_path):
    argv = ["search", "--strategy", "plugin-broken", "--dataset", "cifar10-valid", "--budget-evals", "1"]
    code = main([*argv, "--executor", "serial", "-o", str(tmp_path / "runs.parquet")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "plugin-broken" in err and "Traceback" not in err


def test_registered_is_undone_and_restores_what_it_replaced():
    with search.registered("test-walk", _Walk):
        assert search.strategy_class("test-walk") is _Walk and "test-walk" in search.available()
        with pytest.raises(StrategyError, match="already registered"):
            search.register("test-walk", _Walk)
    assert "test-walk" not in search.available()
    with pytest.raises(StrategyError, match="unknown strategy"):
        search.strategy_class("test-walk")
    original = search.strategy_class("random")
    with search.registered("random", _Walk, replace=True):
        assert search.strategy_class("random") is _Walk
    assert search.strategy_class("random") is original


def test_every_registry_refuses_what_is_not_a_factory():
    with pytest.raises(StrategyError, match="not a Strategy subclass"):
        search.register("test-bad", dict)  # type: ignore[arg-type]
    with pytest.raises(PredictorError, match="not a Predictor subclass"):
        predictors.register("test-bad", dict)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not callable"):
        importers.register("test-bad", "nb201")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already registered"):
        spaces.register("nb201", dict)  # type: ignore[arg-type]
    with importers.registered("test-imp", _importer):
        assert importers.get("test-imp") is _importer
    assert "test-imp" not in importers.available()
    with pytest.raises(UnknownSpaceError):
        spaces.get("test-none")


def test_the_plugin_option_registers_importers_and_strategies_for_the_parser(tmp_path, monkeypatch, capsys):
    (tmp_path / "cli_plugin_module.py").write_text(
        textwrap.dedent(
            """
            from nasbench_suite import importers, search
            from nasbench_suite.search.random import RandomSearch

            class CliWalk(RandomSearch):
                name = "cli-walk"

            def import_table(source, **options):
                raise ValueError("not used")

            importers.register("cli-imp", import_table)
            search.register("cli-walk", CliWalk)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(SystemExit):
            main(["--plugin", "cli_plugin_module", "import", "--help"])
        assert "cli-imp" in capsys.readouterr().out  # a choice of the importer argument
        assert "cli-walk" in search.available()
    finally:
        importers.unregister("cli-imp")
        search.unregister("cli-walk")
        sys.modules.pop("cli_plugin_module", None)
    assert "cli-imp" not in importers.available()
