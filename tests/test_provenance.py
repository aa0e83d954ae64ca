"""Provenance: every report says which code made it, how, where, and from which benchmark;
summaries refuse runs of different protocols."""

from __future__ import annotations

import dataclasses
import json

import pytest

from nasbench_suite import provenance as prov
from nasbench_suite.bench import open_benchmark
from nasbench_suite.cli import main
from nasbench_suite.experiments.leaderboard import MixedRunsError, run_leaderboard, summarise
from nasbench_suite.experiments.report import write_leaderboard
from nasbench_suite.experiments.trajectory import read_provenance, read_runs
from tests.support import toy_table_file

KEYS = {"version", "commit", "command", "extras", "libraries", "python", "machine", "benchmark"}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return toy_table_file(tmp_path_factory, "prov")


@pytest.fixture(scope="module")
def board(toy):
    return run_leaderboard(
        toy,
        strategies=["random", "rea"],
        seeds=range(3),
        executor="serial",
        budgets={"toy": {"budget_s": 6e3}},
    )


def test_the_record_names_version_commit_command_libraries_machine_and_benchmark(toy):
    from nasbench_suite import __version__

    identity = open_benchmark(toy).identity()
    record = prov.provenance(identity)
    assert set(record) == KEYS and record["version"] == __version__
    assert record["benchmark"] == identity and identity["kind"] == "table" and len(identity["checksum"]) == 32
    assert record["libraries"]["numpy"] != "not installed" and "optuna" in record["libraries"]
    # The tests run from the checkout: its commit (installed copies say "unknown": tests/test_install.py).
    assert record["commit"] != prov.UNKNOWN and record["commit"].split()[0].isalnum()
    lines = prov.provenance_lines(record)
    assert any(line.startswith(f"nasbench-suite {__version__}, commit ") for line in lines)
    assert any("(table), checksum" in line for line in lines)


def test_the_cli_records_its_command_line(toy, tmp_path, capsys):
    out = tmp_path / "board"
    argv = ["leaderboard", "--bench", toy, "--seeds", "0-1", "--strategies", "random"]
    assert main([*argv, "--out", str(out), "--executor", "serial"]) == 0
    assert prov.command_line().startswith("nasbench leaderboard --bench")
    assert read_provenance(out / "runs.parquet")["command"] == prov.command_line()


def test_every_leaderboard_file_carries_the_provenance(board, tmp_path):
    from PIL import Image

    write_leaderboard(board, tmp_path)
    record = board.provenance
    assert set(record) == KEYS and record["benchmark"]["kind"] == "table"
    checksum = record["benchmark"]["checksum"]
    md = (tmp_path / "leaderboard.md").read_text()
    section = md.split("## Provenance", 1)[1]
    assert f"nasbench-suite {record['version']}, commit {record['commit']}" in section
    assert "command: `" in section and f"checksum `{checksum}`" in section and "(table)" in section
    html = (tmp_path / "leaderboard.html").read_text()
    assert "<h2>Provenance</h2>" in html and checksum in html
    png = Image.open(tmp_path / "regret_toy.png")
    assert json.loads(png.text["Comment"]) == json.loads(json.dumps(record, sort_keys=True))
    assert record["commit"] in png.text["Software"]
    assert read_provenance(tmp_path / "runs.parquet") == record
    _, results = read_runs(tmp_path / "runs.parquet")
    assert {r.bench_checksum for r in results} == {checksum}


def test_summarise_refuses_runs_of_different_protocols(board):
    runs = [r for r in board.results if r.ok]
    assert summarise(runs).boards  # one protocol: fine

    def changed(result, **config):
        return dataclasses.replace(result, config=dataclasses.replace(result.config, **config))

    cases = [
        ([changed(runs[0], budget_s=9e3)], r"budgets on toy: 6000 s and 9000 s"),
        ([changed(runs[0], workers=4)], r"workers 1 and 4"),
        ([changed(runs[0], seed=7)], r"seed sets on toy: 0\.\.2 \((random|rea)\) and 1,2,7"),
        ([dataclasses.replace(runs[0], bench_checksum="0" * 32)], r"benchmarks \(checksums\)"),
        ([changed(runs[0], observe_metric="valid_acc_mean")], r"observe_metric"),
        ([changed(runs[0], warm_source="other")], r"warm-start sources of \w+ on toy: 'other' and N"),
    ]
    for replaced, message in cases:
        mixed = [*replaced, *runs[1:]]
        with pytest.raises(MixedRunsError, match=message) as info:
            summarise(mixed)
        assert "\n" not in str(info.value)


def test_surrogate_reports_and_cards_carry_the_provenance(toy, tmp_path):
    from nasbench_suite.surrogates.card import CARD
    from nasbench_suite.surrogates.fitting import fit_surrogate

    out = tmp_path / "art"
    fit_surrogate(toy, out, params={"n_estimators": 10}, cv_folds=0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["provenance"]) == KEYS and manifest["provenance"]["benchmark"]["kind"] == "table"
    assert main(["surrogate", "card", str(out)]) == 0
    card = (out / CARD).read_text().split("## Provenance", 1)[1]
    fitted, rendered = card.split("This card rendered by", 1)
    assert "nasbench-suite" in fitted and "(table), checksum" in fitted
    assert "(surrogate), checksum" in rendered
    report_dir = tmp_path / "reports"
    argv = ["surrogate", "evaluate", toy, "--dataset", "toy", "--model", "xgb", "--train-sizes", "10,20"]
    assert main([*argv, "--trials", "1", "--param", "xgb.n_estimators=5", "-o", str(report_dir)]) == 0
    (report,) = report_dir.glob("*.json")
    record = json.loads(report.read_text())["provenance"]
    assert set(record) == KEYS and record["benchmark"]["kind"] == "table"
    assert "(table), checksum" in report.with_suffix(".md").read_text()


def test_the_shipped_card_names_the_fit_that_made_it():
    from nasbench_suite.surrogates import artefact
    from nasbench_suite.surrogates.card import model_card_markdown

    card = model_card_markdown(artefact.shipped_root() / "nb201")
    fitted_by = card.split("## Provenance", 1)[1].split("Fitted by:", 1)[1]
    assert "nasbench-suite " in fitted_by and ", commit " in fitted_by
    assert "command: `nasbench surrogate fit " in fitted_by
    assert "`nb201` (surrogate), checksum" in card
