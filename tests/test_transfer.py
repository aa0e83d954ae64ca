"""Transfer of predictors across datasets (surrogates/transfer.py, `nasbench surrogate transfer`)."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest
from scipy.stats import kendalltau

from nasbench_suite.cli import main
from nasbench_suite.surrogates.evaluation import EvaluationError
from nasbench_suite.surrogates.transfer import TRANSFER_METHODS, evaluate_transfer, log_error
from nasbench_suite.tabular import write_table
from tests.support import ToyChainSpace, synthetic_table


def _toy_task(n_noise: float = 0.5):
    space = ToyChainSpace(length=5, choices=3)
    archs = list(space.enumerate())
    keys = [space.format(a) for a in archs]
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(5, 3))
    base = np.array([weights[np.arange(5), a].sum() for a in archs])
    source = 80 + 2 * base + rng.normal(0, n_noise, len(keys))
    shift = np.array([a[0] == 2 for a in archs], dtype=float)  # one systematic difference
    target = 60 + 3 * base + 2 * shift + rng.normal(0, n_noise, len(keys))
    return space, keys, source, target


def test_every_method_shares_the_splits_and_only_transfer_methods_run_at_size_zero():
    space, keys, source, target = _toy_task()
    result = evaluate_transfer(space, keys, source, target, train_sizes=[0, 10, 40], trials=2)
    sizes = {(r["model"], r["train_size"]) for r in result.trials}
    assert ("target-only", 0) not in sizes
    assert {m for m, s in sizes if s == 0} == {"zero-shot", "residual", "meta"}
    assert {m for m, s in sizes if s == 40} == set(TRANSFER_METHODS)
    at_zero = [r for r in result.trials if r["train_size"] == 0 and r["test_set"] == "all"]
    expected = kendalltau(target, source).statistic
    for row in at_zero:  # no target label: every method ranks by the source
        assert row["n_test"] == len(keys)
        assert row["kendall_tau"] == pytest.approx(expected)
    n_test = {r["n_test"] for r in result.trials if r["train_size"] == 10 and r["test_set"] == "all"}
    assert n_test == {len(keys) - 10}


def test_residual_learns_a_systematic_difference_and_meta_keeps_the_prior():
    space, keys, source, target = _toy_task(n_noise=0.1)
    result = evaluate_transfer(space, keys, source, target, train_sizes=[100], trials=2)
    tau = {}
    for r in result.trials:
        if r["test_set"] == "all":
            tau.setdefault(r["model"], []).append(r["kendall_tau"])
    # the shift is invisible to the source, so the source representation may not carry it
    assert np.mean(tau["meta"]) > np.mean(tau["zero-shot"]) - 0.01
    assert np.mean(tau["residual"]) > np.mean(tau["zero-shot"]) + 0.02


def test_log_error_is_monotone():
    assert np.all(np.diff(log_error(np.array([10.0, 50.0, 90.0, 99.0, 100.0, 100.4]))) > 0)


def test_unknown_method_is_named():
    space, keys, source, target = _toy_task()
    with pytest.raises(EvaluationError, match="nope"):
        evaluate_transfer(space, keys, source, target, train_sizes=[10], trials=1, methods=["nope"])


@pytest.fixture(scope="module")
def two_dataset_table(tmp_path_factory):
    space = ToyChainSpace()
    n = len(list(space.enumerate()))
    data = synthetic_table(n_archs=n, missing_fraction=0.0)
    toy = data.datasets["toy"]
    rng = np.random.default_rng(1)
    other = dataclasses.replace(
        toy,
        per_seed={
            **toy.per_seed,
            "valid_acc": toy.per_seed["valid_acc"] * 0.8 + rng.normal(0, 1, toy.present.shape),
        },
    )
    data.datasets["toy2"] = other
    path = tmp_path_factory.mktemp("transfer") / "two.h5"
    write_table(path, data)
    return path


def test_cli_writes_the_report_of_every_ordered_pair(two_dataset_table, tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["surrogate", "transfer", str(two_dataset_table), "--source", "toy,toy2", "--target", "toy,toy2"]
    assert main([*argv, "--train-sizes", "0,10,20", "--trials", "2", "-o", str(out), "--name", "t"]) == 0
    report = json.loads((out / "t.json").read_text())
    assert [(p["source"], p["target"]) for p in report["pairs"]] == [("toy", "toy2"), ("toy2", "toy")]
    for pair in report["pairs"]:
        assert pair["ceiling"]["available"]
        assert [v["train_size"] for v in pair["verdicts"]] == [10]
        assert {r["model"] for r in pair["summary"]} == set(TRANSFER_METHODS)
    assert (out / "t.png").stat().st_size > 0
    markdown = (out / "t.md").read_text()
    assert "toy -> toy2" in markdown and "beats both" in markdown and "Seed-noise ceiling" in markdown
    assert "toy2 -> toy" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [
        ["--source", "toy", "--target", "toy"],
        ["--source", "toy", "--target", "toy2", "--methods", "nope"],
        ["--source", "toy", "--target", "toy2", "--train-sizes", "-1"],
        ["--source", "toy", "--target", "nope"],
    ],
    ids=["same", "method", "size", "dataset"],
)
def test_cli_errors_are_one_line(two_dataset_table, capsys, extra):
    assert main(["surrogate", "transfer", str(two_dataset_table), *extra]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_enumeration_helper_covers_the_toy_space():
    assert len(list(itertools.islice(ToyChainSpace(length=5, choices=3).enumerate(), 1000))) == 243
