"""Executors: serial, local process pool and a local Ray instance give identical results."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import search, spaces
from nasbench_suite.experiments import RunConfig
from nasbench_suite.experiments.executors import ExecutorError, RunFailedError, run_many
from nasbench_suite.search.base import StrategyError
from nasbench_suite.tabular import write_table
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData
from tests.support import sparse_curves_table
from tests.test_runner import assert_same_trajectory


def synthetic_nb201(seed: int = 0) -> TableData:
    """Random results for all 15,625 NB201 archs (Ray workers know the nb201 space, not test spaces)."""
    space = spaces.get("nb201")
    keys = [space.key(a) for a in space.enumerate()]
    rng = np.random.default_rng(seed)
    n, s = len(keys), 2
    present = np.ones((n, s), dtype=bool)
    ds = DatasetData(
        seeds=np.array([777, 888], dtype=np.int64),
        present=present,
        per_seed={"valid_acc": rng.uniform(10, 95, (n, s)), "train_time_s": rng.uniform(500, 3000, (n, s))},
        per_arch={"params_m": rng.uniform(0.1, 1.5, n)},
        metrics={
            "valid_acc": MetricInfo("%", "validation accuracy"),
            "train_time_s": MetricInfo("s", "training time"),
            "params_m": MetricInfo("M", "parameters"),
        },
        protocol={"epochs": 200},
        provenance={"source": "synthetic", "time_hardware": "none"},
    )
    return TableData(space="nb201", keys=keys, datasets={"syn": ds}, description="synthetic NB201 results")


@pytest.fixture(scope="module")
def nb201_synthetic(tmp_path_factory):
    path = tmp_path_factory.mktemp("exec") / "syn201.h5"
    write_table(path, synthetic_nb201())
    return str(path)


def sweep(bench: str) -> list[RunConfig]:
    return [
        RunConfig(strategy, bench, "syn", seed=seed, workers=workers, budget_s=12_000.0)
        for strategy in ("random", "rea", "local-search")
        for seed in range(3)
        for workers in (1, 3)
    ]


def assert_same_results(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.config == y.config and x.status == y.status
        assert_same_trajectory(x.trajectory, y.trajectory)
        keys = sorted(set(x.summary) - {"wall_s"})
        assert keys == sorted(set(y.summary) - {"wall_s"})
        assert np.array_equal([x.summary[k] for k in keys], [y.summary[k] for k in keys], equal_nan=True)


def test_serial_and_local_pool_agree_whatever_the_chunking(nb201_synthetic):
    configs = sweep(nb201_synthetic)
    serial = run_many(configs, "serial")
    assert [r.config for r in serial] == configs
    assert all(r.ok and len(r.trajectory["eval"]) > 3 for r in serial)
    assert_same_results(serial, run_many(configs, "local", processes=2))
    assert_same_results(serial, run_many(configs, "local", processes=2, chunk_size=1))
    weights = [5.0 if i % 3 == 0 else 1.0 for i in range(len(configs))]
    assert_same_results(serial, run_many(configs, "local", processes=2, weights=weights))


def test_weighted_chunks_keep_the_order_and_give_heavy_runs_small_tasks():
    from nasbench_suite.experiments.executors import MAX_CHUNK, TASKS_PER_PROCESS, _chunks

    configs = list(range(300))  # _chunks only groups: any items do
    weights = [40.0] * 20 + [1.0] * 280
    chunks = _chunks(configs, 2, None, weights)
    assert [c for chunk in chunks for c in chunk] == configs
    share = sum(weights) / (TASKS_PER_PROCESS * 2)
    position = 0
    for chunk in chunks:
        load = sum(weights[position : position + len(chunk)])
        assert len(chunk) <= MAX_CHUNK and (load <= share or len(chunk) == 1)
        position += len(chunk)
    assert max(len(chunk) for chunk in chunks[:5]) <= 1 + share // 40  # the heavy runs, in small tasks
    with pytest.raises(ExecutorError, match="2 weights for 3 runs"):
        run_many(configs[:3], "serial", weights=[1.0, 1.0])


def test_multi_fidelity_strategies_agree_across_executors_on_a_sparse_table(tmp_path):
    """ASHA and BOHB (its density model) on a pool view of a sparse curves table, W = 1 and 3."""
    path = tmp_path / "sparse.h5"
    write_table(path, sparse_curves_table(n_archs=60))
    configs = [
        RunConfig(name, str(path), "toy-curves", seed=2, workers=w, budget_evals=40, search_pool="table")
        for name in ("asha", "bohb")
        for w in (1, 3)
    ]
    serial = run_many(configs, "serial")
    assert all(r.ok and np.isfinite(r.trajectory["observed"]).all() for r in serial)
    assert_same_results(serial, run_many(configs, "local", processes=2, chunk_size=1))


def test_model_based_strategies_agree_across_executors(nb201_synthetic):
    """Fitted models (neural ensembles, boosted trees) give the same runs in any process."""
    names = [
        n
        for n in search.available()
        if search.strategy_class(n).model_based
        and not search.strategy_class(n).multi_fidelity
        and not search.strategy_class(n).proxy_guided  # needs a table with proxies
        and not search.strategy_class(n).warm_started  # needs a second dataset: tests/test_warm_start.py
    ]
    assert {"bananas", "xgb-bo"} <= set(names)
    configs = [
        RunConfig(name, nb201_synthetic, "syn", seed=1, workers=workers, budget_evals=25)
        for name in names
        for workers in (1, 3)
    ]
    serial = run_many(configs, "serial")
    assert all(r.ok and len(r.trajectory["eval"]) == 25 for r in serial)
    assert_same_results(serial, run_many(configs, "local", processes=2, chunk_size=1))


def test_local_ray_instance_agrees_with_serial(nb201_synthetic, environment_restored):
    pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'nasbench-suite[ray]')")
    configs = sweep(nb201_synthetic)[:12]
    seen = []
    ray_results = run_many(configs, "ray", processes=2, chunk_size=3, on_progress=seen.append)
    assert sum(seen) == len(configs)
    assert_same_results(run_many(configs, "serial"), ray_results)
    bad = configs[0].replace(dataset="nope")
    with pytest.raises(RunFailedError, match="UnknownDatasetError") as failure:
        run_many([bad], "ray", processes=1)
    assert "Traceback" not in str(failure.value) and type(failure.value) is RunFailedError


def test_bad_executor_settings(nb201_synthetic):
    configs = sweep(nb201_synthetic)[:1]
    with pytest.raises(ExecutorError, match="unknown executor"):
        run_many(configs, "dask")
    with pytest.raises(ExecutorError, match="processes"):
        run_many(configs, "local", processes=0)
    with pytest.raises(ExecutorError, match="ray"):
        run_many(configs, "local", ray_address="127.0.0.1:6379")
    assert run_many([], "local") == []


def test_strategy_errors_raise_or_become_not_applicable(nb201_synthetic):
    bad = RunConfig("rea", nb201_synthetic, "syn", budget_evals=5, strategy_options={"sample_size": 99})
    with pytest.raises(StrategyError, match="sample_size"):
        run_many([bad], "local", processes=2)
    (result,) = run_many([bad], "serial", tolerate_strategy_errors=True)
    assert result.status == "not-applicable" and "sample_size" in result.message


def test_a_failing_run_in_a_worker_is_one_named_error(nb201_synthetic):
    """An error whose __init__ takes several arguments cannot be unpickled by the pool: the worker
    sends a RunFailedError naming the run and the original error instead of breaking the pool."""
    from nasbench_suite.errors import UnknownDatasetError

    good = RunConfig("random", nb201_synthetic, "syn", budget_evals=5)
    bad = good.replace(dataset="nope", seed=3)
    with pytest.raises(UnknownDatasetError):
        run_many([good, bad], "serial")
    with pytest.raises(RunFailedError, match=r"random on nope \(seed 3.*UnknownDatasetError.*nope"):
        run_many([good, bad, good], "local", processes=2, chunk_size=1)
