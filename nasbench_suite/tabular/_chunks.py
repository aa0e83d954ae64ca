"""Compressed HDF5 datasets written with every core: chunks shuffled and deflated in threads.

HDF5 runs a dataset's filters (here shuffle, then deflate) one chunk after another in the
writing thread; the large arrays of a table (the curves of 423,624 NB101 cells: 20 MB each)
spent most of a whole write there. Here each chunk goes through the same two filters in numpy
and ``zlib`` (which lets go of the GIL while it compresses) on a thread per core, and is
stored as it is with ``write_direct_chunk``: the file is the one HDF5 would write, read by
any HDF5 reader through its own filters.
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np


def create(f: h5py.File, path: str, data: np.ndarray, storage: dict) -> h5py.Dataset:
    """``f.create_dataset(path, data=data, **storage)``, its chunks compressed in parallel."""
    if storage.get("compression") != "gzip" or not storage.get("shuffle") or data.ndim == 0:
        return f.create_dataset(path, data=data, **storage)
    data = np.ascontiguousarray(data)
    dset = f.create_dataset(path, shape=data.shape, dtype=data.dtype, **storage)
    rows = dset.chunks[0]
    if dset.chunks[1:] != data.shape[1:]:  # chunked along the first axis only, as the writer does
        dset[...] = data
        return dset
    level = int(storage.get("compression_opts", 4))

    def compressed(lo: int) -> bytes:
        block = data[lo : lo + rows]
        if len(block) < rows:  # an edge chunk is stored whole, padded with the fill value (0)
            block = np.concatenate([block, np.zeros((rows - len(block), *data.shape[1:]), data.dtype)])
        shuffled = block.reshape(-1).view(np.uint8).reshape(-1, data.dtype.itemsize).T
        return zlib.compress(np.ascontiguousarray(shuffled).tobytes(), level)

    starts = range(0, len(data), rows)
    zeros = (0,) * (data.ndim - 1)
    with ThreadPoolExecutor(max(1, len(os.sched_getaffinity(0)))) as pool:
        for lo, chunk in zip(starts, pool.map(compressed, starts)):
            dset.id.write_direct_chunk((lo, *zeros), chunk)
    return dset
