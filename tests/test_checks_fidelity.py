"""Per-epoch rank fidelity (checks/fidelity.py) against a direct computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau

from nasbench_suite import open_benchmark
from nasbench_suite.checks.fidelity import epoch_fidelity, format_markdown, write_report
from nasbench_suite.checks.validation import ValidationError
from nasbench_suite.cli import main
from nasbench_suite.tabular import write_table
from tests.support import synthetic_table


@pytest.fixture()
def tables(tmp_path: Path) -> tuple[Path, Path]:
    reference = tmp_path / "reference.h5"
    trained = tmp_path / "trained.h5"
    write_table(reference, synthetic_table(n_archs=30, seeds=(0, 1, 2), seed=3, missing_fraction=0.0))
    write_table(trained, synthetic_table(n_archs=30, seeds=(0, 1), epochs=4, seed=4, missing_fraction=0.3))
    return reference, trained


def test_figures_equal_a_direct_computation(tables):
    reference_path, trained_path = tables
    with open_benchmark(reference_path) as reference, open_benchmark(trained_path) as trained:
        keys = trained.table.keys
        curves = trained.table.metric("toy", "valid_acc", "curves")
        present = trained.table.present("toy")
        ref_mean = np.array(
            [reference.query(k, "toy", seed="mean", metrics=["valid_acc"]).metrics["valid_acc"] for k in keys]
        )
        report = epoch_fidelity(reference, trained_path, n_bootstrap=50)
    assert [row.epoch for row in report.rows] == [1, 2, 3, 4]
    for e, row in enumerate(report.rows):
        values = np.where(present, curves[:, :, e], np.nan)
        mean = np.nanmean(values, axis=1)
        assert row.n_archs == 30
        assert row.kendall_tau == pytest.approx(kendalltau(mean, ref_mean).statistic)
        both = present.all(axis=1)
        assert row.n_ceiling_archs == both.sum()
        assert row.seed_ceiling == pytest.approx(kendalltau(values[both, 0], values[both, 1]).statistic)
        lo, hi = row.kendall_tau_interval
        assert lo <= hi
        assert row.median_train_s == pytest.approx(10.0 * (e + 1))  # epochs of 10 s each
    text = format_markdown(report)
    assert "| 4 | 30 |" in text and "Provenance:" in text


def test_a_table_without_curves_is_refused(tables):
    reference_path, _ = tables
    with open_benchmark(reference_path) as reference, pytest.raises(ValidationError, match="no per-epoch"):
        epoch_fidelity(reference, reference_path)


def test_command_writes_json_markdown_and_plot(tables, tmp_path: Path, capsys):
    reference_path, trained_path = tables
    out = tmp_path / "report"
    assert main(["fidelity", str(reference_path), str(trained_path), "-o", str(out)]) == 0
    assert "Rank fidelity per epoch" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"fidelity.json", "fidelity.md", "fidelity.png"}
    assert (out / "fidelity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["fidelity", str(reference_path), str(reference_path)]) == 2
    assert "no per-epoch curve" in capsys.readouterr().err


def test_write_report_round_trips(tables, tmp_path: Path):
    import json

    reference_path, trained_path = tables
    with open_benchmark(reference_path) as reference:
        report = epoch_fidelity(reference, trained_path, n_bootstrap=0)
    paths = write_report(report, tmp_path / "out")
    saved = json.loads(paths[0].read_text())
    assert saved["format"] == "nasbench-suite-epoch-fidelity"
    assert [r["epoch"] for r in saved["rows"]] == [1, 2, 3, 4]
