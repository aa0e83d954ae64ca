"""The worked examples in docs/ run as written."""

from __future__ import annotations

import re

import pytest

from nasbench_suite import spaces
from nasbench_suite.cli import main
from tests.support import REPO


@pytest.fixture(autouse=True)
def _forget_the_walkthrough_space():
    """The walkthrough registers its space for the process, as a user would; tests leave none."""
    yield
    spaces.unregister("chain")


def python_blocks(doc: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "docs" / doc).read_text(), flags=re.S)


def test_custom_space_walkthrough_runs(capsys):
    namespace: dict = {"__name__": "custom_space_doc"}
    for block in python_blocks("custom-space.md"):
        exec(compile(block, "docs/custom-space.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "unknown op 'conv7'" in out
    assert namespace["result"].metrics["valid_acc"] > 60
    assert namespace["bench"].space.name == "chain"


def test_custom_space_from_the_command_line(tmp_path, monkeypatch, capsys):
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
