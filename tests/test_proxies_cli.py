"""``nasbench proxies``: a table that verifies, resuming through the journal, one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from nasbench_suite.cli import main
from nasbench_suite.proxies.jobs import proxies_to_table, run_proxy_job
from nasbench_suite.proxies.settings import ProxySettings
from nasbench_suite.tabular import Table
from nasbench_suite.train.jobs import LocalExecutor
from nasbench_suite.train.journal import journal_path

BASE = ["proxies", "--space", "nb201", "--dataset", "synthetic", "--data", "synthetic:100"]
BASE += ["--protocol", "nb201-tiny", "--batch-size", "8", "--threads", "1"]
FAST = "grad_norm,snip,synflow,params"


def _run(tmp_path: Path, *extra: str) -> int:
    return main([*BASE, "--archs", "sample:3", "-o", str(tmp_path / "zc.h5"), *extra])


def test_proxies_land_in_a_table_that_verifies_and_a_rerun_skips_them(tmp_path, capsys):
    assert _run(tmp_path, "--proxies", FAST) == 0
    assert "3 architectures computed" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "zc.h5")]) == 0
    with Table(tmp_path / "zc.h5") as t:
        assert len(t.keys) == 3
        info = t.dataset("synthetic@zc")
        assert info.protocol["proxies"] == FAST.split(",") and info.protocol["batch_size"] == 8
        assert "synflow" in info.protocol["conventions"]
        for name in ("zc_grad_norm", "zc_snip", "zc_synflow", "zc_params", "zc_time_s", "zc_hardware_id"):
            assert np.isfinite(t.metric("synthetic@zc", name, "per_arch")).all()
    assert _run(tmp_path, "--proxies", FAST) == 0
    assert "0 architectures computed, 3 already done" in capsys.readouterr().out


def test_journal_records_missing_from_the_table_are_moved_into_it(tmp_path):
    tiny = {"width": 4, "cells_per_stage": 1, "input_size": 8}
    settings = ProxySettings("nb201", "synthetic", "synthetic:100", ("snip", "params"), 8, network=tiny)
    archs = ["|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"]
    table = tmp_path / "zc.h5"
    proxies_to_table(table, settings, archs, LocalExecutor(job=run_proxy_job), "synthetic@zc")
    record = json.loads(journal_path(table).read_text().splitlines()[0])
    table.unlink()  # as if killed after the journal line and before the table append
    summary = proxies_to_table(table, settings, archs, LocalExecutor(job=run_proxy_job), "synthetic@zc")
    assert (summary.recovered, summary.computed, summary.skipped) == (1, 0, 1)
    with Table(table) as t:
        assert t.metric("synthetic@zc", "zc_snip", "per_arch")[0] == record["result"]["values"]["snip"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--proxies", "snip,snap"], "unknown proxy 'snap'"),
        (["--space", "nb201", "--data", "none", "--proxies", "snip"], "needs images"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, extra, message):
    assert _run(tmp_path, *extra) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_space_without_a_network_builder_and_a_table_of_another_space(tmp_path, capsys):
    from nasbench_suite import spaces
    from nasbench_suite.testing.toy import ToyChainSpace

    with spaces.registered("test-chain-bare", ToyChainSpace):
        argv = ["proxies", "--space", "test-chain-bare", "--dataset", "synthetic", "--data", "synthetic"]
        assert main([*argv, "--archs", "sample:2", "-o", str(tmp_path / "x.h5")]) == 2
    assert "no network builder" in capsys.readouterr().err
    nb101 = tmp_path / "nb101.h5"
    argv = ["proxies", "--space", "nb101", "--dataset", "synthetic", "--data", "none", "--proxies", "params"]
    argv += ["--archs", "sample:1", "-o", str(nb101)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*BASE, "--archs", "sample:1", "--proxies", "params", "-o", str(nb101)]) == 2
    err = capsys.readouterr().err
    assert "a table of space 'nb101', not 'nb201'" in err and len(err.strip().splitlines()) == 1


def test_other_settings_under_the_same_dataset_name_are_refused(tmp_path, capsys):
    assert _run(tmp_path, "--proxies", "params") == 0
    capsys.readouterr()
    assert _run(tmp_path, "--proxies", "params", "--seed", "3") == 2
    assert "choose another --table-dataset" in capsys.readouterr().err


def test_proxies_report_correlates_our_values_with_an_accuracy_table(tmp_path):
    """``proxies-report`` on a computed table and a small accuracy table: Markdown, JSON and plot."""
    from nasbench_suite import spaces
    from nasbench_suite.tabular import DatasetData, MetricInfo, TableData, write_table

    assert main([*BASE, "--archs", "sample:4", "--proxies", FAST, "-o", str(tmp_path / "zc.h5")]) == 0
    with Table(tmp_path / "zc.h5") as t:
        keys = list(t.keys)
        snip = t.metric("synthetic@zc", "zc_snip", "per_arch")
    accuracy = 50 + np.argsort(np.argsort(snip)).astype(float)  # ranked exactly like snip
    space = spaces.get("nb201")
    acc = DatasetData(
        seeds=np.array([0], dtype=np.int64),
        present=np.ones((len(keys), 1), dtype=bool),
        per_seed={"valid_acc": accuracy[:, None]},
        per_arch={"valid_acc_mean": accuracy},
        metrics={"valid_acc": MetricInfo("%", "accuracy"), "valid_acc_mean": MetricInfo("%", "mean")},
        protocol={"epochs": 1},
        provenance={"source": "synthetic"},
    )
    data = TableData(space="nb201", space_config=space.config(), keys=keys, datasets={"cifar10-valid": acc})
    write_table(tmp_path / "acc.h5", data)
    out = tmp_path / "report"
    args = ["proxies-report", str(tmp_path / "zc.h5"), "--dataset", "synthetic@zc"]
    assert main([*args, "--accuracy", str(tmp_path / "acc.h5"), "-o", str(out)]) == 0
    report = json.loads((out / "proxies.json").read_text())
    assert report["n_done"] == 4
    rows = {r["proxy"]: r for r in report["proxies"]}
    assert rows["snip"]["accuracy"]["spearman"] == pytest.approx(1.0)
    assert rows["snip"]["published_rho_cifar10"] == 0.60
    assert "snip" in (out / "proxies.md").read_text()
    assert (out / "proxies.png").read_bytes()[:4] == b"\x89PNG"
