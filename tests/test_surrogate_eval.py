"""The surrogate evaluation harness: metrics, seed-noise ceiling, noise model, reports."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.surrogates.evaluation import (
    EvaluationError,
    evaluate_predictors,
    precision_at_top,
    ranking_metrics,
    seed_noise_ceiling,
)
from nasbench_suite.surrogates.noise import (
    NoiseModelError,
    SeedNoiseModel,
    fit_noise_model,
    noise_check,
    seed_stats,
)
from nasbench_suite.surrogates.predictors.base import Predictor
from nasbench_suite.surrogates.report import evaluation_markdown, write_evaluation_report
from nasbench_suite.surrogates.table_evaluation import evaluate_table
from nasbench_suite.tabular import write_table
from tests.support import synthetic_table


class RidgeOnCodes(Predictor):
    """A tiny test predictor: ridge regression on the one-hot of the space's decision codes."""

    name = "test-ridge"
    defaults: ClassVar[dict] = {"alpha": 1.0}

    def _x(self, archs):
        sizes = [len(d.options) for d in self.space.decisions()]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        x = np.zeros((len(archs), sum(sizes)))
        for i, a in enumerate(archs):
            x[i, offsets + np.asarray(self.space.to_codes(a))] = 1.0
        return x

    def fit(self, archs, y):
        from sklearn.linear_model import Ridge

        self.model_ = Ridge(alpha=self.params["alpha"]).fit(self._x(archs), np.asarray(y))
        return self

    def predict_dist(self, archs):
        mean = self.model_.predict(self._x(archs))
        return mean, np.zeros_like(mean)


def ridge(space, seed):
    return RidgeOnCodes(space, seed=seed)


def additive_problem(n_noise=0.5, seed=0):
    """All 81 toy-chain archs with an additive true value plus per-seed noise (3 seeds)."""
    space = spaces.get("test-chain")
    rng = np.random.default_rng(seed)
    effects = rng.normal(0, 5, (space.length, space.choices))
    archs = list(space.enumerate())
    truth = 60 + np.array([sum(effects[i, c] for i, c in enumerate(a)) for a in archs])
    per_seed = truth[:, None] + rng.normal(0, n_noise, (len(archs), 3))
    return space, archs, truth, per_seed


# --- metrics ----------------------------------------------------------------------


def test_perfect_prediction_scores_one():
    y = np.linspace(50, 90, 200)
    m = ranking_metrics(y, y)
    assert m["kendall_tau"] == pytest.approx(1) and m["spearman"] == pytest.approx(1)
    assert m["r2"] == pytest.approx(1) and m["mae"] == 0
    assert m["precision_top1pct"] == 1 and m["precision_top5pct"] == 1


def test_reversed_prediction_and_precision():
    y = np.arange(100.0)
    m = ranking_metrics(y, -y)
    assert m["kendall_tau"] == pytest.approx(-1)
    assert m["precision_top5pct"] == 0
    # top 10 of 100: half of the predicted top 10 are right
    pred = y.copy()
    pred[95:] = 0
    assert precision_at_top(y, pred, 0.1) == pytest.approx(0.5)


def test_sparse_tau_treats_sub_resolution_differences_as_ties():
    y = np.array([80.0, 80.01, 80.02, 90.0])
    pred = np.array([80.02, 80.01, 80.0, 90.0])  # inverted within 0.1 points
    m = ranking_metrics(y, pred)
    assert m["kendall_tau"] < m["sparse_kendall_tau"] == pytest.approx(1)


# --- ceiling and noise ------------------------------------------------------------


def test_ceiling_is_one_without_noise_and_drops_with_noise():
    _, _, truth, _ = additive_problem()
    present = np.ones((len(truth), 3), bool)
    exact = seed_noise_ceiling(np.repeat(truth[:, None], 3, axis=1), present)
    assert exact["kendall_tau_seed_vs_seed"] == pytest.approx(1)
    _, _, _, noisy = additive_problem(n_noise=3.0)
    c = seed_noise_ceiling(noisy, present)
    assert 0 < c["kendall_tau_seed_vs_seed"] < c["kendall_tau_seed_vs_rest"] < 1
    assert c["n_archs"] == len(truth)


def test_ceiling_ignores_missing_seeds():
    _, _, _, per_seed = additive_problem()
    present = np.ones(per_seed.shape, bool)
    present[::2, 2] = False
    holes = np.where(present, per_seed, np.nan)
    c = seed_noise_ceiling(holes, present)
    assert np.isfinite(c["kendall_tau_seed_vs_rest"])
    with pytest.raises(EvaluationError, match="2 seeds"):
        seed_noise_ceiling(holes[:, :1], present[:, :1])


def test_noise_model_recovers_heteroscedastic_spread():
    rng = np.random.default_rng(1)
    mean = rng.uniform(10, 90, 4000)
    true_std = 0.2 + 0.02 * (90 - mean)
    per_seed = mean[:, None] + true_std[:, None] * rng.standard_normal((4000, 3))
    present = np.ones(per_seed.shape, bool)
    model = fit_noise_model(per_seed, present, n_bins=10)
    assert np.allclose(model.std([20, 50, 80]), 0.2 + 0.02 * (90 - np.array([20, 50, 80])), rtol=0.15)
    check = noise_check(model, per_seed, present, np.random.default_rng(2))
    assert check["ks_statistic"] < 0.05
    for b in check["bins"]:
        assert b["model_diff_std"] == pytest.approx(b["table_diff_std"], rel=0.15)
    again = SeedNoiseModel.from_json(json.loads(json.dumps(model.to_json())))
    assert np.array_equal(again.centres, model.centres) and np.array_equal(again.stds, model.stds)
    assert (model.sample(np.array([99.9]), np.array([50.0])) <= 100).all()


def test_noise_model_errors_are_named():
    with pytest.raises(NoiseModelError, match="at least 10"):
        fit_noise_model(np.ones((5, 2)), np.ones((5, 2), bool))
    with pytest.raises(NoiseModelError, match="kind"):
        SeedNoiseModel.from_json({"kind": "gp"})
    mean, var, count = seed_stats(np.array([[1.0, np.nan]]), np.array([[True, False]]))
    assert mean[0] == 1 and np.isnan(var[0]) and count[0] == 1


# --- harness ------------------------------------------------------------------------


def test_harness_learns_an_additive_problem_and_is_seeded():
    space, archs, truth, _ = additive_problem()
    run = dict(train_sizes=[5, 40, 500], trials=3, seed=7)
    result = evaluate_predictors(space, archs, truth, {"ridge": ridge}, **run)
    assert result.settings["train_sizes"] == [5, 40] and result.settings["dropped_train_sizes"] == [500]
    summary = {(r["train_size"], r["test_set"]): r for r in result.summary()}
    assert summary[(40, "all")]["kendall_tau"]["mean"] > 0.95
    assert summary[(40, "all")]["n_test"] == 41 and summary[(40, "top10")]["n_test"] < 10
    assert summary[(40, "all")]["n_trials"] == 3
    again = evaluate_predictors(space, archs, truth, {"ridge": ridge}, **run)
    strip = [{k: v for k, v in r.items() if not k.endswith("_s")} for r in result.trials]
    assert strip == [{k: v for k, v in r.items() if not k.endswith("_s")} for r in again.trials]


def test_harness_rejects_bad_settings():
    space, archs, truth, _ = additive_problem()
    with pytest.raises(EvaluationError, match="no training size"):
        evaluate_predictors(space, archs, truth, {"ridge": ridge}, train_sizes=[1000], trials=1)
    with pytest.raises(EvaluationError, match="targets"):
        evaluate_predictors(space, archs, truth[:-1], {"ridge": ridge}, train_sizes=[10], trials=1)


def test_table_report_has_ceiling_markdown_json_and_plot(tmp_path):
    table = tmp_path / "toy.h5"
    write_table(table, synthetic_table(n_archs=81, missing_fraction=0.1))
    report = evaluate_table(table, "toy", {"ridge": ridge}, train_sizes=[10, 40], trials=2)
    assert report["target"] == "valid_acc" and report["ceiling"]["available"]
    paths = write_evaluation_report(report, tmp_path / "out", "toy")
    assert [p.suffix for p in paths] == [".json", ".md", ".png"] and all(p.stat().st_size for p in paths)
    data = json.loads(paths[0].read_text())
    assert data["settings"]["trials"] == 2 and len(data["trials"]) == 2 * 2 * 2
    text = evaluation_markdown(report)
    assert "Seed-noise ceiling" in text and "| ridge | 40 |" in text
    per_arch = evaluate_table(table, "toy", {"ridge": ridge}, train_sizes=[10], trials=1, target="params_m")
    assert not per_arch["ceiling"]["available"]
    assert "per architecture only" in evaluation_markdown(per_arch)


def test_nb201_ceiling_matches_the_published_spread(nb201_table):
    from nasbench_suite.surrogates.table_evaluation import table_targets
    from nasbench_suite.tabular import Table

    with Table(nb201_table) as t:
        data = table_targets(t, "cifar10-valid")
    c = seed_noise_ceiling(data.per_seed, data.present)
    # seeds agree closely overall, much less among the best 10 % (where search happens)
    assert 0.75 < c["kendall_tau_seed_vs_seed"] < 0.95
    assert c["top10_kendall_tau_seed_vs_seed"] < c["kendall_tau_seed_vs_seed"] - 0.2


# --- CLI -------------------------------------------------------------------------------


@pytest.fixture
def toy_table_path(tmp_path):
    path = tmp_path / "toy.h5"
    write_table(path, synthetic_table(n_archs=81, missing_fraction=0.1))
    return path


def test_evaluate_cli_writes_report_and_prints_json(toy_table_path, tmp_path, capsys):
    from nasbench_suite.cli import main

    args = ["surrogate", "evaluate", str(toy_table_path), "--dataset", "toy", "--model", "xgb,rf"]
    args += ["--train-sizes", "10,40", "--trials", "2", "--param", "xgb.n_estimators=10"]
    args += ["--param", "rf.n_estimators=5", "-o", str(tmp_path / "out"), "--name", "toy-report", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["settings"]["models"] == ["xgb", "rf"] and report["settings"]["train_sizes"] == [10, 40]
    assert report["settings"]["params"] == {"xgb": {"n_estimators": 10}, "rf": {"n_estimators": 5}}
    assert report["ceiling"]["available"] and report["machine"] and report["generated"]
    assert len(report["trials"]) == 2 * 2 * 2 * 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "toy-report.json",
        "toy-report.md",
        "toy-report.png",
    ]
    markdown = (tmp_path / "out" / "toy-report.md").read_text()
    assert "## Seed-noise ceiling" in markdown and "| rf | 40 |" in markdown


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "xgb,nope"], "unknown predictor 'nope'"),
        (["--train-sizes", "10,x"], "expected comma-separated integers"),
        (["--train-sizes", "1000"], "no training size"),
        (["--trials", "0"], "--trials must be >= 1"),
        (["--param", "rf.n_estimators=5"], "model 'rf' is not among --model xgb"),
        (["--param", "n_estimators=5"], "expected MODEL.NAME=VALUE"),
        (["--param", "xgb.depth=5"], "unknown parameter"),
        (["--dataset", "cifar"], "unknown dataset 'cifar'"),
        (["--target", "test_acc"], "test_acc"),
    ],
)
def test_evaluate_cli_bad_input_is_one_line(toy_table_path, capsys, extra, message):
    from nasbench_suite.cli import main

    args = ["surrogate", "evaluate", str(toy_table_path), "--dataset", "toy", "--train-sizes", "10"]
    args += ["--trials", "1", "--param", "xgb.n_estimators=5"]
    args = [*args, *extra] if "--dataset" not in extra else [*args[:3], *extra, *args[5:]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_decoupling_noise_restores_the_residual_spread():
    from nasbench_suite.surrogates.noise import fit_decoupling_noise

    rng = np.random.default_rng(3)
    smooth = rng.uniform(40, 90, 3000)
    reference = smooth + rng.normal(0, 0.3, 3000)
    value = 0.9 * smooth + 5 + rng.normal(0, 1.5, 3000)  # another split: follows the reference loosely
    fitted_reference, fitted_value = smooth, 0.9 * smooth + 5  # a model predicts both smoothly
    noise = fit_decoupling_noise(value, reference, fitted_value, fitted_reference, n_bins=5)
    assert np.allclose(noise.stds, np.sqrt(1.5**2 + (0.9 * 0.3) ** 2), rtol=0.15)
    assert fit_decoupling_noise(value[:10], reference[:10], fitted_value[:10], fitted_reference[:10]) is None
    # a model that already spreads as much as the table adds nothing
    assert np.allclose(fit_decoupling_noise(value, reference, value, reference).stds, 0)


def test_hash_keyed_table_takes_its_architectures_from_a_file(tmp_path):
    from nasbench_suite import importers
    from tests.support import data_path

    lines = data_path("nb101", "nb101_sample_2500.jsonl").read_text().splitlines(keepends=True)
    source = tmp_path / "sample.jsonl"
    source.write_text("".join(lines[:200]))
    table = tmp_path / "nb101.h5"
    write_table(table, importers.import_table("nb101", source))
    few = {"rf": {"n_estimators": 5}}
    report = evaluate_table(
        table, "cifar10", ["rf"], train_sizes=[50], trials=1, params=few, archs_file=source
    )
    assert report["target"] == "test_acc_mean" and not report["ceiling"]["available"]
    assert report["summary"][0]["n_test"] == 150
    half = tmp_path / "half.jsonl"
    half.write_text("".join(lines[:100]))
    with pytest.raises(EvaluationError, match="lacks 100 of the table's 200"):
        evaluate_table(table, "cifar10", ["rf"], train_sizes=[50], trials=1, params=few, archs_file=half)


def test_evaluate_cli_writes_its_plot_without_o(toy_table_path, tmp_path, capsys, monkeypatch):
    from nasbench_suite.cli import main

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    args = ["surrogate", "evaluate", str(toy_table_path), "--dataset", "toy", "--model", "xgb"]
    assert main([*args, "--train-sizes", "10,20", "--trials", "1", "--param", "xgb.n_estimators=5"]) == 0
    assert sorted(p.name for p in here.iterdir()) == [f"test-chain-toy.{s}" for s in ("json", "md", "png")]
    assert "wrote " in capsys.readouterr().err


def test_evaluate_table_gives_proxies_to_the_models_that_take_them(tmp_path):
    from nasbench_suite.errors import UnknownMetricError
    from nasbench_suite.tabular import MetricInfo

    data = synthetic_table(n_archs=81, seed=2)
    ds = data.datasets["toy"]
    rng = np.random.default_rng(1)
    good = rng.normal(size=81)
    good[:6] = np.nan  # six architectures without a value of one proxy (NB201's dead-path ones)
    ds.per_arch.update({"zc_good": good, "zc_noise": rng.normal(size=81), "zc_time_s": np.ones(81)})
    ds.metrics.update({m: MetricInfo("", m) for m in ("zc_good", "zc_noise", "zc_time_s")})
    path = tmp_path / "zc.h5"
    write_table(path, data)
    fast = {"n_estimators": 20, "n_jobs": 1}
    models = ["xgb", "xgb-zc", "xgb-zc-only"]
    report = evaluate_table(
        path, "toy", models, train_sizes=(20,), trials=2, params=dict.fromkeys(models, fast), proxies=["all"]
    )
    assert report["proxies"]["names"] == ["good", "noise"]  # zc_time_s is a cost, not a proxy
    assert (report["proxies"]["n_with"], report["proxies"]["n_without"]) == (75, 6)
    assert report["settings"]["n_archs"] == 75  # every model on the same architectures
    assert report["settings"]["model_params"]["xgb-zc"]["values"].endswith("good, noise")
    assert "6 without left out" in evaluation_markdown(report)
    with pytest.raises(EvaluationError, match="takes one proxy"):
        evaluate_table(path, "toy", ["zc"], train_sizes=(20,), trials=1, proxies=["all"])
    one = evaluate_table(path, "toy", ["zc"], train_sizes=(20,), trials=1, proxies=["good"])
    assert {r["model"] for r in one["summary"]} == {"zc"}
    with pytest.raises(UnknownMetricError, match="zc_nope"):
        evaluate_table(path, "toy", ["xgb-zc"], train_sizes=(20,), trials=1, proxies=["nope"])
