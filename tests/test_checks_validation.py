"""``nasbench validate``: a benchmark's predictions against trained runs (tables and the surrogate)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau
from scipy.stats import t as student_t

from nasbench_suite import open_benchmark, spaces
from nasbench_suite.checks.validation import ValidationError, format_markdown, validate, write_report
from nasbench_suite.cli import main
from nasbench_suite.errors import UnknownDatasetError, UnknownMetricError
from nasbench_suite.tabular import Table, write_table
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

NB201 = spaces.get("nb201")
ALL_KEYS = [NB201.key(a) for a in NB201.enumerate()]
KEYS = ALL_KEYS[::500]  # 32 architectures spread over the space
OTHER = ALL_KEYS[1]  # not among them


def _table(path: Path, keys: list[str], values: np.ndarray, seeds: tuple[int, ...], dataset: str) -> Path:
    """An NB201 table holding per-seed ``valid_acc`` (NaN = no run) for ``keys``."""
    present = ~np.isnan(values)
    ds = DatasetData(
        seeds=np.array(seeds, dtype=np.int64),
        present=present,
        per_seed={"valid_acc": values, "train_time_s": np.where(present, 100.0, np.nan)},
        metrics={"valid_acc": MetricInfo("%"), "train_time_s": MetricInfo("s")},
        protocol={"name": "test", "hash": "0123", "epochs": 3},
        provenance={"source": "test", "time_hardware": "none"},
    )
    data = TableData(space="nb201", space_config=NB201.config(), keys=list(keys), datasets={dataset: ds})
    write_table(path, data)
    return path


def _truth(n: int) -> np.ndarray:
    return np.linspace(60.0, 90.0, n)


def test_identical_runs_give_perfect_figures(tmp_path: Path):
    truth = _truth(len(KEYS))
    runs = np.stack([truth - 0.5, truth + 0.5, truth], axis=1)
    bench = _table(tmp_path / "b.h5", KEYS, runs, (1, 2, 3), "cifar10-valid")
    trained = _table(tmp_path / "t.h5", KEYS, truth[:, None], (7,), "cifar10-valid@test")
    with open_benchmark(bench) as b:
        report = validate(b, trained)
    assert report.benchmark_dataset == "cifar10-valid"  # the @protocol suffix is dropped to match
    assert (report.n_archs, report.n_runs, report.n_archs_not_in_benchmark) == (len(KEYS), len(KEYS), 0)
    assert report.kendall_tau == pytest.approx(1.0)
    assert report.kendall_tau_interval == pytest.approx((1.0, 1.0))
    assert report.mae == pytest.approx(0.0) and report.bias == pytest.approx(0.0)
    assert report.coverage == 1.0 and report.n_runs_with_interval == len(KEYS)
    # k = 3 runs, s = 0.5: half-width t(0.95, 2) * 0.5 * sqrt(1 + 1/3).
    half = student_t.ppf(0.95, 2) * 0.5 * math.sqrt(4 / 3)
    assert report.mean_interval_width == pytest.approx(2 * half)
    assert math.isnan(report.seed_vs_seed_kendall_tau)  # one trained seed: no ceiling


def test_figures_match_a_direct_computation(tmp_path: Path):
    rng = np.random.default_rng(5)
    n = len(KEYS)
    truth = _truth(n) + rng.normal(0, 4, n)
    runs = truth[:, None] + rng.normal(0, 1.0, (n, 3))
    runs[:4, 2] = np.nan  # some archs with two benchmark seeds
    runs[4, 1:] = np.nan  # one arch with a single run: no interval
    trained_runs = truth[:, None] + 1.0 + rng.normal(0, 1.0, (n, 2))  # trained 1 point higher
    trained_runs[-3:] = np.nan  # three archs not trained at all
    bench = _table(tmp_path / "b.h5", KEYS[:-1] + [OTHER], runs, (1, 2, 3), "cifar10-valid")
    trained = _table(tmp_path / "t.h5", KEYS, trained_runs, (7, 8), "cifar10-valid@test")
    with open_benchmark(bench) as b:
        report = validate(b, trained, level=0.8, n_bootstrap=200)

    used = n - 3  # the last arch is absent from the benchmark, but it was not trained anyway
    pred = np.nanmean(runs[:used], axis=1)
    mean = trained_runs[:used].mean(axis=1)
    assert report.n_archs == used and report.n_runs == 2 * used
    assert report.kendall_tau == pytest.approx(kendalltau(mean, pred).statistic)
    assert report.mae == pytest.approx(np.abs(pred - mean).mean())
    assert report.bias == pytest.approx((pred - mean).mean())
    k = (~np.isnan(runs[:used])).sum(axis=1)
    sd = np.array([np.nanstd(r, ddof=1) if c > 1 else np.nan for r, c in zip(runs[:used], k)])
    half = student_t.ppf(0.9, np.maximum(k - 1, 1)) * sd * np.sqrt(1 + 1 / k)
    inside = (np.abs(trained_runs[:used] - pred[:, None]) <= half[:, None])[k > 1]
    assert report.n_runs_with_interval == inside.size == 2 * (used - 1)
    assert report.coverage == pytest.approx(inside.mean())
    lo, hi = report.kendall_tau_interval
    assert lo <= report.kendall_tau <= hi
    assert report.seed_vs_seed_kendall_tau == pytest.approx(
        kendalltau(trained_runs[:used, 0], trained_runs[:used, 1]).statistic
    )
    # The same inputs give the same report (seeded bootstrap).
    with open_benchmark(bench) as b:
        assert validate(b, trained, level=0.8, n_bootstrap=200).to_dict() == report.to_dict()


def test_archs_missing_from_the_benchmark_are_counted_not_compared(tmp_path: Path):
    truth = _truth(len(KEYS))
    bench = _table(tmp_path / "b.h5", KEYS[:20], np.stack([truth[:20]] * 2, axis=1), (1, 2), "cifar10-valid")
    trained = _table(tmp_path / "t.h5", KEYS, truth[:, None], (7,), "cifar10-valid")
    with open_benchmark(bench) as b:
        report = validate(b, trained)
    assert (report.n_archs, report.n_archs_not_in_benchmark) == (20, len(KEYS) - 20)


def test_bad_input_is_named(tmp_path: Path):
    truth = _truth(len(KEYS))
    bench = _table(tmp_path / "b.h5", KEYS, np.stack([truth] * 2, axis=1), (1, 2), "cifar10-valid")
    other = _table(tmp_path / "o.h5", KEYS[:3], truth[:3, None], (7,), "cifar100")
    disjoint = _table(tmp_path / "d.h5", [OTHER], np.array([[50.0]]), (7,), "cifar10-valid")
    with open_benchmark(bench) as b:
        with pytest.raises(UnknownDatasetError, match="cifar100"):
            validate(b, other)
        with pytest.raises(UnknownMetricError, match="test_acc"):
            validate(b, bench, metric="test_acc")
        with pytest.raises(ValidationError, match="no architecture"):
            validate(b, disjoint)
        with pytest.raises(ValidationError, match="level"):
            validate(b, bench, level=1.5)
        from tests.support import synthetic_table

        toy = tmp_path / "toy.h5"
        write_table(toy, synthetic_table())
        with pytest.raises(ValidationError, match="space"):
            validate(b, toy)


def test_command_writes_json_and_markdown(tmp_path: Path, capsys):
    truth = _truth(len(KEYS))
    bench = _table(tmp_path / "b.h5", KEYS, np.stack([truth - 1, truth + 1], axis=1), (1, 2), "cifar10-valid")
    trained = _table(tmp_path / "t.h5", KEYS, truth[:, None], (7,), "cifar10-valid@test")
    out = tmp_path / "report.json"
    assert main(["validate", str(bench), str(trained), "-o", str(out), "--level", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert "| Kendall tau" in printed and "1.000" in printed
    report = json.loads(out.read_text())
    assert report["format"] == "nasbench-suite-validation" and report["level"] == 0.5
    assert len(report["rows"]) == len(KEYS) and report["seed_vs_seed_kendall_tau"] is None
    md = tmp_path / "report.md"
    assert main(["validate", str(bench), str(trained), "-o", str(md)]) == 0
    assert md.read_text().startswith("# Validation")

    assert main(["validate", str(bench), str(tmp_path / "missing.h5")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["validate", str(bench), str(trained), "--benchmark-dataset", "mnist"]) == 2
    assert "unknown dataset 'mnist'" in capsys.readouterr().err


def _split_real_table(source: Path, tmp_path: Path, dataset: str) -> tuple[Path, Path]:
    """From the imported NB201 table: a benchmark of seeds 777/888 (all archs), and 400 archs'
    seed-999 runs as the 'trained' table, so that the two share no run."""
    with Table(source) as t:
        seeds = list(t.dataset(dataset).seeds)
        values = t.metric(dataset, "valid_acc", "per_seed").copy()
        values[~t.present(dataset)] = np.nan
        keys = t.keys
    first, last = values[:, [seeds.index(777), seeds.index(888)]], values[:, seeds.index(999)]
    rows = np.flatnonzero(~np.isnan(last))[::20][:400]
    bench = _table(tmp_path / "b.h5", keys, first, (777, 888), dataset)
    trained = _table(tmp_path / "t.h5", [keys[i] for i in rows], last[rows, None], (999,), dataset)
    return bench, trained


def test_real_nb201_seeds_against_the_other_seeds(nb201_table, tmp_path: Path):
    """Seed 999 of the published runs 'validates' the mean of seeds 777 and 888: the tau is the
    benchmark's own seed noise (about 0.8 on cifar10-valid), and the t prediction interval from two
    runs, exact for normal seed noise, covers the third run at its nominal rate (0.90 +- 3.3 s.e.)."""
    bench, trained = _split_real_table(nb201_table, tmp_path, "cifar10-valid")
    with open_benchmark(bench) as b:
        report = validate(b, trained, n_bootstrap=100)
    assert report.n_archs == 400
    assert 0.7 < report.kendall_tau < 0.95
    assert report.mae < 2.0
    assert 0.85 < report.coverage < 0.95
    text = format_markdown(report)
    assert "Largest errors" in text


def test_shipped_surrogate_against_real_runs(nb201_table, tmp_path: Path):
    """The shipped NB201 surrogate against published seed-999 runs (in-sample for the surrogate:
    a functional check of the predict_dist path, not a held-out figure)."""
    from nasbench_suite.errors import NasbenchError

    try:
        surrogate = open_benchmark("nb201")
    except NasbenchError as exc:
        pytest.skip(f"the shipped NB201 surrogate cannot be opened here ({exc})")
    _, trained = _split_real_table(nb201_table, tmp_path, "cifar10-valid")
    with surrogate:
        report = validate(surrogate, trained, n_bootstrap=100, benchmark_name="nb201")
    assert report.benchmark_kind.startswith("surrogate")
    assert report.n_archs == 400
    assert report.kendall_tau > 0.6
    assert 0.6 < report.coverage <= 1.0
    path = write_report(report, tmp_path / "r.json")
    assert json.loads(path.read_text())["benchmark"] == "nb201"
