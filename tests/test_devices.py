"""Few-shot latency across devices (surrogates/devices.py, `nasbench surrogate devices`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nasbench_suite import spaces
from nasbench_suite.cli import main
from nasbench_suite.surrogates import devices
from nasbench_suite.surrogates.evaluation import EvaluationError
from tests.support import data_path

DEVICES = (*devices.HELP_META_TRAIN, *devices.HELP_META_TEST)


def _latency_csv(path, n=150):
    """Low-rank synthetic latencies of ``n`` NB201 architectures: every device weighs op counts."""
    space = spaces.get("nb201")
    rng = np.random.default_rng(0)
    keys = sorted({space.key(space.sample(rng)) for _ in range(n)})
    counts = np.array([[space.to_codes(k).count(op) for op in range(5)] for k in keys], dtype=float)
    frame = pd.DataFrame({"index": range(len(keys)), "arch": keys})
    for device in DEVICES:
        weights = rng.uniform(0.1, 1.0, 5)
        frame[device] = np.exp(counts @ weights / 3 + rng.normal(0, 0.05, len(keys)))
    frame.to_csv(path, index=False)
    return path


def test_cli_writes_the_device_report(tmp_path, capsys):
    csv = _latency_csv(tmp_path / "lat.csv", n=70)
    out = tmp_path / "report"
    argv = ["surrogate", "devices", str(csv), "--meta-test", "fpga,raspi4", "--trials", "2"]
    assert main([*argv, "-o", str(out), "--name", "d"]) == 0
    report = json.loads((out / "d.json").read_text())
    assert list(report["devices"]) == ["fpga", "raspi4"]
    for summary in report["devices"].values():
        few = next(
            r
            for r in summary
            if r["model"] == "few-shot" and r["train_size"] == 10 and r["test_set"] == "all"
        )
        assert few["spearman"]["mean"] > 0.5
        assert {r["model"] for r in summary} == {"few-shot", "flops", "scratch"}
    assert report["published"] == devices.PUBLISHED
    assert (out / "d.png").stat().st_size > 0
    assert "HELP (published)" in capsys.readouterr().out


def test_unknown_or_overlapping_devices_are_refused(tmp_path, capsys):
    csv = _latency_csv(tmp_path / "lat.csv", n=40)
    assert main(["surrogate", "devices", str(csv), "--meta-test", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["surrogate", "devices", str(csv), "--meta-test", "1080ti_1"]) == 2
    assert main(["surrogate", "devices", str(tmp_path / "absent.csv")]) == 2


def test_few_shot_components_are_principal():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 6))
    z = devices.principal_components(x, 3)
    assert z.shape == (200, 3)
    assert np.allclose(np.corrcoef(z.T), np.eye(3), atol=1e-8)
    assert z[:, 0].var() >= z[:, 1].var() >= z[:, 2].var()


def test_bad_latencies_are_refused(tmp_path):
    csv = _latency_csv(tmp_path / "lat.csv", n=20)
    frame = pd.read_csv(csv)
    frame.loc[0, "fpga"] = 0.0
    frame.to_csv(csv, index=False)
    with pytest.raises(EvaluationError, match="non-positive"):
        devices.read_latencies(csv)


def test_real_raspi4_from_ten_measurements_beats_flops():
    from nasbench_suite.train.counting import nb201_stats
    from nasbench_suite.train.specs import dataset_spec

    data = devices.read_latencies(data_path("nb201", "nb201_latency_ms.csv"))
    space = spaces.get("nb201")
    flops = [nb201_stats(space.validate(k), dataset_spec("cifar10")).flops_m for k in data["keys"]]
    report = devices.evaluate_devices(
        space, data, flops, meta_test=("raspi4",), few_shot_sizes=(10,), scratch_sizes=(10,), trials=3
    )
    rows = {(r["model"], r["train_size"]): r for r in report["devices"]["raspi4"] if r["test_set"] == "all"}
    assert rows[("few-shot", 10)]["spearman"]["mean"] > 0.9
    assert rows[("few-shot", 10)]["spearman"]["mean"] > rows[("flops", 0)]["spearman"]["mean"]
    assert rows[("few-shot", 10)]["spearman"]["mean"] > rows[("scratch", 10)]["spearman"]["mean"]


def test_latency_treats_every_architecture_as_its_own_class():
    """Two NB201 cells of one accuracy class (an op on an edge whose output no node uses) still
    run different operations: the latency harness splits and encodes them apart."""
    from nasbench_suite.surrogates import predictors
    from nasbench_suite.surrogates.evaluation import class_ids

    space = spaces.get("nb201")
    dead_conv = "|none~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    dead_pool = "|none~0|+|none~0|none~1|+|skip_connect~0|avg_pool_3x3~1|none~2|"
    assert space.canonical_key(dead_conv) == space.canonical_key(dead_pool)  # one accuracy class
    view = devices.latency_view(space)
    assert len(set(class_ids(view, [dead_conv, dead_pool]))) == 2
    assert view.canonical(dead_conv) == space.validate(dead_conv)
    assert len(set(class_ids(space, [dead_conv, dead_pool]))) == 1  # the space itself is unchanged
    cells = [space.validate(dead_conv), space.validate(dead_pool)]
    encoded = [predictors.get("xgb", s, seed=0)._encode(cells) for s in (space, view)]
    assert np.array_equal(encoded[0][0], encoded[0][1])  # the accuracy encoding joins them
    assert not np.array_equal(encoded[1][0], encoded[1][1])  # the device's sees the dead op
    assert np.array_equal(predictors.get("xgb", space, seed=0)._encode(cells), encoded[0])  # no mixing
