"""The HDF5 layout of a table image, its manifest and its checksums (format 1; in format 2 each
part of the file is such an image, see :mod:`nasbench_suite.tabular.parts`).

::

    /                               attrs: format, format_version, manifest (JSON), manifest_checksum
    /archs/key                      (N,) bytes   stored architecture keys (UTF-8)
    /archs/canonical                (N,) bytes   canonical keys (isomorphism classes)
    /static/<metric>                (N,) float64 table-wide per-arch values
    /datasets/<name>/seeds          (S,) int64
    /datasets/<name>/epochs         (E,) int64   1-based epochs of the curves
    /datasets/<name>/present        (N, S) bool  which (arch, seed) runs exist
    /datasets/<name>/per_seed/<m>   (N, S) float64
    /datasets/<name>/curves/<m>     (N, S, E) float64
    /datasets/<name>/per_arch/<m>   (N,) float64
    /missing/...                    a bool mask beside every float array, same path under /missing

The manifest (a JSON root attribute) describes everything above: space, datasets,
seeds, epochs, metric units and descriptions, protocol and provenance per dataset,
missing counts, and a BLAKE2b checksum of every array. A dataset's checksum
covers its manifest entry (so its arrays' checksums); ``manifest_checksum``
covers the whole manifest. Opening reads the manifest only; arrays are read when
asked for and checked against their checksum as they are read.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

FORMAT_NAME = "nasbench-suite-table"
FORMAT_VERSION = 2
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

# Array kinds inside a dataset group, with the axes of their shape.
DATASET_KINDS = ("per_seed", "curves", "per_arch")
KIND_AXES = {"per_seed": ("arch", "seed"), "curves": ("arch", "seed", "epoch"), "per_arch": ("arch",)}


def array_checksum(arr: np.ndarray) -> str:
    """BLAKE2b-128 of an array's dtype, shape and C-order bytes, as hex."""
    arr = np.ascontiguousarray(arr)
    h = hashlib.blake2b(digest_size=16)
    h.update(arr.dtype.str.encode())
    h.update(repr(arr.shape).encode())
    if arr.size:
        h.update(memoryview(arr.reshape(-1)).cast("B"))
    return h.hexdigest()


def json_checksum(obj: Any) -> str:
    """BLAKE2b-128 of the canonical JSON of ``obj``."""
    return hashlib.blake2b(canonical_json(obj).encode(), digest_size=16).hexdigest()


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def dataset_checksum(entry: dict[str, Any]) -> str:
    """Checksum of a dataset's manifest entry, excluding the checksum itself."""
    return json_checksum({k: v for k, v in entry.items() if k != "checksum"})


def data_path(dataset: str | None, kind: str, metric: str) -> str:
    """HDF5 path of a float array; ``dataset=None`` for table-wide static arrays."""
    if dataset is None:
        return f"/static/{metric}"
    return f"/datasets/{dataset}/{kind}/{metric}"


def missing_path(dataset: str | None, kind: str, metric: str) -> str:
    return "/missing" + data_path(dataset, kind, metric)
