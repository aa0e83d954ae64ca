"""query_batch and query_arrays of a table: the categorical architecture column, the numpy path, inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasbench_suite import open_benchmark
from nasbench_suite.bench._batch import KeyLookup
from nasbench_suite.errors import MalformedArchError, UnknownArchError, UnknownSeedError
from nasbench_suite.tabular import write_table
from tests.support import synthetic_table


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    path = tmp_path_factory.mktemp("batch") / "toy.h5"
    write_table(path, synthetic_table(n_archs=40, missing_fraction=0.3))
    with open_benchmark(path) as b:
        yield b


def _dataset(bench):
    return bench.datasets[0]


def test_frame_matches_single_queries_and_arch_is_categorical(bench):
    ds = _dataset(bench)
    keys = bench.table.keys
    archs = [keys[i] for i in np.random.default_rng(0).integers(len(keys), size=500)]
    for seed in ("mean", 0):
        df = bench.query_batch(archs, ds, seed=seed, metrics="all")
        assert isinstance(df["arch"].dtype, pd.CategoricalDtype)
        assert df["arch"].tolist() == archs and (df["arch"] == archs[3]).sum() == archs.count(archs[3])
        assert list(df.columns[:2]) == ["arch", "seed"] and df.columns[-1] == "cost_s"
        for i in (0, 7, 499):
            single = bench.query(archs[i], ds, seed=seed, metrics="all")
            assert df.loc[i, "cost_s"] == single.cost_s
            assert all(
                df.loc[i, m] == v or (np.isnan(v) and np.isnan(df.loc[i, m]))
                for m, v in single.metrics.items()
            )


def test_arrays_path_equals_frame(bench):
    ds = _dataset(bench)
    keys = bench.table.keys
    archs = keys * 3
    for seed in ("mean", 0, "sample"):
        arrays = bench.query_arrays(archs, ds, seed=seed, rng=np.random.default_rng(5))
        df = bench.query_batch(archs, ds, seed=seed, rng=np.random.default_rng(5))
        assert all(isinstance(v, np.ndarray) for v in arrays.values())
        assert [keys[r] for r in arrays["row"]] == df["arch"].tolist()
        for name in df.columns[1:]:
            assert np.array_equal(arrays[name], df[name].to_numpy(), equal_nan=True)


def test_categorical_input_and_architecture_objects(bench):
    ds = _dataset(bench)
    keys = bench.table.keys
    df = bench.query_batch(keys[:5] * 2, ds, seed=0)
    again = bench.query_batch(df["arch"], ds, seed=0)
    assert again["arch"].tolist() == df["arch"].tolist()
    objects = [bench.space.parse(k) for k in keys[:3]]
    mixed = bench.query_batch([*objects, keys[4]], ds, seed=0)
    assert mixed["arch"].tolist() == [*keys[:3], keys[4]]


def test_errors(bench):
    ds = _dataset(bench)
    with pytest.raises(MalformedArchError):
        bench.query_batch(bench.table.keys[0], ds)
    with pytest.raises(UnknownArchError):
        bench.query_arrays([bench.table.keys[0], "2-2-2-2"], ds)
    with pytest.raises(MalformedArchError, match="missing value"):
        bench.query_batch(pd.Categorical([bench.table.keys[0], None]), ds)
    missing = np.flatnonzero(~bench.table.present(ds)[:, 1])
    with pytest.raises(UnknownSeedError):
        bench.query_arrays([bench.table.keys[i] for i in missing], ds, seed=1)
    assert len(bench.query_batch([], ds)) == 0


def test_sampled_seeds_are_the_previous_draws(bench):
    """The k-th present seed for k = floor(u * count), as before the per-row column table."""
    ds = _dataset(bench)
    keys = bench.table.keys
    rows = np.random.default_rng(1).integers(len(keys), size=2000)
    present = bench.table.present(ds)[rows]
    k = (np.random.default_rng(9).random(len(rows)) * present.sum(axis=1)).astype(np.int64)
    expected = np.asarray(bench.seeds(ds))[np.argmax(np.cumsum(present, axis=1) > k[:, None], axis=1)]
    got = bench.query_arrays([keys[r] for r in rows], ds, seed="sample", rng=np.random.default_rng(9))
    assert np.array_equal(got["seed"], expected)


def test_key_lookup_direct_and_public_paths_agree(bench):
    """The cached hash table and the public Index.get_indexer give the same rows: stored keys,
    equal strings that are other objects, unknown text and non-strings (-1), unhashables (TypeError)."""
    keys = bench.table.keys
    values = [keys[3], ("x" + keys[5])[1:], "2-2-2-2", None, 7, keys[0]]
    expected = np.array([3, 5, -1, -1, -1, 0])
    for direct in (True, False):
        lookup = KeyLookup(keys, direct=direct)
        got = lookup.rows(np.array(values, dtype=object))
        assert got.dtype == np.int64 and np.array_equal(got, expected)
        with pytest.raises(TypeError):
            lookup.rows(np.array([keys[0], {"a": 1}], dtype=object))
