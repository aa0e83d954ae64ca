"""A strategy cannot reach the table: ``nasbench_suite.search`` never imports a benchmark or a table.

Three checks: statically, no file under ``nasbench_suite/search/`` imports (or names
for a dynamic import) the benchmark, table, importer, experiment or trainer modules;
dynamically, importing the search package, building every registered strategy and
driving it through ask/tell leaves those modules unloaded; and in a run, everything
the runner hands a strategy is plain data (the space, a context of numbers, floats).
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
import textwrap
from typing import ClassVar

import numpy as np
import pytest

from nasbench_suite import search
from nasbench_suite.experiments import RunConfig, run
from nasbench_suite.search.base import Proposal, SearchContext, Strategy
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.tabular import write_table
from tests.support import REPO, synthetic_table

SEARCH = REPO / "nasbench_suite" / "search"
#: What a strategy must never import: everything that can hold or reach results.
FORBIDDEN = (
    "nasbench_suite.bench",
    "nasbench_suite.tabular",
    "nasbench_suite.importers",
    "nasbench_suite.experiments",
    "nasbench_suite.train",
    "h5py",
)


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def _offences(path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the search package
                base = "nasbench_suite" if node.level > 1 else "nasbench_suite.search"
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # importlib.import_module("nasbench_suite.bench") and friends.
            names = [node.value] if node.value.startswith(("nasbench_suite.", "h5py")) else []
        found += [f"{path.name}:{node.lineno} {name}" for name in names if _forbidden(name)]
    return found


def test_no_search_module_imports_a_benchmark_or_table():
    files = sorted(SEARCH.rglob("*.py"))
    assert len(files) >= 8  # the package is where we think it is
    offences = [o for path in files for o in _offences(path)]
    assert offences == []


def test_the_static_check_catches_imports(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text(
        textwrap.dedent(
            """
            import importlib
            from nasbench_suite.bench import open_benchmark
            from nasbench_suite import tabular
            def f():
                import nasbench_suite.experiments.runner
                return importlib.import_module("nasbench_suite.bench.tabular")
            """
        )
    )
    found = " ".join(_offences(sample))
    for name in ("nasbench_suite.bench", "nasbench_suite.tabular", "experiments.runner", "bench.tabular"):
        assert name in found


def test_every_strategy_runs_without_loading_a_benchmark_or_table():
    """Build each registered strategy and drive it through ask/tell in a fresh interpreter."""
    code = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np
        from nasbench_suite import search, spaces
        from nasbench_suite.search.base import SearchContext
        from nasbench_suite.testing.driver import synthetic_prior
        space = spaces.get("nb201")
        built = []
        for name in search.available():
            cls = search.strategy_class(name)
            context = SearchContext(
                epochs=(12, 200) if cls.multi_fidelity else (),
                max_epoch=200,
                n_objectives=2 if cls.multi_objective else 1,
                budget_evals=24,
                proxies=("nwot",) if cls.proxy_guided else (),
                prior=synthetic_prior(space) if cls.warm_started else None,
            )
            strategy = search.get(name, space, seed=0, context=context)
            rng = np.random.default_rng(0)
            for _ in range(24):
                proposal = strategy.ask()
                value = float(rng.uniform(10, 90))
                strategy.tell(proposal, value, 100.0, (value, 1.0) if cls.multi_objective else ())
            built.append(name)
        forbidden = {list(FORBIDDEN)!r}
        loaded = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden))
        print(json.dumps({{"built": built, "loaded": loaded}}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["built"] == search.available()
    assert out["loaded"] == []


class _Spy(Strategy):
    """Random search that records the type of everything the runner hands it."""

    name = "spy"
    seen: ClassVar[list[tuple[str, object]]] = []

    def __init__(self, space, seed=0, context=None, **options):
        super().__init__(space, seed=seed, context=context, **options)
        _Spy.seen += [("space", space), ("context", self.context)]

    def _ask(self, trial_id):
        return self.space.sample(self.rng), None

    def _tell(self, observation):
        _Spy.seen.append(("observation", observation))


@pytest.fixture
def spy():
    _Spy.seen = []
    with search.registered("spy", _Spy):
        yield _Spy


def test_the_runner_hands_a_strategy_only_plain_data(spy, tmp_path):
    path = tmp_path / "toy.h5"
    write_table(path, synthetic_table(n_archs=81, seed=1))
    result = run(RunConfig("spy", str(path), "toy", budget_evals=15, second_objective="params_m"))
    assert result.ok and len(spy.seen) == 2 + 15
    kinds = dict(spy.seen[:2])
    assert isinstance(kinds["space"], SearchSpace)
    context = kinds["context"]
    assert type(context) is SearchContext
    for value in vars(context).values():
        assert value is None or isinstance(value, (int, tuple))
    for kind, observation in spy.seen[2:]:
        assert kind == "observation" and type(observation.proposal) is Proposal
        assert type(observation.observed) is float and type(observation.cost_s) is float
        assert all(type(v) is float for v in observation.objectives) and len(observation.objectives) == 2
    observed = np.array([o.observed for _, o in spy.seen[2:]])
    assert np.array_equal(observed, result.trajectory["observed"]) and not any(map(math.isnan, observed))
