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
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "nasbench_suite", source / "nasbench_suite", ignore=ignore)
    shutil.copytree(REPO / "tabular", source / "tabular", ignore=ignore)
    _ship_curve_benchmarks(source)
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


def _ship_curve_benchmarks(source: Path) -> None:
    """In the copy only: the project's NB201 table and its curve surrogate, where the checkout does not
    have them yet, as a small synthetic table and a quick fit of it (never committed)."""
    table = source / "tabular" / "nb201-cpu.h5"
    if not table.exists():
        from nasbench_suite.tabular import write_table
        from tests.support import nb201_curve_table

        write_table(table, nb201_curve_table(n_archs=40, epochs=3, n_second_seed=20))
    lc = source / "nasbench_suite" / "data" / "surrogates" / "nb201-cpu-lc"
    if not lc.exists():
        from nasbench_suite.surrogates.curves import fit_curve_surrogate

        params = {"n_estimators": 10, "encoding": "onehot", "n_jobs": 1}
        fit_curve_surrogate(table, lc, params=params, layout="per-epoch", cv_folds=0)


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


def test_the_project_table_and_its_curve_surrogate_open_by_name(installed):
    """tabular/ ships as package data of nasbench_suite.tables; the curve surrogate as package data."""
    assert (installed["site"] / "nasbench_suite" / "tables" / "nb201-cpu.h5").is_file()
    done = _run(installed, "info", "nb201-cpu", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["kind"] == "table" and info["space"] == "nb201"
    done = _run(installed, "info", "nb201-cpu-lc", "--json")
    assert done.returncode == 0, done.stderr
    (dataset,) = json.loads(done.stdout)["datasets"].values()
    assert dataset["fidelity"].startswith("per-epoch curves")
    env = {**os.environ, "PYTHONPATH": str(installed["site"])}
    code = (
        "from nasbench_suite import open_benchmark as o; t = o('nb201-cpu'); s = o('nb201-cpu-lc'); "
        "d = t.datasets[0]; e = s.epochs(d)[0]; "
        "print(type(t).__name__, type(s).__name__, e, s.query("
        + repr(ARCH)
        + ", d, 'mean', epoch=e).cost_s > 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=installed["cwd"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["TabularBenchmark", "CurveSurrogateBenchmark", "1", "True"]
    done = _run(installed, "info", "nb201-gpu")
    assert done.returncode == 2 and "shipped tables: nb201-cpu" in done.stderr
