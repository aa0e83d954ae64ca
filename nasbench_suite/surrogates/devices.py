"""Few-shot latency prediction across devices (the HELP setting) on the evaluation harness.

Lee et al., "HELP: Hardware-adaptive efficient latency prediction for NAS via
meta-learning", NeurIPS 2021: a latency predictor meta-trained on some devices
predicts a new device's latency for every architecture from 10 measurements on it.
Here (docs/surrogates.md, "Few-shot latency across devices"):

- ``few-shot``: the other devices' latencies are prior knowledge. Every architecture
  is described by the standardised log latencies of the meta-training devices plus
  its log FLOPs; their first ``k`` principal components (over all architectures, no
  label of the new device used) are the features, and the new device's log latency
  is fitted by least squares on ``[1, components]`` from the measured architectures,
  ``k`` (1 to :data:`MAX_COMPONENTS`, at most ``n - 2``) chosen by exact leave-one-out error.
- ``flops``: the architecture's FLOPs (affine on the log scale; the ranking is the FLOPs').
- ``scratch``: the harness's ``xgb`` on the architecture encoding, fitted on the measured
  architectures' log latency (log-error transform off).

Targets are log latencies (ms), so R2 and MAE are on the log scale; Spearman and
Kendall tau are those of the latencies.

Every architecture is its own class here (:func:`latency_view`): a space's equivalence
classes join architectures that compute the same function, but a device still runs the
operations whose output is unused (on NB201, 16 to 27 % of the log-latency variance of the
six meta-test devices lies within accuracy classes), so the splits are not grouped by them
and ``scratch`` encodes each architecture itself, not its class's representative.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates.evaluation import EvaluationError, EvaluationResult, evaluate_predictors

#: HELP's NB201 split (github.com/HayeonLee/HELP, ``script/run_meta_train.sh``).
HELP_META_TRAIN = (
    "1080ti_1",
    "1080ti_32",
    "1080ti_256",
    "silver_4114",
    "silver_4210r",
    "samsung_a50",
    "pixel3",
    "essential_ph_1",
    "samsung_s7",
)
#: The issue's meta-test devices (HELP's paper; its script names titan_rtx_256 instead of titan_rtx_1).
HELP_META_TEST = ("titan_rtx_1", "gold_6226", "pixel2", "raspi4", "eyeriss", "fpga")
#: Published anchors (HELP, NeurIPS 2021, NB201, 10 samples): mean Spearman over the meta-test devices.
PUBLISHED = {"help_10_samples": 0.932, "flops": 0.787}
MAX_COMPONENTS = 5
#: HW-NAS-Bench columns (``nb201_hwnasbench_<dataset>.csv``) and the HELP column holding the same numbers.
HWNAS_SAME_AS = {
    "raspi4_latency": "raspi4",
    "eyeriss_latency": "eyeriss",
    "fpga_latency": "fpga",
    "pixel3_latency": "pixel3",
}
HWNAS_EXTRA = ("edgegpu_latency", "edgetpu_latency")


def read_latencies(latency_csv: str | Path, hwnas_csv: str | Path | None = None) -> dict[str, Any]:
    """Latencies (ms) of every NB201 architecture: ``keys``, ``devices``, ``ms`` ``(n, d)``, ``mapping``.

    HW-NAS-Bench columns that HELP's file already holds are checked to be the same
    numbers (``mapping`` gives the largest difference); the others are added as
    ``hwnas_<name>`` devices (meta-training devices).

    Raises:
        EvaluationError: a file without ``arch`` or with non-positive or missing latencies.
    """
    import pandas as pd

    frame = pd.read_csv(latency_csv)
    if "arch" not in frame:
        raise EvaluationError(f"{latency_csv}: no 'arch' column")
    devices = [c for c in frame.columns if c not in ("index", "arch")]
    mapping: dict[str, Any] = {}
    if hwnas_csv is not None:
        hw = pd.read_csv(hwnas_csv).set_index("arch").reindex(frame["arch"])
        for column, same in HWNAS_SAME_AS.items():
            if column in hw and same in frame:
                diff = float(np.nanmax(np.abs(hw[column].to_numpy() - frame[same].to_numpy())))
                mapping[column] = {"same_as": same, "max_abs_diff_ms": diff}
        for column in HWNAS_EXTRA:
            if column in hw and not (hw[column] > 0).all():
                bad = int((~(hw[column] > 0)).sum())
                mapping[column] = {"skipped": f"{bad} missing or non-positive values"}
            elif column in hw:
                frame[f"hwnas_{column.removesuffix('_latency')}"] = hw[column].to_numpy()
                devices.append(f"hwnas_{column.removesuffix('_latency')}")
                mapping[column] = {"device": f"hwnas_{column.removesuffix('_latency')}"}
    ms = frame[devices].to_numpy(dtype=np.float64)
    if not (np.isfinite(ms) & (ms > 0)).all():
        raise EvaluationError(f"{latency_csv}: missing or non-positive latencies")
    return {"keys": frame["arch"].tolist(), "devices": devices, "ms": ms, "mapping": mapping}


class _Lookup:
    """Rows of a per-architecture array by stored key (archs are the harness's keys)."""

    def __init__(self, space: SearchSpace, keys: Sequence[str], values: np.ndarray):
        self.space, self.values = space, values
        self.index = {k: i for i, k in enumerate(keys)}
        self.params: dict[str, Any] = {}

    def rows(self, archs: Sequence[Any]) -> np.ndarray:
        return self.values[[self.index[a if isinstance(a, str) else self.space.key(a)] for a in archs]]


class FewShotLatency(_Lookup):
    """Least squares on the first ``k`` principal components of the meta-training devices."""

    def __init__(self, space: SearchSpace, keys: Sequence[str], components: np.ndarray):
        super().__init__(space, keys, components)
        self.params = {"max_components": MAX_COMPONENTS}
        self.w_: np.ndarray | None = None

    def fit(self, archs: Sequence[Any], y: np.ndarray) -> FewShotLatency:
        y = np.asarray(y, dtype=np.float64)
        z = self.rows(archs)
        best = (np.inf, np.array([float(np.mean(y))] + [0.0] * z.shape[1]))
        for k in range(1, min(MAX_COMPONENTS, len(y) - 2) + 1):
            x = np.column_stack([np.ones(len(y)), z[:, :k]])
            inverse = np.linalg.pinv(x.T @ x)
            w = inverse @ x.T @ y
            hat = np.einsum("ij,jk,ik->i", x, inverse, x)
            loo = float(np.mean(((y - x @ w) / np.maximum(1.0 - hat, 1e-6)) ** 2))
            if loo < best[0]:
                best = (loo, np.concatenate([w, np.zeros(z.shape[1] - k)]))
        self.w_ = best[1]
        return self

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        z = self.rows(archs)
        return np.column_stack([np.ones(len(z)), z]) @ self.w_


class FlopsLatency(_Lookup):
    """Log FLOPs, mapped affinely to the log latency on the measured architectures."""

    map_ = (0.0, 1.0)

    def fit(self, archs: Sequence[Any], y: np.ndarray) -> FlopsLatency:
        x = self.rows(archs)
        if len(y) >= 2 and np.ptp(x) > 0:
            b, a = np.polyfit(x, np.asarray(y, dtype=np.float64), 1)
            self.map_ = (float(a), float(b))
        return self

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        return self.map_[0] + self.map_[1] * self.rows(archs)


def principal_components(features: np.ndarray, k: int = MAX_COMPONENTS) -> np.ndarray:
    """The first ``k`` principal-component scores of the column-standardised ``features`` ``(n, d)``."""
    x = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-12)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[: min(k, vt.shape[0])].T


def latency_view(space: SearchSpace) -> SearchSpace:
    """``space`` as a device sees it: every architecture its own class (``canonical`` is the
    architecture itself, ``canonical_key`` its key) and every decision live (the one-hot encoding
    then marks the operations of dead edges too, which a device still runs). The harness's splits
    and the predictors' encodings follow these."""
    import copy

    view = copy.copy(space)
    view.__class__ = _latency_class(type(space))
    return view


@functools.cache
def _latency_class(base: type[SearchSpace]) -> type[SearchSpace]:
    # A subclass, not a patched instance: the encodings' row caches are keyed by the class, so the
    # view's rows (dead operations marked) never mix with the space's own.
    def canonical(self: SearchSpace, arch: Any) -> Any:
        return self.validate(arch)

    def canonical_key(self: SearchSpace, arch: Any) -> str:
        return self.key(arch)

    def live_decisions(self: SearchSpace, arch: Any) -> tuple[bool, ...]:
        return (True,) * len(self.decisions())

    methods = {"canonical": canonical, "canonical_key": canonical_key, "live_decisions": live_decisions}
    return type(f"Latency{base.__name__}", (base,), {"__module__": __name__, **methods})


def evaluate_devices(
    space: SearchSpace,
    data: Mapping[str, Any],
    flops_m: np.ndarray,
    *,
    meta_train: Sequence[str] = HELP_META_TRAIN,
    meta_test: Sequence[str] = HELP_META_TEST,
    few_shot_sizes: Sequence[int] = (10, 20, 50, 100),
    scratch_sizes: Sequence[int] = (10, 20, 50, 100, 200, 500, 1000),
    trials: int = 10,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run ``few-shot``, ``flops`` and ``scratch`` on every meta-test device.

    Args:
        data: :func:`read_latencies`' dict; ``flops_m``: ``(n,)`` FLOPs of its ``keys``.

    Returns:
        ``{"devices": {device: EvaluationResult summary}, "settings": ...}``.

    Raises:
        EvaluationError: a device that is not a column, or a meta-test device among the meta-training ones.
    """
    devices = list(data["devices"])
    missing = sorted((set(meta_train) | set(meta_test)) - set(devices))
    if missing or set(meta_train) & set(meta_test):
        raise EvaluationError(
            f"devices {missing or sorted(set(meta_train) & set(meta_test))}: not columns "
            f"of {devices}, or both meta-training and meta-test"
        )
    keys, log_ms = list(data["keys"]), np.log(np.asarray(data["ms"], dtype=np.float64))
    log_flops = np.log(np.asarray(flops_m, dtype=np.float64))
    features = np.column_stack([log_ms[:, [devices.index(d) for d in meta_train]], log_flops])
    components = principal_components(features)
    from nasbench_suite.surrogates import predictors

    groups: list[tuple[dict[str, Any], Sequence[int], int]] = [
        ({"flops": lambda sp, s: FlopsLatency(sp, keys, log_flops)}, (0,), 0),
        ({"few-shot": lambda sp, s: FewShotLatency(sp, keys, components)}, few_shot_sizes, 2),
        (
            {"scratch": lambda sp, s: predictors.get("xgb", sp, seed=s, target_transform="none")},
            scratch_sizes,
            2,
        ),
    ]
    out: dict[str, Any] = {}
    exact = latency_view(space)
    for device in meta_test:
        y = log_ms[:, devices.index(device)]
        result = EvaluationResult()
        for factories, sizes, low in groups:
            part = evaluate_predictors(
                exact,
                keys,
                y,
                factories,
                train_sizes=sizes,
                trials=1 if low == 0 else trials,
                seed=seed,
                min_train_size=low,
                progress=None if progress is None else (lambda t, d=device: progress(f"{d}: {t}")),
            )
            result.trials += part.trials
        out[device] = result.summary()
    return {
        "settings": {
            "meta_train": list(meta_train),
            "meta_test": list(meta_test),
            "trials": trials,
            "seed": seed,
            "few_shot_sizes": list(few_shot_sizes),
            "scratch_sizes": list(scratch_sizes),
            "max_components": MAX_COMPONENTS,
            "n_archs": len(keys),
        },
        "published": PUBLISHED,
        "devices": out,
    }


def _row(summary: Sequence[dict[str, Any]], model: str, size: int) -> dict[str, Any] | None:
    return next(
        (r for r in summary if r["model"] == model and r["train_size"] == size and r["test_set"] == "all"),
        None,
    )


def devices_markdown(report: dict[str, Any]) -> str:
    """The report of :func:`evaluate_devices` (stamped, with ``source``) as Markdown."""
    from nasbench_suite.surrogates.report import _fmt

    s, devices = report["settings"], report["devices"]
    lines = [
        "# Few-shot latency prediction across devices (HELP setting): nb201",
        "",
        f"- latencies: `{report['source']['latency_csv']}`; "
        f"HW-NAS-Bench: `{report['source'].get('hwnas_csv')}`",
        f"- meta-training devices (HELP's split): {', '.join(s['meta_train'])}",
        f"- meta-test devices: {', '.join(s['meta_test'])}",
        f"- {s['trials']} random draws of the measured architectures per size (seed {s['seed']}); "
        f"test set: every other architecture of the {s['n_archs']:,} (each its own class: architectures "
        "that compute the same function still run different operations on a device, so neither the "
        "splits nor `scratch`'s encoding join them); targets are log latencies",
        "- methods: `few-shot` (principal components of the meta-training devices' log latencies and "
        "log FLOPs, "
        "least squares on the measured archs), `flops` (FLOPs alone), `scratch` (`xgb` on the encoding)",
    ]
    if report.get("generated"):
        lines.append(f"- generated {report['generated']} on {report.get('machine', 'unknown machine')}")
    for column, m in sorted(report["source"].get("mapping", {}).items()):
        if "same_as" in m:
            what = f"same numbers as `{m['same_as']}` (max diff {m['max_abs_diff_ms']:.2g} ms)"
        else:
            what = f"added as `{m['device']}`" if "device" in m else f"left out: {m['skipped']}"
        lines.append(f"- HW-NAS-Bench `{column}`: {what}")
    lines += [
        "",
        "## Spearman rho per meta-test device, 10 measured architectures",
        "",
        "| device | few-shot (10) | flops | scratch (10) | scratch (100) | scratch (1000) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    means: dict[str, list[float]] = {}
    for device, summary in devices.items():
        cells = []
        for key, model, size in (
            ("few", "few-shot", 10),
            ("flops", "flops", 0),
            ("s10", "scratch", 10),
            ("s100", "scratch", 100),
            ("s1000", "scratch", 1000),
        ):
            r = _row(summary, model, size)
            cells.append(_fmt(r["spearman"]) if r else "n/a")
            if r:
                means.setdefault(key, []).append(r["spearman"]["mean"])
        lines.append(f"| {device} | " + " | ".join(cells) + " |")
    avg = [
        f"{np.mean(means[k]):.3f}" if k in means else "n/a" for k in ("few", "flops", "s10", "s100", "s1000")
    ]
    lines.append("| **mean** | " + " | ".join(f"**{a}**" for a in avg) + " |")
    p = report["published"]
    lines.append(f"| HELP (published) | {p['help_10_samples']:.3f} | {p['flops']:.3f} | | | |")
    lines += [
        "",
        "## Spearman rho against the number of measured architectures",
        "",
        "| device | method | " + " | ".join(str(n) for n in s["scratch_sizes"]) + " |",
        "|---|---|" + "---:|" * len(s["scratch_sizes"]),
    ]
    for device, summary in devices.items():
        for model in ("few-shot", "scratch"):
            cells = [
                _fmt(r["spearman"]) if (r := _row(summary, model, n)) else "" for n in s["scratch_sizes"]
            ]
            lines.append(f"| {device} | {model} | " + " | ".join(cells) + " |")
    if report.get("plot"):
        lines += ["", f"![Spearman rho against measured architectures]({report['plot']})"]
    return "\n".join(lines) + "\n"


def plot_devices(report: dict[str, Any], path: str | Path) -> Path:
    """One panel per meta-test device: Spearman against measured architectures; FLOPs and HELP as lines."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasbench_suite.surrogates.transfer_report import save_png

    devices = report["devices"]
    cols = 3
    fig, axes = plt.subplots(math.ceil(len(devices) / cols), cols, figsize=(12, 6.4), squeeze=False)
    for ax, (device, summary) in zip(axes.flat, devices.items()):
        for model in ("few-shot", "scratch"):
            rows = sorted(
                (r for r in summary if r["model"] == model and r["test_set"] == "all"),
                key=lambda r: r["train_size"],
            )
            err = [r["spearman"]["se"] or 0.0 for r in rows]
            ax.errorbar(
                [r["train_size"] for r in rows],
                [r["spearman"]["mean"] for r in rows],
                yerr=err,
                marker="o",
                ms=3,
                label=model,
            )
        flops = _row(summary, "flops", 0)
        if flops:
            ax.axhline(flops["spearman"]["mean"], color="grey", ls="--", label="flops")
        ax.axhline(report["published"]["help_10_samples"], color="black", ls=":", label="HELP mean (10)")
        ax.set_xscale("log")
        ax.set_title(device, fontsize="medium")
        ax.set_xlabel("measured architectures")
        ax.set_ylabel("Spearman rho")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(loc="lower right", fontsize="x-small")
    fig.tight_layout()
    return save_png(fig, path)


def write_devices_report(report: dict[str, Any], directory: str | Path, stem: str) -> list[Path]:
    """Write ``stem.json``, ``stem.md`` and ``stem.png`` into ``directory``; returns the paths."""
    from nasbench_suite.surrogates.transfer_report import write_report_files

    return write_report_files(report, directory, stem, plot_devices, devices_markdown)
