"""The generic long-format (csv / parquet) importer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nasbench_suite
from nasbench_suite import importers, spaces
from nasbench_suite.errors import ImportSourceError, MalformedArchError
from nasbench_suite.tabular import write_table


def nb201_long_frame(n_archs=12, epochs=3, seed=0) -> pd.DataFrame:
    space = spaces.get("nb201")
    rng = np.random.default_rng(seed)
    archs = sorted({space.format(space.sample(rng)) for _ in range(n_archs)})
    rows = []
    for arch in archs:
        for s in (777, 888):
            for e in range(1, epochs + 1):
                rows.append(
                    {
                        "arch": arch,
                        "dataset": "cifar10-valid",
                        "seed": s,
                        "epoch": e,
                        "valid_acc": rng.uniform(10, 90),
                        "epoch_train_time_s": rng.uniform(5, 9),
                    }
                )
            rows.append(
                {
                    "arch": arch,
                    "dataset": "cifar10-valid",
                    "seed": s,
                    "epoch": None,
                    "valid_acc": rng.uniform(10, 90),
                    "train_time_s": rng.uniform(50, 90),
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_values_round_trip_exactly(tmp_path, suffix):
    frame = nb201_long_frame()
    path = tmp_path / f"long{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    data = importers.import_table("csv", path, space="nb201")
    write_table(tmp_path / "t.h5", data)
    bench = nasbench_suite.open_benchmark(tmp_path / "t.h5")
    assert bench.epochs("cifar10-valid") == (1, 2, 3)
    for row in frame.itertuples(index=False):
        epoch = None if pd.isna(row.epoch) else int(row.epoch)
        r = bench.query(row.arch, dataset=row.dataset, seed=row.seed, epoch=epoch)
        assert r.metrics["valid_acc"] == row.valid_acc
        if epoch is None:
            assert r.cost_s == row.train_time_s
    assert data.datasets["cifar10-valid"].metrics["epoch_train_time_s"].unit == "s"


def test_errors_name_the_row(tmp_path):
    frame = nb201_long_frame(n_archs=3, epochs=1)
    path = tmp_path / "dup.csv"
    pd.concat([frame, frame.iloc[[0]]]).to_csv(path, index=False)
    with pytest.raises(ImportSourceError, match="duplicated"):
        importers.import_table("csv", path, space="nb201")
    bad = frame.copy()
    bad.loc[2, "arch"] = "|nor_conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    bad.to_csv(path, index=False)
    with pytest.raises(MalformedArchError, match="data row 3"):
        importers.import_table("csv", path, space="nb201")
    frame.to_csv(path, index=False)
    with pytest.raises(ImportSourceError, match="no space given"):
        importers.import_table("csv", path)
    frame.assign(valid_acc="x").to_csv(path, index=False)
    with pytest.raises(ImportSourceError, match="not a number"):
        importers.import_table("csv", path, space="nb201")
    with pytest.raises(ImportSourceError, match="no such file"):
        importers.import_table("csv", tmp_path / "absent.csv", space="nb201")
