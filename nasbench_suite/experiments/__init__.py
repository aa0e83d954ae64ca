"""Experiments: the runner (simulated clock, W workers, budgets), executors, trajectories, leaderboards.

``run(RunConfig(...))`` does one run; ``run_many(configs, executor=...)`` a sweep
on a local process pool or Ray; ``write_runs``/``read_runs`` store trajectories
as Parquet; ``nasbench_suite.experiments.leaderboard`` builds the standard suite.
Importing this package loads neither Ray nor torch.
"""

from __future__ import annotations

from nasbench_suite.experiments.config import RunConfig, RunConfigError
from nasbench_suite.experiments.runner import COLUMNS, RunResult, open_cached, run

__all__ = ["COLUMNS", "RunConfig", "RunConfigError", "RunResult", "open_cached", "run"]
