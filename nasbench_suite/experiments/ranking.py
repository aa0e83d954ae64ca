"""The summary across datasets: average ranks with the Nemenyi critical difference.

Each (dataset, seed) the strategies share is one block; in each block the strategies are
ranked by final regret exactly as a dataset's board ranks them (``stats.ranks_per_seed``),
so where every dataset has the same strategies and seeds the average rank is the mean of
the boards' average ranks. Two strategies whose average ranks differ by more than the
critical difference (Demsar, JMLR 2006) differ at ``stats.ALPHA``; a critical-difference
diagram joins those that do not. Friedman's test says whether any differ at all. Blocks of
one seed on different datasets are treated as independent, which they are as runs (each
run draws its own seeds) but not as problems: with few datasets, read the groups as
"within this suite", not as a claim about other benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nasbench_suite.experiments.leaderboard import Leaderboard
from nasbench_suite.stats import (
    critical_difference_groups,
    friedman_p,
    nemenyi_critical_difference,
    ranks_per_seed,
)


@dataclass
class RankSummary:
    """Average ranks across datasets (the critical-difference summary).

    Attributes:
        strategies: the strategies on every dataset's board, best (lowest average rank) first.
        avg_ranks: (k,) mean over blocks of the per-block rank by final regret.
        datasets: the datasets summarised.
        n_blocks: blocks ranked on: one per (dataset, seed) the strategies share.
        cd: the Nemenyi critical difference at ``stats.ALPHA`` (``stats.nemenyi_critical_difference``).
        groups: runs of strategies whose average ranks lie within ``cd`` (no significant difference).
        friedman_p: Friedman's test that every strategy ranks alike.
    """

    strategies: list[str]
    avg_ranks: np.ndarray
    datasets: list[str]
    n_blocks: int
    cd: float
    groups: list[tuple[str, ...]]
    friedman_p: float


def rank_summary(board: Leaderboard) -> RankSummary | None:
    """Average rank by final regret over every (dataset, seed) block, ranked as each dataset's
    board ranks (``stats.ranks_per_seed``) among the strategies present on every dataset, with
    the Nemenyi critical difference and Friedman's test; None with fewer than two such strategies.
    Where every dataset has the same strategies and seeds, the average rank is the mean of the
    boards' average ranks."""
    if not board.boards:
        return None
    common = sorted(set.intersection(*(set(b.final_regrets) for b in board.boards)))
    if len(common) < 2:
        return None
    blocks = np.vstack([np.column_stack([b.final_regrets[n] for n in common]) for b in board.boards])
    ranks = ranks_per_seed(blocks) if len(blocks) else np.zeros((0, len(common)))
    mean = ranks.mean(axis=0) if len(blocks) else np.full(len(common), np.nan)
    order = sorted(range(len(common)), key=lambda j: (mean[j], common[j]))
    cd = nemenyi_critical_difference(len(common), len(blocks))
    groups = [tuple(common[j] for j in g) for g in critical_difference_groups(mean, cd)]
    return RankSummary(
        [common[j] for j in order],
        mean[order],
        [b.dataset for b in board.boards],
        len(blocks),
        cd,
        groups,
        friedman_p(ranks),
    )


__all__ = ["RankSummary", "rank_summary"]
