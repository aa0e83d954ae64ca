"""Chunks compressed in threads are the bytes HDF5's own shuffle + deflate filters write."""

from __future__ import annotations

import h5py
import numpy as np

from nasbench_suite.tabular import _chunks


def test_threaded_chunks_are_hdf5s_own(tmp_path):
    rng = np.random.default_rng(0)
    floats = rng.uniform(0, 100, (10_001, 3, 2))  # the last chunk is an edge chunk
    floats[5, 1, 1] = np.nan
    flags = rng.random((10_001, 3)) < 0.5
    with h5py.File(tmp_path / "t.h5", "w") as f:
        for name, data, chunks in (("f", floats, (1000, 3, 2)), ("b", flags, (999, 3))):
            storage = {"chunks": chunks, "compression": "gzip", "compression_opts": 4, "shuffle": True}
            ref = f.create_dataset(f"{name}-ref", data=data, **storage)
            new = _chunks.create(f, name, data, storage)
            assert new.compression == "gzip" and new.shuffle and new.chunks == chunks
            assert np.array_equal(new[...], data, equal_nan=True)
            for lo in range(0, len(data), chunks[0]):
                at = (lo,) + (0,) * (data.ndim - 1)
                assert new.id.read_direct_chunk(at) == ref.id.read_direct_chunk(at)
