"""The learning-curve surrogate: fitted on a synthetic NB201 table with curves, it answers every
architecture at every epoch with curve-shaped seed noise, and multi-fidelity search runs on it."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest

from nasbench_suite import open_benchmark, spaces
from nasbench_suite.bench.curve_surrogate import SAMPLED_SEEDS, CurveSurrogateBenchmark
from nasbench_suite.bench.surrogate import SurrogateBenchmark
from nasbench_suite.bench.tabular import SeedPolicyError, TabularBenchmark
from nasbench_suite.errors import SurrogateArtefactError, TableNotFoundError, UnknownEpochError
from nasbench_suite.experiments.runner import RunConfig, run
from nasbench_suite.surrogates import artefact
from nasbench_suite.surrogates.curves import fit_curve_surrogate
from nasbench_suite.tabular import shipped as shipped_tables
from nasbench_suite.tabular import write_table
from tests.support import nb201_curve_table

DATASET = "toy@nb201-cpu"
EPOCHS = 6
#: Small, fast trees: the tests check the machinery, not the fidelity.
PARAMS = {"n_estimators": 40, "learning_rate": 0.2, "n_jobs": 1, "encoding": "onehot"}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    table = root / "nb201-cpu.h5"
    write_table(table, nb201_curve_table(n_archs=80, epochs=EPOCHS, n_second_seed=40))
    out = fit_curve_surrogate(table, root / "nb201-cpu-lc", params=PARAMS, cv_folds=2)
    # One open benchmark for the module: its first query predicts all 15,625 architectures.
    return {"table": table, "artefact": out, "bench": open_benchmark(out)}


def test_the_artefact_records_per_epoch_fidelity_beside_the_ceiling(fitted):
    manifest = artefact.read_manifest(fitted["artefact"])
    entry = manifest["datasets"][DATASET]
    assert manifest["kind"] == artefact.CURVES and entry["epochs"] == list(range(1, EPOCHS + 1))
    # Both layouts were scored out of fold; the one shipped has the lower curve RMSE.
    figures = entry["layouts"]
    assert set(figures) == {"per-epoch", "basis"}
    assert entry["layout"] == min(figures, key=lambda k: figures[k]["curve_rmse"])
    rows = entry["curves"]["valid_acc"]["evaluation"]["per_epoch"]
    assert [r["epoch"] for r in rows] == entry["epochs"]
    assert all(0.3 < r["kendall_tau"] <= r["ceiling_tau"] + 0.2 and r["n_pairs"] == 40 for r in rows)
    # The synthetic runs' noise persists across epochs with lag-1 correlation 0.7 and the test
    # accuracy shares 0.8 of it with the valid accuracy: the fit finds both.
    noise = entry["noise"]
    assert 0.45 < noise["rho"] < 0.9 and 0.55 < noise["correlation"]["test_acc"] < 0.95
    assert entry["cost"]["profile"][0] > 1.15 > 1.05 > entry["cost"]["profile"][-1] > 0.9


def test_any_architecture_answers_at_every_epoch_with_cumulative_cost(fitted):
    assert isinstance(open_benchmark(fitted["artefact"]), CurveSurrogateBenchmark)
    bench = fitted["bench"]
    assert isinstance(bench, CurveSurrogateBenchmark)
    assert bench.epochs(DATASET) == tuple(range(1, EPOCHS + 1)) and bench.seeds(DATASET) == (777, 888)
    space = spaces.get("nb201")
    table_keys = set(TabularBenchmark(fitted["table"]).table.keys)
    rng = np.random.default_rng(3)
    arch = next(a for a in (space.key(space.sample(rng)) for _ in range(100)) if a not in table_keys)
    answers = [bench.query(arch, DATASET, "mean", epoch=e) for e in bench.epochs(DATASET)]
    costs = [r.cost_s for r in answers]
    assert all(b > a > 0 for a, b in itertools.pairwise(costs))
    assert costs[-1] == pytest.approx(sum(r["epoch_train_time_s"] for r in answers))
    final = bench.query(arch, DATASET, "mean")
    assert final.metrics == answers[-1].metrics and final.cost_s == answers[-1].cost_s
    assert set(final.metrics) == {"valid_acc", "test_acc", "train_time_s", "epoch_train_time_s"}
    with pytest.raises(UnknownEpochError, match=r"epochs 1\.\.6"):
        bench.query(arch, DATASET, "mean", epoch=EPOCHS + 1)
    with pytest.raises(SeedPolicyError):
        bench.query(arch, DATASET, -1)


def test_a_run_is_one_curve_whatever_the_order_of_the_questions(fitted):
    bench = fitted["bench"]
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    forward = [bench.query(arch, DATASET, 777, epoch=e)["valid_acc"] for e in bench.epochs(DATASET)]
    backward = [
        bench.query(arch, DATASET, 777, epoch=e)["valid_acc"] for e in reversed(bench.epochs(DATASET))
    ]
    assert forward == backward[::-1]
    assert forward == bench.curves([arch], DATASET, "valid_acc", 777)[0].tolist()
    assert forward != [bench.query(arch, DATASET, 888, epoch=e)["valid_acc"] for e in bench.epochs(DATASET)]
    # "sample" is a fresh run whose seed comes back, so a promotion resumes the same curve.
    first = bench.query(arch, DATASET, "sample", epoch=2, rng=np.random.default_rng(0))
    assert SAMPLED_SEEDS[0] <= first.seed
    resumed = bench.query(arch, DATASET, first.seed, epoch=2)
    assert resumed.metrics == first.metrics


def test_sampled_curves_are_correlated_over_epochs_like_the_table(fitted):
    bench = fitted["bench"]
    manifest = artefact.read_manifest(fitted["artefact"])
    rho = manifest["datasets"][DATASET]["noise"]["rho"]
    keys = TabularBenchmark(fitted["table"]).table.keys[:40]
    runs = np.stack([bench.curves(keys, DATASET, "valid_acc", s) for s in range(60)])  # (60, 40, E)
    residual = (runs - runs.mean(axis=0)).reshape(-1, EPOCHS)
    lag1 = np.corrcoef(residual[:, :-1].ravel(), residual[:, 1:].ravel())[0, 1]
    assert lag1 == pytest.approx(rho, abs=0.1)


@pytest.mark.parametrize("strategy", ["sh", "hyperband"])
def test_multi_fidelity_search_runs_on_every_architecture(fitted, strategy):
    bench = fitted["bench"]
    result = run(RunConfig(strategy, str(fitted["artefact"]), DATASET, seed=1, budget_evals=120), bench=bench)
    assert result.ok, result.message
    epochs = result.trajectory["epoch"]
    assert set(epochs.tolist()) > {EPOCHS} and epochs.min() >= 1
    # A promotion is charged only the epochs it adds, so some costs are below a fresh run's.
    fresh = bench.query_batch(result.trajectory["arch"].tolist(), DATASET, epoch=EPOCHS)["cost_s"].to_numpy()
    promoted = epochs == EPOCHS
    assert (result.trajectory["cost_s"][promoted] < 0.99 * fresh[promoted]).any()
    assert np.isfinite(result.summary["final_regret"]) and result.summary["final_regret"] >= 0
    # Reference set is the whole space, not the 80 trained architectures.
    assert len(bench.reference_archs(DATASET)) == 15_625


def test_a_table_evaluated_every_other_epoch_answers_at_those_epochs_and_charges_all(tmp_path):
    table = tmp_path / "sparse.h5"
    write_table(table, nb201_curve_table(n_archs=40, epochs=5, n_second_seed=20, eval_every=2))
    params = {**PARAMS, "n_estimators": 10}
    bench = open_benchmark(
        fit_curve_surrogate(table, tmp_path / "lc", params=params, layout="basis", cv_folds=0)
    )
    assert bench.epochs(DATASET) == (2, 4, 5)
    arch = TabularBenchmark(table).table.keys[0]
    at = {e: bench.query(arch, DATASET, 777, epoch=e) for e in bench.epochs(DATASET)}
    # Epoch 4's cost is four epochs of training, though only two were evaluated before it.
    assert at[4].cost_s > 3.5 * at[4]["epoch_train_time_s"]
    assert at[5].cost_s == pytest.approx(at[4].cost_s + at[5]["epoch_train_time_s"])
    with pytest.raises(UnknownEpochError):
        bench.query(arch, DATASET, 777, epoch=3)


def test_a_changed_model_file_is_refused(fitted, tmp_path):
    copy = tmp_path / "lc"
    shutil.copytree(fitted["artefact"], copy)
    model = next(copy.rglob("*.ubj"))
    model.write_bytes(model.read_bytes()[:-1] + b"\x00")
    with pytest.raises(SurrogateArtefactError, match="checksum"):
        open_benchmark(copy).query("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", DATASET)
    with pytest.raises(SurrogateArtefactError, match="learning-curve artefact"):
        SurrogateBenchmark(fitted["artefact"])


def test_shipped_names_open_the_project_table_and_its_curve_surrogate(fitted, tmp_path, monkeypatch):
    tables = tmp_path / "tabular"
    tables.mkdir()
    shutil.copy(fitted["table"], tables / "nb201-cpu.h5")
    surrogates = tmp_path / "surrogates"
    shutil.copytree(fitted["artefact"], surrogates / "nb201-cpu-lc")
    monkeypatch.setattr(shipped_tables, "tables_roots", lambda: [tables])
    monkeypatch.setattr(artefact, "shipped_root", lambda: surrogates)
    monkeypatch.chdir(tmp_path / "tabular")
    assert isinstance(open_benchmark("nb201-cpu"), TabularBenchmark)
    assert isinstance(open_benchmark("nb201-cpu-lc"), CurveSurrogateBenchmark)
    with pytest.raises(
        TableNotFoundError, match=r"shipped surrogates: nb201, nb201-cpu-lc; shipped tables: nb201-cpu"
    ):
        open_benchmark("nb201-gpu")


def test_the_cli_fits_a_curve_surrogate_and_writes_its_card(fitted, tmp_path, capsys):
    from nasbench_suite.cli import main

    out = tmp_path / "lc"
    args = ["surrogate", "fit", str(fitted["table"]), "--curves", "-o", str(out), "--cv-folds", "2"]
    args += [f"--param={k}={v}" for k, v in PARAMS.items()] + ["--layout", "basis"]
    assert main(args) == 0
    card = (out / "MODEL_CARD.md").read_text()
    assert "| epoch | tau | ceiling tau | RMSE | ceiling RMSE |" in card and "rho" in card
    assert json.loads((out / "manifest.json").read_text())["datasets"][DATASET]["layout"] == "basis"
    with pytest.raises(SystemExit) as refused:
        main([*args[:-2], "--layout", "smooth", "--force"])
    assert refused.value.code == 2
    assert "layout" in capsys.readouterr().err
