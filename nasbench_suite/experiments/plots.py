"""Regret against simulated time: one PNG per dataset, mean over seeds with a standard-error band.

Both axes are logarithmic. The curve of a run is a step function: the regret
charged before any result (best minus worst reference value) until the first
result, then the incumbent's regret. A strategy's mean is drawn from the moment
every one of its runs has a result: before that it would average the charged
initial regret with real incumbents and say nothing about either. Regret 0 (the
optimum found) cannot sit on a log axis: values are drawn at no less than
``REGRET_FLOOR``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from nasbench_suite import _atomic
from nasbench_suite.stats import standard_error

REGRET_FLOOR = 1e-3
GRID_POINTS = 200


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


def plot_regret(
    curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    budget: float,
    initial: float,
    path: str | Path,
    title: str,
    xlabel: str = "simulated training time (s)",
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write a PNG of mean regret (with +- 1 s.e. band) against time, one line per strategy.

    Args:
        curves: strategy -> list of (times, regrets) per seed.
        budget: the budget (x-axis end) in the unit of ``times``.
        initial: regret before the first result.
        path: PNG to write.
        title: plot title.
        xlabel: x-axis label.
        metadata: PNG text chunks (the report's provenance), written beside matplotlib's own.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = time_grid([float(t[0]) for runs in curves.values() for t, _ in runs if len(t)], budget)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for name in sorted(curves):
        runs = curves[name]
        if not runs:
            continue
        values = np.stack([regret_on_grid(t, r, grid, initial) for t, r in runs])
        mean = values.mean(axis=0)
        se = standard_error(values, axis=0)
        all_started = max((float(t[0]) if len(t) else np.inf) for t, _ in runs)
        mean = np.where(grid >= all_started, mean, np.nan)
        (line,) = ax.plot(grid, np.maximum(mean, REGRET_FLOOR), label=f"{name} (n={len(runs)})", lw=1.6)
        ax.fill_between(
            grid,
            np.maximum(mean - se, REGRET_FLOOR),
            np.maximum(mean + se, REGRET_FLOOR),
            color=line.get_color(),
            alpha=0.2,
            lw=0,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("regret (accuracy points)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip(".") or "png", metadata=dict(metadata or {}))
    plt.close(fig)
    return _atomic.write_bytes(path, buffer.getbuffer())
