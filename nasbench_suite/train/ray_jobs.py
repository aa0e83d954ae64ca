"""Training runs as Ray tasks: fractional GPUs, retries, results back to the coordinator.

Each run is one task holding ``gpus_per_run`` of a GPU (0.25: four runs share a
GPU) and one CPU; a task that fails (an exception, or its worker dying) is retried
up to ``max_retries`` times by Ray. Results travel back to the coordinator, which
journals them and appends them to the table through the table's one writer;
tasks never touch the table. The data source must be readable on every node
(a shared path, or ``synthetic``); each Ray worker process loads it once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from nasbench_suite.train.errors import TrainConfigError
from nasbench_suite.train.jobs import Job, JobFunction, TrainSettings, run_job


class RayExecutor:
    """Runs jobs as Ray tasks on a cluster (``address``) or a local instance (``address=None``).

    Args:
        address: a running cluster's address; None starts (or joins) a local instance.
        gpus_per_run: GPU share of a run (0 on CPU-only runs).
        cpus_per_run: CPUs reserved per run.
        max_retries: Ray retries of a failed run before it counts as failed.
        max_in_flight: tasks submitted ahead of completion (default: 2 per cluster CPU).
        init_options: further keyword arguments of ``ray.init`` (e.g. ``num_cpus`` in tests).
        job: what one task runs (default :func:`~nasbench_suite.train.jobs.run_job`, a training run).
    """

    def __init__(
        self,
        address: str | None = None,
        gpus_per_run: float = 0.0,
        cpus_per_run: float = 1.0,
        max_retries: int = 2,
        max_in_flight: int | None = None,
        init_options: dict[str, Any] | None = None,
        job: JobFunction | None = None,
    ):
        if gpus_per_run < 0 or cpus_per_run <= 0 or max_retries < 0:
            raise TrainConfigError("Ray: need gpus_per_run >= 0, cpus_per_run > 0, max_retries >= 0")
        self.address = address
        self.gpus_per_run = gpus_per_run
        self.cpus_per_run = cpus_per_run
        self.max_retries = max_retries
        self.max_in_flight = max_in_flight
        self.init_options = init_options or {}
        self.job = job or run_job

    def run(self, settings: TrainSettings, jobs: Sequence[Job]) -> Iterator[tuple[Job, dict[str, Any] | str]]:
        import ray

        if not ray.is_initialized():
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                **self.init_options,
            )
        task = ray.remote(
            num_cpus=self.cpus_per_run,
            num_gpus=self.gpus_per_run,
            max_retries=self.max_retries,
            retry_exceptions=True,
        )(_ray_run_job)
        limit = self.max_in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        queue = list(jobs)
        running: dict[Any, Job] = {}
        while queue or running:
            while queue and len(running) < limit:
                job = queue.pop(0)
                running[task.remote(settings, *job, self.job)] = job
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                job = running.pop(ref)
                try:
                    yield job, ray.get(ref)
                except Exception as exc:  # retries exhausted: report; the next invocation retries
                    # A RayTaskError's own text is a traceback headed by the task name; the
                    # exception the run raised is its cause.
                    cause = getattr(exc, "cause", None) or exc
                    lines = str(cause).strip().splitlines() or [""]
                    yield job, f"{type(cause).__name__}: {lines[0]}"


def _ray_run_job(settings: TrainSettings, arch: str, seed: int, job: JobFunction = run_job) -> dict[str, Any]:
    # Ray sets CUDA_VISIBLE_DEVICES to the task's GPU, so "cuda" is that GPU.
    return job(settings, arch, seed)
