"""The table-vs-surrogate agreement check: its figures (overlap, Welch, Holm, order), the files it
reads and writes, the model card's section, and ``nasbench surrogate card --table``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from scipy import stats

from nasbench_suite.checks.agreement import AGREEMENT, agreement_figures, read_agreement
from nasbench_suite.cli import main
from nasbench_suite.stats import holm
from nasbench_suite.surrogates.card import CARD, model_card_markdown
from nasbench_suite.surrogates.fitting import fit_surrogate
from nasbench_suite.tabular import MetricInfo, write_table
from tests.support import synthetic_table


@pytest.fixture(scope="module")
def toy_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("agreement-table") / "toy.h5"
    write_table(path, synthetic_table(n_archs=81, missing_fraction=0.1))
    return path


@pytest.fixture(scope="module")
def toy_artefact(toy_table, tmp_path_factory):
    out = tmp_path_factory.mktemp("agreement-artefact") / "toy"
    return fit_surrogate(toy_table, out, params={"n_estimators": 20}, cv_folds=2, description="toy")


@pytest.fixture
def copy(toy_artefact, tmp_path):
    target = tmp_path / "toy"
    shutil.copytree(toy_artefact, target)
    return target


def test_agreement_figures_and_card(toy_artefact):
    rows = []
    for backend, shift in (("table", 0.0), ("surrogate", 0.05)):
        for seed in range(5):
            rows.append(
                dict(
                    backend=backend,
                    dataset="toy",
                    strategy="random",
                    seed=seed,
                    final_regret=2 + shift + seed % 2,
                )
            )
            rows.append(
                dict(
                    backend=backend,
                    dataset="toy",
                    strategy="rea",
                    seed=seed,
                    final_regret=1 + shift + seed % 2,
                )
            )
    figures = agreement_figures(rows)["toy"]
    assert figures["order_table"] == figures["order_surrogate"] == ["rea", "random"]
    assert figures["same_order"] and figures["consistent_order"] and figures["all_within_se"]
    assert figures["strategies"]["rea"]["table"]["n"] == 5
    settings = {
        "strategies": ["random", "rea"],
        "seeds": list(range(5)),
        "budgets": {"toy": {"budget_evals": 20}},
    }
    text = model_card_markdown(toy_artefact, {"settings": settings, "datasets": {"toy": figures}})
    for section in ("## What it was fitted on", "## Held-out quality", "## Noise model check", "## Size"):
        assert section in text
    assert "| toy | rea | 1.40 ± 0.24 | 1.45 ± 0.24 | yes | 0.889 | 1.000 |" in text
    assert "0 of 2 differ significantly" in text
    assert "rea < random" in text
    assert "Not checked yet" in model_card_markdown(toy_artefact)


def test_agreement_welch_holm_column(toy_artefact, tmp_path):
    # Two strategies on two datasets: only "far" differs between table and surrogate.
    table = [0.1, 0.4, 0.2, 0.5, 0.3, 0.6]
    regrets = {
        ("a", "near"): (table, [v + 0.02 for v in table]),
        ("a", "far"): (table, [v + 1.0 for v in table]),
        ("b", "near"): (table, table[::-1]),
    }
    rows = [
        dict(backend=backend, dataset=ds, strategy=name, seed=i, final_regret=v)
        for (ds, name), pair in regrets.items()
        for backend, values in zip(("table", "surrogate"), pair, strict=True)
        for i, v in enumerate(values)
    ]
    figures = agreement_figures(rows)
    entries = {(ds, n): e for ds, d in figures.items() for n, e in d["strategies"].items()}
    raw = {k: stats.ttest_ind(*regrets[k], equal_var=False).pvalue for k in regrets}
    for key, entry in entries.items():
        assert entry["p_welch"] == pytest.approx(raw[key], rel=1e-9)
    # Holm over the family of three: smallest p times 3, next times 2 (monotone), largest times 1.
    order = sorted(raw, key=raw.get)
    expected = [min(1, 3 * raw[order[0]]), min(1, max(3 * raw[order[0]], 2 * raw[order[1]]))]
    assert [entries[k]["p_holm"] for k in order[:2]] == pytest.approx(expected)
    assert entries[("a", "far")]["differs"] and not entries[("a", "near")]["differs"]
    nan = float("nan")
    assert holm([0.01, nan, 0.04, 0.03]).tolist() == pytest.approx([0.03, nan, 0.06, 0.06], nan_ok=True)
    # A saved agreement.json without p-values still gets the column (from mean, SE and n).
    for entry in entries.values():
        for key in ("p_welch", "p_holm", "differs"):
            del entry[key]
    settings = {"strategies": ["far", "near"], "seeds": list(range(6)), "budgets": {}}
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / AGREEMENT).write_text(json.dumps({"settings": settings, "datasets": figures}))
    assert read_agreement(tmp_path) is None
    completed = read_agreement(folder)
    assert "p_holm" not in json.loads((folder / AGREEMENT).read_text())["datasets"]["a"]["strategies"]["far"]
    text = model_card_markdown(toy_artefact, completed)
    assert "1 of 3 differ significantly" in text and "far on a (p = " in text
    assert "| a | far | 0.35 ± 0.08 | 1.35 ± 0.08 | no | " in text and " * |" in text
    assert "16 %" in text


def test_card_cli_runs_the_agreement_check(copy, toy_table, capsys):
    args = ["surrogate", "card", str(copy), "--table", str(toy_table), "--strategies", "random,rea"]
    assert main([*args, "--seeds", "0-2"]) == 0
    agreement = json.loads((copy / "agreement.json").read_text())
    assert agreement["settings"]["strategies"] == ["random", "rea"] and agreement["settings"]["n_runs"] == 12
    toy = agreement["datasets"]["toy"]
    assert toy["strategies"]["rea"]["table"]["n"] == 3 and sorted(toy["order_table"]) == ["random", "rea"]
    card = (copy / CARD).read_text()
    assert "## Agreement with the table" in card and "| toy | random |" in card
    assert main([*args, "--datasets", "cifar10"]) == 2
    assert "unknown dataset 'cifar10'" in capsys.readouterr().err


def test_both_backends_report_the_metric_the_surrogate_has(tmp_path):
    """A table with x-test reports it under its own rule; the check makes it report what the
    surrogate can (here valid_acc on a held-out seed), so that like is compared with like."""
    from nasbench_suite.bench import open_benchmark
    from nasbench_suite.checks.agreement import agreement_check
    from nasbench_suite.experiments.metrics import resolve_metrics

    data = synthetic_table(n_archs=81, missing_fraction=0.1)
    toy = data.datasets["toy"]
    toy.per_arch["xtest_acc"] = np.random.default_rng(5).uniform(50, 95, 81)
    toy.metrics["xtest_acc"] = MetricInfo("%", "x-test accuracy")
    table = tmp_path / "xtest.h5"
    write_table(table, data)
    artefact = fit_surrogate(table, tmp_path / "s", params={"n_estimators": 10}, cv_folds=0)
    assert resolve_metrics(open_benchmark(str(table)), "toy").report == "xtest_acc"
    agreement = agreement_check(artefact, table, ["random"], [0, 1])
    assert agreement["settings"]["report_metrics"] == {"toy": "valid_acc"}
    assert agreement["datasets"]["toy"]["strategies"]["random"]["table"]["n"] == 2
    assert "Both backends report the metric the surrogate has (toy: valid_acc)" in model_card_markdown(
        artefact, agreement
    )
