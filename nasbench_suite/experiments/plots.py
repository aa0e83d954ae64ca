"""The leaderboard's figures: regret against simulated time and against evaluations (one PNG
each per dataset), and the critical-difference diagram of average ranks across datasets.

Regret plots: both axes are logarithmic. The curve of a run is a step function: the regret
charged before any result (best minus worst reference value) until the first result, then
the incumbent's regret. A strategy's mean is drawn from the moment every one of its runs
has a result: before that it would average the charged initial regret with real incumbents
and say nothing about either. The shaded band is the mean +- 1 standard error over the
strategy's seeds, and the legend says so. Regret 0 (the optimum found) cannot sit on a log
axis: values are drawn at no less than ``REGRET_FLOOR``.

Every strategy has one colour in every figure (``strategy_colour``): a fixed table for the
built-in strategies, and for any other name a colour chosen by a hash of the name, so a
strategy never changes colour with the set of strategies beside it. Each PNG carries, beside
the report's provenance, its title (``Title``) and what it draws as JSON (``Description``):
the series with their colours and seed counts, the band, or the ranks and groups.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.stats import ALPHA, standard_error

REGRET_FLOOR = 1e-3
GRID_POINTS = 200

#: The built-in strategies' colours (matplotlib's tab20 palette, written out so that a
#: matplotlib release cannot change them); random search is grey, the baseline.
STRATEGY_COLOURS: dict[str, str] = {
    "random": "#7f7f7f",
    "rea": "#1f77b4",
    "ga": "#aec7e8",
    "local-search": "#ff7f0e",
    "bananas": "#d62728",
    "xgb-bo": "#ff9896",
    "optuna-tpe": "#2ca02c",
    "optuna-random": "#98df8a",
    "optuna-nsga2": "#17becf",
    "reinforce": "#9467bd",
    "qlearning": "#c5b0d5",
    "sh": "#8c564b",
    "hyperband": "#c49c94",
}
#: Colours for every other strategy name (picked by a hash of the name; two names may share one).
OTHER_COLOURS: tuple[str, ...] = (
    "#e377c2",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
)


def strategy_colour(name: str) -> str:
    """The colour of strategy ``name`` in every figure (``"#rrggbb"``)."""
    colour = STRATEGY_COLOURS.get(name)
    if colour is None:
        # A content hash, not Python's hash(): the same on every run and machine.
        digest = hashlib.blake2b(name.encode(), digest_size=4).digest()
        colour = OTHER_COLOURS[int.from_bytes(digest, "big") % len(OTHER_COLOURS)]
    return colour


def regret_on_grid(times: np.ndarray, regrets: np.ndarray, grid: np.ndarray, initial: float) -> np.ndarray:
    """The step-function regret of one run at each point of ``grid``."""
    idx = np.searchsorted(np.asarray(times, float), grid, side="right") - 1
    values = np.where(idx >= 0, np.asarray(regrets, float)[np.maximum(idx, 0)], initial)
    return np.where(np.isnan(values), initial, values)


def time_grid(first_times: Sequence[float], budget: float) -> np.ndarray:
    """Log-spaced grid from the earliest first result (or budget/1000) to the budget."""
    positive = [t for t in first_times if t > 0]
    start = min(positive) if positive else budget / 1000
    start = min(max(start, budget / 1e6), budget / 10)
    return np.geomspace(start, budget, GRID_POINTS)


def band_label(seed_counts: Sequence[int]) -> str:
    """What the shaded band is, for the legend."""
    counts = sorted(set(seed_counts))
    over = f"{counts[0]} seeds" if len(counts) == 1 else "n seeds (per strategy)"
    return f"shaded: mean ± 1 s.e. over {over}"


def plot_regret(
    curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    budget: float,
    initial: float,
    path: str | Path,
    title: str,
    xlabel: str = "simulated training time (s)",
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write a PNG of mean regret (with its +- 1 s.e. band, labelled) against time or
    evaluations, one line per strategy in its fixed colour.

    Args:
        curves: strategy -> list of (times or evaluation counts, regrets) per seed.
        budget: the x-axis end in the unit of ``times``.
        initial: regret before the first result.
        path: PNG to write.
        title: plot title (the report names the dataset, the benchmark and its kind).
        xlabel: x-axis label.
        metadata: PNG text chunks (the report's provenance), written beside ``Title`` and
            ``Description`` (this figure's series as JSON).
    """
    plt = _pyplot()
    from matplotlib.patches import Patch

    grid = time_grid([float(t[0]) for runs in curves.values() for t, _ in runs if len(t)], budget)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    series = []
    for name in sorted(curves):
        runs = curves[name]
        if not runs:
            continue
        colour = strategy_colour(name)
        values = np.stack([regret_on_grid(t, r, grid, initial) for t, r in runs])
        mean = values.mean(axis=0)
        se = standard_error(values, axis=0)
        all_started = max((float(t[0]) if len(t) else np.inf) for t, _ in runs)
        mean = np.where(grid >= all_started, mean, np.nan)
        ax.plot(grid, np.maximum(mean, REGRET_FLOOR), label=f"{name} (n={len(runs)})", lw=1.6, color=colour)
        lower, upper = np.maximum(mean - se, REGRET_FLOOR), np.maximum(mean + se, REGRET_FLOOR)
        ax.fill_between(grid, lower, upper, color=colour, alpha=0.2, lw=0)
        series.append({"strategy": name, "colour": colour, "n_seeds": len(runs)})
    band = band_label([s["n_seeds"] for s in series]) if series else ""
    handles, _labels = ax.get_legend_handles_labels()
    if band:
        handles.append(Patch(facecolor="0.5", alpha=0.3, label=band))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("regret (accuracy points)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(handles=handles, fontsize=7, loc="lower left")
    description = {"figure": "regret", "x": xlabel, "series": series, "band": band}
    return _save(fig, path, title, description, metadata)


def plot_critical_difference(
    summary: Any, path: str | Path, title: str, metadata: Mapping[str, str] | None = None
) -> Path:
    """Write the critical-difference diagram of ``summary`` (a ``ranking.RankSummary``): the
    strategies on an axis of average rank (1 = best, left), each labelled in its colour with its
    rank, a bar of the critical difference, and a thick line under every group of strategies
    that do not differ significantly (Nemenyi at ``stats.ALPHA``)."""
    plt = _pyplot()
    names, ranks = list(summary.strategies), [float(r) for r in summary.avg_ranks]
    k = len(names)
    half = (k + 1) // 2
    height = 1.6 + 0.28 * max(half, k - half) + 0.12 * len(summary.groups)
    fig, ax = plt.subplots(figsize=(8, height), dpi=120)
    ax.set_xlim(0.5, k + 0.5)
    ax.invert_yaxis()
    ax.axis("off")
    axis_y = 0.0
    ax.plot([1, k], [axis_y, axis_y], color="black", lw=1)
    for tick in range(1, k + 1):
        ax.plot([tick, tick], [axis_y - 0.08, axis_y], color="black", lw=1)
        ax.text(tick, axis_y - 0.12, str(tick), ha="center", va="bottom", fontsize=8)
    if np.isfinite(summary.cd):
        ax.plot([1, 1 + summary.cd], [axis_y - 0.55, axis_y - 0.55], color="black", lw=2)
        ax.text(
            1 + summary.cd / 2,
            axis_y - 0.6,
            f"CD = {summary.cd:.2f} (Nemenyi, α = {ALPHA}, {summary.n_blocks} blocks)",
            ha="left" if summary.cd < 1 else "center",
            va="bottom",
            fontsize=8,
        )
    group_y = axis_y + 0.15
    for group in summary.groups:
        lo, hi = (ranks[names.index(n)] for n in (group[0], group[-1]))
        ax.plot([lo - 0.03, hi + 0.03], [group_y, group_y], color="black", lw=3, solid_capstyle="round")
        group_y += 0.12
    label_y = group_y + 0.15
    for i, (name, rank) in enumerate(zip(names, ranks, strict=True)):
        left = i < half
        row = label_y + 0.28 * (i if left else k - 1 - i)
        end = 0.5 if left else k + 0.5
        colour = strategy_colour(name)
        ax.plot([rank, rank, end], [axis_y, row, row], color=colour, lw=1.2)
        ax.plot([rank], [axis_y], "o", color=colour, ms=4)
        ax.text(  # above its line, at the outer end
            end,
            row - 0.03,
            f"{name} ({rank:.2f})",
            ha="left" if left else "right",
            va="bottom",
            fontsize=8,
            color=colour,
        )
    ax.set_ylim(label_y + 0.28 * max(half, k - half) + 0.1, axis_y - 0.9)
    ax.set_title(title, fontsize=10)
    description = {
        "figure": "critical-difference",
        "ranks": dict(zip(names, ranks, strict=True)),
        "colours": {n: strategy_colour(n) for n in names},
        "cd": summary.cd,
        "alpha": ALPHA,
        "n_blocks": summary.n_blocks,
        "datasets": list(summary.datasets),
        "groups": [list(g) for g in summary.groups],
        "friedman_p": summary.friedman_p,
    }
    return _save(fig, path, title, description, metadata)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(
    fig: Any, path: str | Path, title: str, description: dict, metadata: Mapping[str, str] | None
) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    chunks = {**dict(metadata or {}), "Title": title, "Description": json.dumps(description, allow_nan=True)}
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip(".") or "png", metadata=chunks)
    plt.close(fig)
    return _atomic.write_bytes(path, buffer.getbuffer())
