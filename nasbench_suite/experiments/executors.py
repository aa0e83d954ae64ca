"""Executors: run many configs serially, on a local process pool, or on Ray.

Runs are independent and each takes all its randomness from its own config's
seed, so every executor returns the same results, in the order of the configs.
Work is shipped in chunks of runs (not one task per evaluation, nor per run):
each worker process opens each benchmark once (``runner.open_cached``) and
reuses it for every run of every chunk it receives.

Ray is optional: ``import ray`` happens only in :func:`run_many` with
``executor="ray"``. Without ``ray_address`` a local Ray instance is started with
``processes`` CPUs and shut down afterwards; with one, the existing cluster is
joined (and left running).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from nasbench_suite.errors import NasbenchError
from nasbench_suite.experiments.config import RunConfig
from nasbench_suite.experiments.runner import RunResult, run

EXECUTORS = ("local", "serial", "ray")


class ExecutorError(NasbenchError, ValueError):
    """Unknown executor, bad process count, or Ray missing / unreachable."""


#: Seconds to wait for a Ray cluster's address to accept a connection before giving up.
RAY_CONNECT_TIMEOUT_S = 10.0


def check_ray_address(address: str, timeout_s: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Fail fast when ``address`` (``HOST:PORT`` or ``ray://HOST:PORT``) accepts no connection:
    ``ray.init`` would otherwise retry for minutes. ``"auto"`` and addresses without a port are
    left to Ray.

    Raises:
        ExecutorError: one line naming the address and the socket error (refused, timed out).
    """
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ExecutorError(
            f"cannot reach the Ray cluster at {address!r}: {reason} (waited at most {timeout_s:g} s)"
        ) from None


def run_chunk(configs: Sequence[RunConfig], tolerate_strategy_errors: bool = False) -> list[RunResult]:
    """Run ``configs`` one after another in this process.

    Args:
        configs: the runs.
        tolerate_strategy_errors: record a strategy that refuses to be built
            (``StrategyError``, e.g. an optional library missing) as a
            "not-applicable" result instead of raising (what a leaderboard wants).
    """
    from nasbench_suite.search.base import StrategyError

    results = []
    for config in configs:
        try:
            results.append(run(config))
        except StrategyError as exc:
            if not tolerate_strategy_errors:
                raise
            results.append(RunResult(config, status="not-applicable", message=str(exc)))
    return results


class RunFailedError(NasbenchError, RuntimeError):
    """A run failed in a worker process; the message names the run and the original error.

    Errors cross process boundaries by pickling, and exceptions whose ``__init__`` takes
    several arguments cannot be rebuilt on the other side (the pool then only reports a
    broken process). Workers therefore send this one-message error instead.
    """


def run_chunk_remote(configs: Sequence[RunConfig], tolerate_strategy_errors: bool = False) -> list[RunResult]:
    """:func:`run_chunk` for a worker process: any failure comes back as a :class:`RunFailedError`
    (a ``StrategyError`` stays one, so that callers see the same error as in the serial case)."""
    from nasbench_suite.search.base import StrategyError

    done: list[RunResult] = []
    try:
        for config in configs:
            done += run_chunk([config], tolerate_strategy_errors)
    except StrategyError as exc:
        raise StrategyError(str(exc)) from None
    except Exception as exc:
        config = configs[len(done)]
        raise RunFailedError(
            f"run {config.strategy} on {config.dataset} (seed {config.seed}, bench {config.bench}) "
            f"failed: {type(exc).__name__}: {exc}"
        ) from None
    return done


def run_many(
    configs: Sequence[RunConfig],
    executor: str = "local",
    processes: int | None = None,
    ray_address: str | None = None,
    *,
    tolerate_strategy_errors: bool = False,
    chunk_size: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    weights: Sequence[float] | None = None,
) -> list[RunResult]:
    """Run every config; results in the order of ``configs``, identical for every executor.

    Args:
        configs: the runs.
        executor: ``"local"`` (process pool), ``"serial"`` (this process) or ``"ray"``.
        processes: worker processes (local) or CPUs of a local Ray instance;
            default ``os.cpu_count()``.
        ray_address: address of an existing Ray cluster (``executor="ray"`` only).
        tolerate_strategy_errors: see :func:`run_chunk`.
        chunk_size: runs per task; default: about four tasks per process, or by ``weights``.
        on_progress: called with the number of runs finished, after each chunk.
        weights: the expected cost of each run, relative to the others (without ``chunk_size``):
            consecutive runs are grouped into tasks of about ``1 / (TASKS_PER_PROCESS * processes)``
            of the total weight each (a heavier run is a task of its own; at most ``MAX_CHUNK`` runs),
            so that with the heavy runs first the pool ends on light tasks and the processes finish
            close together.

    Raises:
        ExecutorError: unknown executor, bad ``processes``, Ray missing.
        and whatever a run raises (the first failure stops the sweep); from a worker process
        (local, ray) a ``StrategyError`` or a :class:`RunFailedError` naming the run and the
        original error.
    """
    if executor not in EXECUTORS:
        raise ExecutorError(f"unknown executor {executor!r}; executors are {', '.join(EXECUTORS)}")
    if ray_address is not None and executor != "ray":
        raise ExecutorError("--ray-address needs --executor ray")
    if processes is None:
        processes = os.cpu_count() or 1
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ExecutorError(f"processes must be an integer >= 1, not {processes!r}")
    configs = list(configs)
    if not configs:
        return []
    if weights is not None and len(weights) != len(configs):
        raise ExecutorError(f"{len(weights)} weights for {len(configs)} runs")
    chunks = _chunks(configs, processes, chunk_size, weights)
    if executor == "serial" or (executor == "local" and (processes == 1 or len(chunks) == 1)):
        results: list[RunResult] = []
        for chunk in chunks:
            results += run_chunk(chunk, tolerate_strategy_errors)
            if on_progress:
                on_progress(len(chunk))
        return results
    if executor == "local":
        return _run_local(chunks, processes, tolerate_strategy_errors, on_progress)
    return _run_ray(chunks, processes, ray_address, tolerate_strategy_errors, on_progress)


#: With weights, tasks per process the total weight is cut into.
TASKS_PER_PROCESS = 16
#: Most runs in one task.
MAX_CHUNK = 64


def _chunks(
    configs: list[RunConfig], processes: int, chunk_size: int | None, weights: Sequence[float] | None
) -> list[list[RunConfig]]:
    if chunk_size is None and weights is not None:
        share = sum(weights) / (TASKS_PER_PROCESS * processes)
        chunks: list[list[RunConfig]] = []
        load = 0.0
        for config, weight in zip(configs, weights):
            if chunks and load + weight <= share and len(chunks[-1]) < MAX_CHUNK:
                chunks[-1].append(config)
                load += weight
            else:
                chunks.append([config])
                load = weight
        return chunks
    if chunk_size is None:
        chunk_size = max(1, min(MAX_CHUNK, -(-len(configs) // (4 * processes))))
    return [configs[i : i + chunk_size] for i in range(0, len(configs), chunk_size)]


def _run_local(
    chunks: list[list[RunConfig]],
    processes: int,
    tolerate: bool,
    on_progress: Callable[[int], None] | None,
) -> list[RunResult]:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    out: list[list[RunResult] | None] = [None] * len(chunks)
    with ProcessPoolExecutor(max_workers=min(processes, len(chunks))) as pool:
        futures = {pool.submit(run_chunk_remote, chunk, tolerate): i for i, chunk in enumerate(chunks)}
        try:
            for future in as_completed(futures):
                i = futures[future]
                out[i] = future.result()
                if on_progress:
                    on_progress(len(chunks[i]))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return [r for part in out if part is not None for r in part]


def _run_ray(
    chunks: list[list[RunConfig]],
    processes: int,
    address: str | None,
    tolerate: bool,
    on_progress: Callable[[int], None] | None,
) -> list[RunResult]:
    if address is not None:
        check_ray_address(address)  # before the (slow) import: an unreachable address fails at once
    try:
        import ray
    except ImportError:
        raise ExecutorError("the Ray executor needs Ray: pip install 'nasbench-suite[ray]'") from None
    started = False
    if not ray.is_initialized():
        try:
            if address is not None:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            else:
                ray.init(
                    num_cpus=processes, include_dashboard=False, logging_level="ERROR", log_to_driver=False
                )
        except ConnectionError as exc:
            raise ExecutorError(f"cannot reach the Ray cluster at {address!r}: {exc}") from None
        started = True
    try:
        task = ray.remote(run_chunk_remote)
        refs = [task.remote(chunk, tolerate) for chunk in chunks]
        index = {ref: i for i, ref in enumerate(refs)}
        out: list[list[RunResult] | None] = [None] * len(chunks)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                i = index[ref]
                try:
                    out[i] = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    # The worker's own one-message error, without Ray's traceback text around it.
                    if isinstance(exc.cause, NasbenchError):
                        raise exc.cause from None
                    raise
                if on_progress:
                    on_progress(len(chunks[i]))
        return [r for part in out if part is not None for r in part]
    finally:
        if started:
            ray.shutdown()
