"""House rules that concern the package as a whole."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from tests.support import REPO, tomllib

PACKAGE = REPO / "nasbench_suite"
ALLOWED_CORE = {
    "numpy",
    "pandas",
    "h5py",
    "scipy",
    "scikit-learn",
    "xgboost",
    "xgboost-cpu",  # the same module without the GPU build, where it is published (Linux x86_64)
    "matplotlib",
    "rich",
    "pyarrow",
    "threadpoolctl",
    # Pure Python, and needed by the standard suite on every install.
    "optuna",
    "google-crc32c",  # the TFRecord checksums of the official NB101 files: one small C library
}


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    test_command = next(line for block in blocks for line in block.splitlines() if "pytest" in line)
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert test_command.strip() in ci_lines


def test_the_test_command_runs_the_suite_shuffled():
    """The README's test command installs the test extra, whose pytest-randomly shuffles the order
    (and prints the seed to rerun it): a test that depends on another's leftovers fails."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    assert any(re.split(r"[<>=\[ ]", dep)[0] == "pytest-randomly" for dep in extra)


def test_core_dependencies_are_light():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ]", dep)[0] for dep in meta["dependencies"]}
    assert names <= ALLOWED_CORE, names - ALLOWED_CORE
    assert "torch" in str(meta["optional-dependencies"]["torch"])
    assert meta["scripts"]["nasbench"] == "nasbench_suite.cli:main"


def test_xgboost_is_the_cpu_build_where_one_is_published():
    """One XGBoost on every platform: the CPU-only wheel on Linux x86_64, the full one elsewhere
    (the markers are complements, so exactly one applies)."""
    from packaging.requirements import Requirement

    deps = [
        Requirement(d)
        for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    xgb = {r.name: r.marker for r in deps if r.name.startswith("xgboost")}
    assert set(xgb) == {"xgboost", "xgboost-cpu"}
    for system, machine in (
        ("linux", "x86_64"),
        ("linux", "aarch64"),
        ("darwin", "arm64"),
        ("win32", "AMD64"),
    ):
        env = {"sys_platform": system, "platform_machine": machine}
        chosen = [name for name, marker in xgb.items() if marker.evaluate(env)]
        assert chosen == (["xgboost-cpu"] if (system, machine) == ("linux", "x86_64") else ["xgboost"])


def test_the_package_list_has_every_package_and_the_project_tables():
    """pyproject.toml lists the packages (one is mapped from tabular/): a new subpackage missing
    from the list would be left out of every wheel."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert set(setuptools["packages"]) == folders | {"nasbench_suite.tables"}
    assert setuptools["package-dir"] == {"nasbench_suite.tables": "tabular"}
    assert "*.h5" in setuptools["package-data"]["nasbench_suite.tables"]
    assert (REPO / "tabular" / "README.md").is_file()


def test_import_never_loads_torch_or_ray():
    # Everything but the trainer stays light: the table, the search strategies (all of them,
    # instantiated), the XGBoost surrogates and the runner must work without torch or Ray loaded.
    code = (
        "import sys, nasbench_suite, nasbench_suite.tabular, nasbench_suite.bench, nasbench_suite.cli, "
        "nasbench_suite.importers, nasbench_suite.spaces, nasbench_suite.search, nasbench_suite.surrogates, "
        "nasbench_suite.surrogates.encodings, nasbench_suite.surrogates.predictors, "
        "nasbench_suite.experiments, nasbench_suite.experiments.runner, "
        "nasbench_suite.experiments.leaderboard; "
        "from nasbench_suite import search, spaces; from nasbench_suite.surrogates import predictors; "
        "space = spaces.get('nb201'); spaces.get('nb101'); "
        "from nasbench_suite.search.base import SearchContext; "
        "from nasbench_suite.search.prior import TransferPrior; "
        "prior = TransferPrior('source', (space.key(next(space.enumerate())),), (50.0,)); "
        "ctx = SearchContext(epochs=(1, 2, 3), max_epoch=3, n_objectives=2, proxies=('nwot',), prior=prior); "
        "[search.get(n, space, seed=0, context=ctx) for n in search.available()]; "
        "predictors.get('xgb', space, seed=0); "
        "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _python_files():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


ALLOWED_NP_RANDOM = {"default_rng", "Generator", "SeedSequence", "PCG64", "BitGenerator"}
#: The conformance suite's guard reads both global states (never draws from them) to prove
#: that the code it checks leaves them untouched: there, and only there, reading is allowed.
READS_GLOBAL_RANDOM_STATE = PACKAGE / "testing" / "_common.py"
#: The MLP trainer reproduces scikit-learn's MLPRegressor bit for bit, and optuna-tpe's sampler
#: Optuna's TPESampler draw for draw, so each draws from a local, explicitly seeded RandomState as
#: its library does (never from the global state): there, and only there, the legacy generator
#: is allowed.
LEGACY_SEEDED_GENERATORS = {
    PACKAGE / "surrogates" / "predictors" / "adam_mlp.py",
    PACKAGE / "search" / "_tpe_categorical.py",
}


def test_no_global_random_state():
    """Randomness only through explicit numpy Generators: no np.random.<fn>, no `random` module."""
    offences = []
    for path in _python_files():
        reader = path == READS_GLOBAL_RANDOM_STATE
        allowed = ALLOWED_NP_RANDOM | ({"get_state"} if reader else set())
        allowed |= {"RandomState"} if path in LEGACY_SEEDED_GENERATORS else set()
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "random" for a in node.names) and not reader:
                offences.append(f"{path.name}:{node.lineno} imports random")
            if isinstance(node, ast.ImportFrom) and node.module == "random":
                offences.append(f"{path.name}:{node.lineno} imports from random")
            if (
                reader
                and isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "random"
                and node.attr != "getstate"
            ):
                offences.append(f"{path.name}:{node.lineno} uses random.{node.attr}")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "random"
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id in ("np", "numpy")
                and node.attr not in allowed
            ):
                offences.append(f"{path.name}:{node.lineno} uses np.random.{node.attr}")
    assert offences == []


def test_no_pickle_outside_the_restricted_unpickler():
    """No pickle anywhere: the only unpickler is the restricted one that reads the published NB201 files,
    and torch files are loaded tensors-only (`weights_only=True`)."""
    offences = []
    for path in _python_files():
        if path.name == "safe_pickle.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(
                a.name in ("pickle", "dill", "joblib") for a in node.names
            ):
                offences.append(f"{path.name}:{node.lineno} imports a pickler")
            if isinstance(node, ast.ImportFrom) and node.module in ("pickle", "dill", "joblib"):
                offences.append(f"{path.name}:{node.lineno} imports from a pickler")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "torch"
            ):
                safe = any(
                    k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                    for k in node.keywords
                )
                if not safe:
                    offences.append(f"{path.name}:{node.lineno} torch.load without weights_only=True")
    assert offences == []


def test_no_assert_on_input_in_the_package():
    offences = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        offences += [f"{path.name}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    assert offences == []


def test_the_readme_says_where_sources_come_from_and_how_long_a_fit_takes():
    readme = (REPO / "README.md").read_text()
    section = readme.split("Where the source files come from", 1)[1].split("```python", 1)[0]
    for importer in ("`import nb201`", "`import nats-tss`", "`import nb101`", "`import csv`"):
        assert importer in section, importer
    assert "NATS-tss-v1_0-3ffb9-simple" in section and "D-X-Y/NATS-Bench" in section
    assert "`surrogate fit` is the slow command" in section and "--cv-folds 0" in section
