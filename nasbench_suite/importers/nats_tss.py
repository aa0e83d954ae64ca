"""Importer for the official NATS-Bench topology files ("simple" / fast mode).

The folder (``NATS-tss-v1_0-3ffb9-simple`` as its authors ship it) holds
``meta.pickle.pbz2`` and one ``NNNNNN.pickle.pbz2`` per architecture, all
bz2-compressed pickles read with the restricted unpickler of
:mod:`nasbench_suite.safe_pickle` (no code from the files runs).

The table holds only the architectures whose file is present, in official
index order; the index is the static ``nats_index``. Datasets: the 200-epoch
budget under the benchmark's names (``cifar10-valid``, ``cifar10``,
``cifar100``, ``ImageNet16-120``), any other budget as ``<name>@<epochs>``
(``cifar10@12``). Metric names and units: docs/importers.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import spaces
from nasbench_suite._progress import track
from nasbench_suite.errors import ImportSourceError, MalformedArchError
from nasbench_suite.importers._common import require_dir
from nasbench_suite.importers._nb201_meta import BENCHMARK_ORIGIN, SOURCES, SPLITS, TRAIN_HARDWARE, protocol
from nasbench_suite.safe_pickle import load_pbz2
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData

META = "meta.pickle.pbz2"
#: The budget stored under the plain dataset names.
MAIN_BUDGET = "200"
_ARCH_FILE = re.compile(r"(\d{6})\.pickle\.pbz2")
_SPLIT_ORDER = ("x-valid", "ori-test", "x-test")
#: Seeds a run may have: what int64 stores.
SEED_RANGE = (-(2**63), 2**63 - 1)
#: A dataset name: printable, no '/' (it names a group of the table).
_NAME = re.compile(r"[^\x00-\x1f\x7f/]{1,200}")
_LATENCY_HARDWARE = "GPU of the NATS-Bench authors (not recorded in the files)"

# Result = one run: the dict the benchmark stores per (dataset, seed).
Result = dict[str, Any]


def import_table(source: Path, *, curves: bool = True) -> TableData:
    """Import a NATS-Bench topology "simple" folder.

    Args:
        source: the folder holding ``meta.pickle.pbz2`` and architecture files.
        curves: also store per-epoch curves (N, S, E); with False only the
            final per-seed values and per-arch values (a full 15,625-arch
            import with curves takes about 3 GB of memory).

    Returns:
        TableData over the architectures whose file is present.

    Raises:
        ImportSourceError: no folder, no meta file, no architecture file, a
            file that is not a bz2 pickle or does not have the benchmark's
            layout, or an architecture file disagreeing with the meta file.
        UnsafePickleError: a file references a global outside the allow-list.
    """
    folder = require_dir(source, "a NATS-Bench topology 'simple' folder (NATS-tss-v1_0-3ffb9-simple)")
    meta_archs = _read_meta(folder)
    files = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _ARCH_FILE.fullmatch(p.name)))
    if not files:
        raise ImportSourceError(folder, "no architecture files (NNNNNN.pickle.pbz2) next to the meta file")
    indexes = [i for i, _ in files]
    records = [_read_arch(path, i, meta_archs) for i, path in track(files, "reading NATS-Bench", len(files))]
    space = spaces.get("nb201")
    try:
        keys = [space.key(meta_archs[i]) for i in indexes]
    except MalformedArchError as exc:
        raise ImportSourceError(folder / META, str(exc)) from exc
    datasets: dict[str, DatasetData] = {}
    for budget in sorted({b for r in records for b in r}, key=int):
        runs = [r.get(budget, {}) for r in records]
        for name in sorted({ds for arch_runs in runs for ds, _ in arch_runs}):
            full = name if budget == MAIN_BUDGET else f"{name}@{budget}"
            datasets[full] = _dataset(folder, name, budget, runs, curves)
    table = TableData(
        space="nb201",
        keys=keys,
        datasets=dict(sorted(datasets.items())),
        static={"nats_index": np.asarray(indexes, dtype=np.float64)},
        static_metrics={"nats_index": MetricInfo("index", "official NATS-Bench topology index of the arch")},
        static_provenance={
            "benchmark": BENCHMARK_ORIGIN,
            "sources": [{"folder": folder.name, **SOURCES["nats"]}],
        },
        description=f"NATS-Bench topology space, official files of {len(keys)} architectures from "
        f"{folder.name}/; '<dataset>@<epochs>' names hold budgets other than {MAIN_BUDGET} epochs.",
    )
    table.check()
    return table


def _read_meta(folder: Path) -> list[str]:
    path = folder / META
    if not path.is_file():
        raise ImportSourceError(folder, f"no {META}: not a NATS-Bench topology 'simple' folder")
    meta = load_pbz2(path)
    archs = meta.get("meta_archs") if isinstance(meta, dict) else None
    if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
        raise ImportSourceError(path, "expected a dict whose 'meta_archs' is a list of architecture strings")
    return archs


def _read_arch(path: Path, index: int, meta_archs: list[str]) -> dict[str, dict[tuple[str, int], Result]]:
    """budget -> {(dataset, seed): result} of one architecture file, checked against the meta file."""
    if index >= len(meta_archs):
        raise ImportSourceError(
            path, f"index {index} is beyond the {len(meta_archs)} architectures of {META}"
        )
    data = load_pbz2(path)
    if not isinstance(data, dict) or not data:
        raise ImportSourceError(path, "expected a dict keyed by training budget ('12', '200')")
    for budget, info in data.items():
        if not (_is_count(budget) and isinstance(info, dict)):
            raise ImportSourceError(path, f"budget {budget!r:.40}: expected a digit string and a dict")
    out = {}
    for budget in sorted(data):
        info = data[budget]
        if info.get("arch_index") != index or info.get("arch_str") != meta_archs[index]:
            raise ImportSourceError(
                path,
                f"budget {budget}: holds index {info.get('arch_index')!r} / {info.get('arch_str')!r}, "
                f"but the file name and {META} say {index} / {meta_archs[index]!r}",
            )
        results = info.get("all_results")
        if not isinstance(results, dict) or not all(
            isinstance(k, tuple)
            and len(k) == 2
            and isinstance(k[0], str)
            and _NAME.fullmatch(k[0])
            and isinstance(k[1], (int, np.integer))
            and not isinstance(k[1], (bool, np.bool_))
            and SEED_RANGE[0] <= k[1] <= SEED_RANGE[1]
            and isinstance(v, dict)
            for k, v in results.items()
        ):
            raise ImportSourceError(
                path,
                f"budget {budget}: 'all_results' is not keyed by (dataset name, seed) with seeds in "
                f"[{SEED_RANGE[0]}, {SEED_RANGE[1]}]",
            )
        out[budget] = {(ds, int(seed)): v for (ds, seed), v in results.items()}
    return out


def _is_count(budget: object) -> bool:
    return isinstance(budget, str) and len(budget) <= 6 and budget.isascii() and budget.isdigit()


def _dataset(
    folder: Path, name: str, budget: str, runs: list[dict[tuple[str, int], Result]], curves: bool
) -> DatasetData:
    n = len(runs)
    seeds = np.array(sorted({s for arch_runs in runs for ds, s in arch_runs if ds == name}), dtype=np.int64)
    cells = [(row, col, arch_runs[(name, int(seed))])
             for row, arch_runs in enumerate(runs)
             for col, seed in enumerate(seeds) if (name, int(seed)) in arch_runs]  # fmt: skip
    epochs = {_epochs(r, folder) for _, _, r in cells}
    if len(epochs) != 1:
        raise ImportSourceError(
            folder, f"{name} (budget {budget}): runs of different lengths {sorted(epochs)}"
        )
    e = epochs.pop()
    names = [r.get("eval_names") or [] for _, _, r in cells]
    if not all(isinstance(ns, (list, tuple)) and all(isinstance(s, str) for s in ns) for ns in names):
        raise ImportSourceError(folder, f"{name} (budget {budget}): 'eval_names' is not a list of splits")
    splits = sorted({s for ns in names for s in ns}, key=_split_rank)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ImportSourceError(folder, f"{name} (budget {budget}): unknown evaluation split(s) {unknown}")
    series = [("train_acc", "train_acc1es", None), ("train_loss", "train_losses", None),
              ("epoch_train_time_s", "train_times", None)]  # fmt: skip
    for split in splits:
        p = SPLITS[split][0]
        series += [(f"{p}_acc", "eval_acc1es", split), (f"{p}_loss", "eval_losses", split),
                   (f"{p}_time_s", "eval_times", split)]  # fmt: skip
    present = np.zeros((n, len(seeds)), dtype=bool)
    curve = {m: np.full((n, len(seeds), e), np.nan) for m, _, _ in series} if curves else {}
    final = {m: np.full((n, len(seeds)), np.nan) for m, _, _ in series}
    per_arch = {m: np.full(n, np.nan) for m in ("params_m", "flops_m", "latency_s")}
    differ = 0
    for row, col, result in cells:
        present[row, col] = True
        where = f"{name}, seed {seeds[col]}"
        for metric, field, split in series:
            values = _series(result, field, split, e, folder, where)
            if curves:
                curve[metric][row, col] = values
            # Summed in epoch order like the official API ('T-train@total'), not numpy's pairwise sum.
            final[metric][row, col] = sum(values.tolist()) if metric == "epoch_train_time_s" else values[-1]
        for metric, value in zip(("params_m", "flops_m", "latency_s"), _costs(result, folder, where)):
            if np.isnan(per_arch[metric][row]):
                per_arch[metric][row] = value
            elif per_arch[metric][row] != value:
                differ += 1
    per_seed = {m: final[m] for m, _, _ in series if not m.endswith("_time_s")}
    per_seed["train_time_s"] = final["epoch_train_time_s"]
    notes = [
        "train_times and eval_times in these files are one estimated per-epoch time repeated for every "
        "epoch (NATS-Bench fills them from an estimate), so epoch_*_time_s curves are flat",
        "train_acc5es (top-5 training accuracy) is not imported",
    ]
    if differ:
        notes.append(f"params/flop/latency differ between seeds in {differ} runs; the lowest seed's is kept")
    return DatasetData(
        seeds=seeds,
        present=present,
        per_seed=per_seed,
        curves=curve,
        epochs=np.arange(1, e + 1, dtype=np.int64) if curves else np.zeros(0, dtype=np.int64),
        per_arch=per_arch,
        metrics=_metrics(splits, e, per_seed, curve),
        protocol={**protocol(name, e), "eval_splits": splits, "budget_epochs": e},
        provenance={
            "benchmark": BENCHMARK_ORIGIN,
            "sources": [{"folder": folder.name, **SOURCES["nats"], "budget": budget}],
            "time_hardware": {
                **{m: TRAIN_HARDWARE for m, _, _ in series if m.endswith("_time_s")},
                "train_time_s": TRAIN_HARDWARE,
                "latency_s": _LATENCY_HARDWARE,
            },
            "notes": notes,
        },
    )


def _split_rank(split: str) -> int:
    return _SPLIT_ORDER.index(split) if split in _SPLIT_ORDER else len(_SPLIT_ORDER)


def _epochs(result: Result, folder: Path) -> int:
    """A run's declared number of epochs, which sizes its curves: at least 1 and at most the
    length of its longest per-epoch dict (a count the file does not back with values is refused)."""
    value = result.get("epochs")
    longest = max((len(v) for f in _PER_EPOCH if isinstance(v := result.get(f), dict)), default=0)
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < 1:
        where = str(result.get("name"))[:60]
        raise ImportSourceError(folder, f"a run of dataset {where!r} has epochs={str(value)[:40]}")
    if value > longest:
        raise ImportSourceError(
            folder,
            f"a run of dataset {str(result.get('name'))[:60]!r} declares {value} epochs but its longest "
            f"per-epoch record holds {longest} values",
        )
    return int(value)


_PER_EPOCH = ("train_acc1es", "train_losses", "train_times", "eval_acc1es", "eval_losses", "eval_times")


def _series(result: Result, field: str, split: str | None, e: int, folder: Path, where: str) -> np.ndarray:
    """The (e,) per-epoch values of ``field``; NaN for epochs without a value."""
    raw = result.get(field)
    if not isinstance(raw, dict):
        raise ImportSourceError(folder, f"{where}: {field!r} is {type(raw).__name__}, expected a dict")
    out = np.full(e, np.nan)
    try:
        if split is None:
            items = raw.items()
        else:
            prefix = f"{split}@"
            items = (
                (k[len(prefix) :], v) for k, v in raw.items() if isinstance(k, str) and k.startswith(prefix)
            )
        for epoch, value in items:
            index = _epoch_index(epoch, e)
            out[index] = float(value)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise ImportSourceError(folder, f"{where}: {field!r} has a bad epoch or value ({exc})") from None
    return out


def _epoch_index(epoch: object, e: int) -> int:
    """A 0-based epoch key (int or digit string) within the run's ``e`` epochs."""
    if isinstance(epoch, str) and epoch.isascii() and epoch.isdigit() and len(epoch) <= 9:
        index = int(epoch)
    elif isinstance(epoch, (int, np.integer)) and not isinstance(epoch, (bool, np.bool_)):
        index = int(epoch)
    else:
        raise ValueError(f"epoch key {epoch!r:.40} is not a 0-based epoch number")
    if not 0 <= index < e:
        raise IndexError(f"epoch key {index} is outside the run's {e} epochs")
    return index


def _costs(result: Result, folder: Path, where: str) -> tuple[float, float, float]:
    """(params in millions, MFLOPs, latency in s) of one run; latency is its list's mean, as in the API."""
    try:
        latency = result.get("latency")
        seconds = float(sum(latency) / len(latency)) if latency else np.nan
        return float(result["params"]), float(result["flop"]), seconds
    except (KeyError, TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
        raise ImportSourceError(folder, f"{where}: bad params/flop/latency ({exc!r})") from None


def _metrics(
    splits: list[str], e: int, per_seed: dict[str, np.ndarray], curves: dict[str, np.ndarray]
) -> dict[str, MetricInfo]:
    info = {
        "train_acc": MetricInfo("%", "top-1 accuracy on the training data during the epoch"),
        "train_loss": MetricInfo("nats", "cross-entropy on the training data during the epoch"),
        "epoch_train_time_s": MetricInfo(
            "s", "training time of that epoch alone, as the benchmark reports it"
        ),
        "train_time_s": MetricInfo("s", f"training time of the run: the sum of its {e} per-epoch times"),
        "params_m": MetricInfo(
            "M",
            "millions of parameters of this dataset's network (the benchmark's "
            "'params', printed as MB by its API)",
        ),
        "flops_m": MetricInfo("MFLOPs", "millions of FLOPs of one forward pass (the benchmark's 'flop')"),
        "latency_s": MetricInfo("s", "inference latency as the benchmark reports it (mean of its list)"),
    }
    for split in splits:
        prefix, text = SPLITS[split]
        info[f"{prefix}_acc"] = MetricInfo("%", f"top-1 accuracy on {text}")
        info[f"{prefix}_loss"] = MetricInfo("nats", f"cross-entropy on {text}")
        info[f"{prefix}_time_s"] = MetricInfo("s", f"time of evaluating on {split} at that epoch")
    names = set(per_seed) | set(curves) | {"params_m", "flops_m", "latency_s"}
    return {k: v for k, v in sorted(info.items()) if k in names}
