"""What the 12-epoch search signal costs, measured where a 12-epoch table exists.

The published NB201 and NATS-Bench searches observe a 12-epoch validation accuracy; the
imported table has only the 200-epoch one, so the presets search on it (a cleaner signal).
The project's own table ``nb201-cpu`` holds a cheap 12-epoch protocol (reduced network and
images, CPU) for 200 NB201 architectures, which are also in the imported table. On that pool,
random search with ``k`` draws picks the architecture with the best observed value under
either signal, and the pick is scored by the published 200-epoch accuracy:

- **cheap**: the 12-epoch valid accuracy of one ``nb201-cpu`` seed (drawn per architecture);
- **full**: the 200-epoch valid accuracy of one published seed, as the presets observe it; its
  pick is scored on the seeds it was not observed on (held out), so that the comparison carries
  no selection bias;
- **oracle**: the 200-epoch seed mean itself (the best a signal could do).

The gap full - cheap estimates how much the presets' 200-epoch signal flatters every method
against the published 12-epoch searches, at the pool's scale (200 architectures, not 15,625).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Draws per search and repetitions of the measurement.
DRAWS: tuple[int, ...] = (10, 25, 50, 100)
REPEATS = 4000


def cheap_signal_check(
    bench: Any,
    cheap: Any,
    dataset: str,
    cheap_dataset: str,
    draws: Sequence[int] = DRAWS,
    repeats: int = REPEATS,
    seed: int = 0,
) -> dict[str, Any]:
    """Random search on ``cheap``'s pool under the cheap, the full and the oracle signal.

    Args:
        bench: the imported table (200-epoch per-seed ``valid_acc`` on ``dataset``).
        cheap: the 12-epoch table (final-epoch per-seed ``valid_acc`` on ``cheap_dataset``).
        draws: architectures drawn per search (without replacement, at most the pool).
        repeats: searches per ``k`` and signal.
        seed: the generator's seed.

    Returns:
        ``{"pool": n, "pool_best": best seed mean, "rows": [{"draws": k, "<signal>": (mean, s.e.)}]}``,
        accuracies in % of the published 200-epoch valid split.
    """
    keys = [k for k in cheap.reference_archs(cheap_dataset) if k in set(bench.reference_archs(dataset))]
    low = cheap.seed_matrix(keys, cheap_dataset, "valid_acc")
    full = bench.seed_matrix(keys, dataset, "valid_acc")
    usable = np.isfinite(low).any(axis=1) & (np.isfinite(full).sum(axis=1) >= 2)
    keys, low, full = [k for k, u in zip(keys, usable, strict=True) if u], low[usable], full[usable]
    mean = np.nanmean(full, axis=1)
    rng = np.random.default_rng(seed)
    rows = []
    for k in draws:
        k = min(int(k), len(keys))
        scores: dict[str, list[float]] = {"cheap": [], "full": [], "oracle": []}
        for _ in range(repeats):
            idx = rng.choice(len(keys), size=k, replace=False)
            cheap_obs = _one_seed(low[idx], rng)
            full_seed = _one_seed_index(full[idx], rng)
            full_obs = full[idx][np.arange(k), full_seed]
            scores["cheap"].append(mean[idx[int(np.argmax(cheap_obs))]])
            pick = int(np.argmax(full_obs))
            held = np.delete(full[idx[pick]], full_seed[pick])
            scores["full"].append(float(np.nanmean(held)))
            scores["oracle"].append(mean[idx[int(np.argmax(mean[idx]))]])
        row: dict[str, Any] = {"draws": k}
        for name, values in scores.items():
            v = np.asarray(values)
            row[name] = (float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))))
        rows.append(row)
    return {
        "pool": len(keys),
        "pool_best": float(mean.max()),
        "repeats": repeats,
        "cheap_dataset": cheap_dataset,
        "rows": rows,
    }


def _one_seed(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One available seed's value per row of ``values`` (n, seeds)."""
    return values[np.arange(len(values)), _one_seed_index(values, rng)]


def _one_seed_index(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    finite = np.isfinite(values)
    # A uniform key per available seed; the largest marks the drawn one (NaN seeds never win).
    keys = np.where(finite, rng.random(values.shape), -1.0)
    return np.argmax(keys, axis=1)


def cheap_signal_markdown(check: dict[str, Any]) -> list[str]:
    """The check as a Markdown section."""
    lines = [
        "## What the 12-epoch signal costs (measured on the project's 12-epoch table)",
        "",
        f"Random search on the {check['pool']} NB201 architectures of `nb201-cpu` "
        f"(`{check['cheap_dataset']}`, the reduced 12-epoch CPU protocol), picking the best observed "
        "value under each signal; the pick is scored by the published 200-epoch valid accuracy "
        "(seed mean; for the 200-epoch signal, the seeds it was not observed on). "
        f"{check['repeats']} searches per row; mean ± s.e. of the searches (the pool is fixed: its own "
        f"sampling is not in the s.e.); pool best {check['pool_best']:.2f}.",
        "",
        "| draws | 12-epoch signal (cheap) | 200-epoch signal (one seed) | oracle (seed mean) | "
        "200-epoch - 12-epoch |",
        "|---|---|---|---|---|",
    ]
    for row in check["rows"]:
        gap = row["full"][0] - row["cheap"][0]
        cells = " | ".join(f"{row[s][0]:.2f} ± {row[s][1]:.3f}" for s in ("cheap", "full", "oracle"))
        lines.append(f"| {row['draws']} | {cells} | {gap:+.2f} |")
    return [*lines, ""]
