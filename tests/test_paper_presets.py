"""Paper-protocol presets: budgets converted exactly, searched and reported splits, the published
figures beside the project's in the report (and in the committed one under results/nb201-paper)."""

from __future__ import annotations

import json
import math

import pytest

from nasbench_suite import search
from nasbench_suite.cli import main
from nasbench_suite.experiments.paper_presets import (
    NATS_TSS_PAPER,
    NB201_PAPER,
    PRESETS,
    PresetError,
    get_preset,
)
from nasbench_suite.experiments.paper_report import preset_configs
from nasbench_suite.tabular import write_table
from tests.support import REPO, synthetic_table

COMMITTED = REPO / "results" / "nb201-paper"


def test_budgets_are_the_papers_seconds_of_12_epoch_cost_in_200_epoch_seconds():
    # NB201: 12,000 s for the CIFAR-10 search; NATS-Bench: 20,000 / 40,000 / 120,000 s.
    assert [(s.dataset, s.paper_budget_s, s.budget_s) for s in NB201_PAPER.searches] == [
        ("cifar10-valid", 12000.0, 200000.0)
    ]
    nats = {s.dataset: (s.paper_budget_s, s.budget_s) for s in NATS_TSS_PAPER.searches}
    assert nats["cifar10-valid"][0] == 20000.0 and nats["cifar10-valid"][1] == pytest.approx(20000 * 200 / 12)
    assert nats["cifar100"] == (40000.0, pytest.approx(40000 * 200 / 12))
    assert nats["ImageNet16-120"] == (120000.0, pytest.approx(2_000_000.0))


def test_searched_and_reported_splits():
    # NB201 searches cifar10-valid only and reports the found architecture on every dataset.
    (nb201,) = NB201_PAPER.searches
    splits = {c.label: (c.dataset, c.metric) for c in nb201.columns}
    assert splits == {
        "CIFAR-10 valid": ("cifar10-valid", "valid_acc"),
        "CIFAR-10 test": ("", ""),  # the cifar10 (train+valid) training is not in the imported table
        "CIFAR-100 valid": ("cifar100", "valid_acc_mean"),
        "CIFAR-100 test": ("cifar100", "xtest_acc"),
        "ImageNet16-120 valid": ("ImageNet16-120", "valid_acc_mean"),
        "ImageNet16-120 test": ("ImageNet16-120", "xtest_acc"),
        # not published: complete where x-test is missing, but it contains the x-valid half
        "CIFAR-100 ori-test": ("cifar100", "test_acc"),
        "ImageNet16-120 ori-test": ("ImageNet16-120", "test_acc"),
    }
    # NATS-Bench reports each dataset's own search, never another dataset's columns.
    for s in NATS_TSS_PAPER.searches:
        assert {c.dataset for c in s.columns} <= {s.dataset, ""}
    # A column on the ori-test, which contains the x-valid half, is never one the papers publish.
    for preset in PRESETS.values():
        for s in preset.searches:
            for c in s.columns:
                if c.metric == "test_acc":
                    assert "not published" in c.split
                    assert all(
                        preset.published_figure(s.label, m.label, c.label) is None for m in preset.methods
                    )


def test_published_hyper_parameters_and_runs():
    for preset in PRESETS.values():
        assert preset.runs == 500
        methods = {m.label: (m.strategy, dict(m.options)) for m in preset.methods}
        assert methods["REA"] == ("rea", {"population_size": 10, "sample_size": 3})
        assert {m.strategy for m in preset.methods} == {"random", "rea", "reinforce", "bohb"}
        for method in preset.methods:  # every option is one the strategy knows
            search.strategy_class(method.strategy).check_options(dict(method.options))
    rates = {
        p.name: dict(next(m for m in p.methods if m.label == "REINFORCE").options) for p in PRESETS.values()
    }
    assert rates["nb201-paper"]["learning_rate"] == 0.001  # scripts-search/algos/REINFORCE.sh
    assert rates["nats-tss-paper"]["learning_rate"] == 0.01  # NATS draw-table.py: REINFORCE-0.01


def test_nb201_published_figures_cover_every_method_and_column():
    (nb201,) = NB201_PAPER.searches
    for method in [*(m.label for m in NB201_PAPER.methods), "optimal"]:
        for column in (c for c in nb201.columns if "not published" not in c.split):
            mean, std = NB201_PAPER.published_figure("CIFAR-10", method, column.label)
            assert 40 < mean < 95 and 0 <= std < 2
    assert NB201_PAPER.published_figure("CIFAR-10", "RS", "CIFAR-10 test") == (93.70, 0.36)


def test_configs_carry_budget_options_and_seeds():
    configs = preset_configs(NATS_TSS_PAPER, "nb201", range(3))
    assert len(configs) == 3 * 4 * 3
    rea = [c for c in configs if c.strategy == "rea" and c.dataset == "cifar100"]
    assert [c.seed for c in rea] == [0, 1, 2]
    assert rea[0].budget_s == pytest.approx(40000 * 200 / 12)
    assert rea[0].options == {"population_size": 10, "sample_size": 3}


def test_bad_input_is_one_line(capsys, tmp_path):
    with pytest.raises(PresetError, match="presets are nats-tss-paper, nb201-paper"):
        get_preset("nb101-paper")
    with pytest.raises(SystemExit) as exited:  # argparse's choices: one line and exit 2
        main(["reproduce", "nb101-paper", "--bench", "x.h5", "-o", "out"])
    assert exited.value.code == 2
    assert main(["reproduce", "nb201-paper", "--bench", "x.h5", "--runs", "1", "-o", "out"]) == 2
    err = capsys.readouterr().err
    assert "at least 2 runs" in err and "Traceback" not in err
    out = str(tmp_path / "out")
    assert main(["reproduce", "nb201-paper", "--bench", str(tmp_path / "absent.h5"), "-o", out]) == 2
    toy = tmp_path / "toy.h5"
    write_table(toy, synthetic_table())
    assert main(["reproduce", "nats-tss-paper", "--bench", str(toy), "-o", out]) == 2
    err = capsys.readouterr().err
    assert "cifar10-valid" in err and len(err.strip().splitlines()) == 2 and "Traceback" not in err
    # The shipped surrogate has the datasets but not x-test: refused before any run, in one line.
    assert main(["reproduce", "nb201-paper", "--bench", "nb201", "--runs", "2", "-o", out]) == 2
    err = capsys.readouterr().err
    assert "reports xtest_acc of cifar100" in err and "nasbench import nb201" in err
    assert len(err.strip().splitlines()) == 1


def _cells(report: dict) -> list[tuple[str, str, str, dict]]:
    return [
        (s["label"], row["method"], label, cell)
        for s in report["searches"]
        for row in s["rows"]
        for label, cell in row["columns"].items()
    ]


def test_reproduce_on_the_imported_table(nb201_table, tmp_path, capsys):
    out = tmp_path / "paper"
    assert main(["reproduce", "nb201-paper", "--bench", str(nb201_table), "--runs", "3", "-o", str(out)]) == 0
    report = json.loads((out / "nb201-paper.json").read_text())
    markdown = (out / "nb201-paper.md").read_text()
    (section,) = report["searches"]
    assert section["budget_s"] == 200000.0 and report["runs"] == 3
    rows = {row["method"]: row for row in section["rows"]}
    assert rows["BOHB"]["status"] == "not-applicable"  # the table has no 12-epoch curves
    for method in ("RS", "REA", "REINFORCE"):
        assert "observed valid_acc; reported valid_acc (held-out seed)" in rows[method]["rule"]
        assert rows[method]["columns"]["CIFAR-10 valid"]["n"] == 3
        assert rows[method]["columns"]["CIFAR-10 test"]["n"] == 0
    for _, method, label, cell in _cells(report):
        assert f"| {method} | {label} (" in markdown
        if cell["published_mean"] is not None:
            assert f"{cell['published_mean']:.2f} ± {cell['published_std']:.2f}" in markdown
    assert section["optimum"]["CIFAR-10 valid"] == pytest.approx(91.61, abs=0.01)
    # The 12-epoch signal measured on the project's own 12-epoch table (200 of the architectures):
    # it picks worse architectures than a 200-epoch seed, and no signal beats the seed mean itself.
    cheap = report["cheap_signal"]
    assert cheap["pool"] == 200 and [r["draws"] for r in cheap["rows"]] == [10, 25, 50, 100]
    for row in cheap["rows"]:
        assert row["cheap"][0] < row["full"][0] < row["oracle"][0] <= cheap["pool_best"]
    assert "What the 12-epoch signal costs" in markdown
    assert "CIFAR-10 REA: CIFAR-10 valid" in capsys.readouterr().out


@pytest.mark.skipif(not COMMITTED.is_dir(), reason="results/nb201-paper is not in this checkout")
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_committed_report_puts_published_beside_the_projects_figures(preset):
    report = json.loads((COMMITTED / f"{preset}.json").read_text())
    markdown = (COMMITTED / f"{preset}.md").read_text()
    assert report["runs"] == 500
    searched = [s["dataset"] for s in report["searches"]]
    assert searched == [s.dataset for s in PRESETS[preset].searches]
    for search_label, method, label, cell in _cells(report):
        row = f"| {method} | {label} ("
        line = next(line for line in markdown.splitlines() if line.startswith(row))
        published = PRESETS[preset].published_figure(search_label, method, label)
        if published:  # the published figure, then the project's figure or the reason it has none
            assert f"{published[0]:.2f} ± {published[1]:.2f}" in line
        if cell["n"]:
            assert f"{cell['mean']:.2f} ± {cell['std']:.2f}" in line
            assert math.isfinite(cell["se"]) and cell["se"] < 0.2
        else:
            assert "not applicable" in line or "not in the table" in line
