"""The surrogate benchmark: answers like a table (seed policies, noise, cost), errors, the runner,
and the shipped NB201 surrogate (``open_benchmark("nb201")``)."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import open_benchmark
from nasbench_suite.bench import PredictDistUnsupportedError, SeedPolicyError
from nasbench_suite.bench import surrogate as surrogate_module
from nasbench_suite.errors import (
    MalformedArchError,
    UnknownDatasetError,
    UnknownEpochError,
    UnknownMetricError,
    UnknownSeedError,
)
from nasbench_suite.surrogates.fitting import fit_surrogate
from nasbench_suite.tabular import write_table
from tests.support import synthetic_table


def learnable_table():
    """The 81-arch toy table with an additive accuracy (plus 1 point of seed noise) to learn."""
    data = synthetic_table(n_archs=81, missing_fraction=0.1)
    ds = data.datasets["toy"]
    rng = np.random.default_rng(5)
    effects = rng.normal(0, 4, (4, 3))
    truth = 70 + np.array([sum(effects[i, int(c)] for i, c in enumerate(k.split("-"))) for k in data.keys])
    noisy = truth[:, None] + rng.normal(0, 1.0, ds.present.shape)
    ds.per_seed["valid_acc"] = np.where(ds.present, noisy, np.nan)
    return data


@pytest.fixture(scope="module")
def toy_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("surrogate-bench")
    write_table(root / "toy.h5", learnable_table())
    return fit_surrogate(root / "toy.h5", root / "toy", params={"n_estimators": 20}, cv_folds=0)


@pytest.fixture
def bench(toy_path):
    return open_benchmark(toy_path)


@pytest.fixture
def archs(bench):
    return [bench.space.key(a) for a in bench.space.enumerate()]


def test_describes_itself_like_a_table(bench, archs):
    assert bench.datasets == ["toy"] and bench.seeds("toy") == (0, 1, 2) and bench.epochs("toy") == ()
    assert bench.metric_names("toy") == ["train_time_s", "valid_acc"]
    assert bench.reference_archs("toy") == archs
    assert set(bench.evaluation("toy")) == {"train_time_s", "valid_acc"}


def test_seed_policies(bench, archs, toy_path):
    mean = bench.query_batch(archs, "toy", "mean")
    assert (mean["seed"] == -1).all() and np.allclose(mean["cost_s"], mean["train_time_s"])
    one = bench.query(archs[5], "toy", "mean")
    assert one.metrics["valid_acc"] == mean["valid_acc"][5] and one.seed == "mean"
    # a stored seed: the same draw in any order, on any instance, and noisy around the mean
    seed1 = bench.query_batch(archs, "toy", 1)["valid_acc"].to_numpy()
    reverse = open_benchmark(toy_path).query_batch(archs[::-1], "toy", 1)["valid_acc"].to_numpy()
    assert np.array_equal(seed1, reverse[::-1])
    assert bench.query(archs[7], "toy", 1).metrics["valid_acc"] == seed1[7]
    seed2 = bench.query_batch(archs, "toy", 2)["valid_acc"].to_numpy()
    assert not np.array_equal(seed1, seed2) and ((seed1 >= 0) & (seed1 <= 100)).all()
    # the cost has no seed noise (the table's training time is one per architecture)
    assert np.array_equal(bench.query_batch(archs, "toy", 2)["cost_s"], mean["cost_s"])
    # "sample": reproducible from the generator state
    a = bench.query_batch(archs, "toy", "sample", rng=np.random.default_rng(4))["valid_acc"]
    b = bench.query_batch(archs, "toy", "sample", rng=np.random.default_rng(4))["valid_acc"]
    assert np.array_equal(a, b) and not np.array_equal(a, mean["valid_acc"])
    with pytest.raises(SeedPolicyError, match="needs rng"):
        bench.query(archs[0], "toy", "sample")


def test_sampled_spread_follows_the_noise_model(bench, archs):
    ds = bench._dataset("toy")
    mean = bench.query_batch(archs, "toy", "mean")["valid_acc"].to_numpy()
    rng = np.random.default_rng(0)
    draws = np.stack([bench.query_batch(archs, "toy", "sample", rng=rng)["valid_acc"] for _ in range(400)])
    expected = ds.noise.std(mean)
    unclipped = (mean - 3 * expected > 0) & (mean + 3 * expected < 100)
    assert unclipped.sum() > 10
    assert np.allclose(draws.std(axis=0)[unclipped], expected[unclipped], rtol=0.2)


def test_errors_are_named(bench, archs):
    with pytest.raises(UnknownDatasetError, match="'cifar10'"):
        bench.query(archs[0], "cifar10")
    with pytest.raises(UnknownSeedError, match="seed 7 is not stored"):
        bench.query(archs[0], "toy", 7)
    with pytest.raises(SeedPolicyError):
        bench.query(archs[0], "toy", True)
    with pytest.raises(UnknownMetricError, match="test_acc"):
        bench.query(archs[0], "toy", metrics=["test_acc"])
    with pytest.raises(UnknownEpochError, match="final results only"):
        bench.query(archs[0], "toy", epoch=3)
    assert bench.query(archs[0], "toy", epoch=10).epoch == 10  # the protocol's last epoch is the final result
    with pytest.raises(MalformedArchError):
        bench.query("not-an-arch", "toy")
    with pytest.raises(MalformedArchError, match="sequence"):
        bench.query_batch(archs[0], "toy")
    assert set(bench.query(archs[0], "toy", metrics="all").metrics) == {"train_time_s", "valid_acc"}


def test_lazy_predictions_match_the_enumerated_ones(toy_path, archs, monkeypatch):
    whole = open_benchmark(toy_path).query_batch(archs, "toy", 0)
    monkeypatch.setattr(surrogate_module, "ENUMERATE_LIMIT", 0)
    lazy = open_benchmark(toy_path)
    first = lazy.query_batch(archs[10:20], "toy", 0)
    assert len(lazy._dataset("toy").keys) == 10
    assert np.array_equal(first["valid_acc"], whole["valid_acc"][10:20])
    assert np.array_equal(lazy.query_batch(archs, "toy", 0)["valid_acc"], whole["valid_acc"])


def test_predict_dist_combines_model_and_seed_noise(bench, archs):
    mean, std = bench.predict_dist(archs, "toy")
    assert np.array_equal(mean, bench.query_batch(archs, "toy", "mean")["valid_acc"])
    assert (std >= bench._dataset("toy").noise.std(mean) - 1e-12).all()
    cost, cost_std = bench.predict_dist(archs[:3], "toy", "train_time_s")
    assert np.allclose(cost, bench.query_batch(archs[:3], "toy", "mean")["cost_s"]) and (cost_std >= 0).all()
    with pytest.raises(UnknownMetricError):
        bench.predict_dist(archs, "toy", "params_m")


def test_predict_dist_is_an_optional_capability(bench, archs, toy_path):
    """A surrogate declares it; a table does not have it and says so by a named error."""
    assert bench.supports_predict_dist
    table = open_benchmark(toy_path.parent / "toy.h5")
    assert not table.supports_predict_dist
    with pytest.raises(PredictDistUnsupportedError, match="no predictive distribution"):
        table.predict_dist(archs, "toy")


def test_the_runner_runs_on_a_surrogate(toy_path):
    from nasbench_suite.experiments import RunConfig, run

    config = RunConfig("random", str(toy_path), "toy", seed=3, budget_evals=15)
    first, second = run(config), run(config)
    assert first.ok and first.summary["n_evals"] == 15
    assert np.array_equal(first.trajectory["observed"], second.trajectory["observed"])
    assert np.isfinite(first.summary["final_regret"]) and first.summary["final_regret"] >= 0


# --- the shipped NB201 surrogate ---------------------------------------------------------------


@pytest.fixture(scope="module")
def nb201():
    return open_benchmark("nb201")


def test_shipped_nb201_answers_like_the_table(nb201):
    assert nb201.datasets == ["ImageNet16-120", "cifar10-valid", "cifar100"]
    assert nb201.seeds("cifar10-valid") == (777, 888, 999)
    assert nb201.metric_names("cifar10-valid") == ["train_time_s", "valid_acc", "valid_acc_mean"]
    assert nb201.metric_names("cifar100") == ["test_acc", "train_time_s", "valid_acc_mean"]
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    worst = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    r = nb201.query(best, "cifar10-valid", 777, metrics="all")
    assert 88 < r.metrics["valid_acc"] < 93 and 88 < r.metrics["valid_acc_mean"] < 93
    assert 1000 < r.cost_s < 5000 and r.cost_s == r.metrics["train_time_s"]
    assert nb201.query(worst, "cifar10-valid").metrics["valid_acc"] < 20
    # isomorphic architectures (an op on an edge that reaches no output) get the same draw
    space = nb201.space
    groups: dict[str, list[str]] = {}
    for arch in space.enumerate():
        groups.setdefault(space.canonical_key(arch), []).append(space.key(arch))
        if len(groups[space.canonical_key(arch)]) == 2:
            pair = groups[space.canonical_key(arch)]
            break
    draws = nb201.query_batch(pair, "cifar10-valid", 888)["valid_acc"]
    assert draws[0] == draws[1]


def test_shipped_nb201_ranks_like_the_table(nb201, nb201_table):
    from scipy.stats import kendalltau

    table = open_benchmark(nb201_table)
    keys = table.reference_archs("cifar10-valid")
    truth = table.query_batch(keys, "cifar10-valid", "mean")["valid_acc"].to_numpy()
    predicted = nb201.query_batch(keys, "cifar10-valid", "mean")["valid_acc"].to_numpy()
    ok = np.isfinite(truth)
    assert kendalltau(truth[ok], predicted[ok]).statistic > 0.8


def test_shipped_nb201_needs_neither_torch_nor_ray():
    import subprocess
    import sys

    code = (
        "import sys; from nasbench_suite import open_benchmark; import nasbench_suite.bench.surrogate as s; "
        "s.ENUMERATE_LIMIT = 0; b = open_benchmark('nb201'); "  # predict one arch, not the whole space
        "b.query('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', 'cifar100'); "
        "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
