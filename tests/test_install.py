"""A non-editable install works outside the checkout: the shipped benchmark is package data.

The cheapest honest route, with no download: build the wheel once from a copy of the
package's files (``pip wheel --no-deps --no-build-isolation``, with the setuptools of this
environment, which the test extra installs), install it with ``--no-deps --target`` into a
temporary folder, and run that folder's ``nasbench`` script from another temporary folder
with ``PYTHONPATH`` naming only the installed copy (the dependencies come from this
environment; an editable install of the checkout, if any, is shadowed). Then the commands of
the acceptance of issue 14 run as a user would run them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools (the test extra)")
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    # A copy of what the build reads, so that no build/ or egg-info is left in the checkout
    # and no stale build output of the checkout can end up in the wheel.
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "nasbench_suite",
        source / "nasbench_suite",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    wheels = root / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("nasbench_suite-*.whl")
    site = root / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return {"site": site, "cwd": elsewhere, "script": site / "bin" / "nasbench"}


def _run(installed: dict[str, Path], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(installed["site"])}
    return subprocess.run(
        [sys.executable, str(installed["script"]), *args],
        cwd=installed["cwd"],
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_installed_copy_is_the_one_that_runs(installed):
    env = {**os.environ, "PYTHONPATH": str(installed["site"])}
    out = subprocess.run(
        [sys.executable, "-c", "import nasbench_suite; print(nasbench_suite.__file__)"],
        cwd=installed["cwd"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(out.strip()).is_relative_to(installed["site"])
    shipped = installed["site"] / "nasbench_suite" / "data" / "surrogates" / "nb201"
    assert (shipped / "manifest.json").is_file()


def test_query_and_info_open_the_shipped_benchmark_by_name(installed):
    done = _run(installed, "query", "nb201", "--dataset", "cifar10-valid", "--arch", ARCH, "--seed", "mean")
    assert done.returncode == 0, done.stderr
    assert "valid_acc" in done.stdout and "cost_s" in done.stdout
    done = _run(installed, "info", "nb201", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["kind"] == "surrogate" and info["space"] == "nb201"
    assert sorted(info["datasets"]) == ["ImageNet16-120", "cifar10-valid", "cifar100"]
    assert len(info["manifest_checksum"]) == 32


def test_the_leaderboard_runs_from_an_installed_copy(installed):
    out = installed["cwd"] / "board"
    done = _run(installed, "leaderboard", "--seeds", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = (out / "leaderboard.md").read_text()
    assert "## cifar10-valid" in text and "## Not applicable" in text
    # Not a checkout: the commit is unknown, and the report says so.
    assert "commit unknown" in text and "(surrogate), checksum" in text
    assert "runs seed 2 only" in done.stderr  # --seeds means the seeds (docs/protocol.md)
