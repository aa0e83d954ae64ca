"""The runner: one search run on a simulated clock with W asynchronous workers.

Each worker trains one architecture at a time: it asks the strategy for a proposal and queries
the benchmark, and the evaluation finishes ``cost_s`` simulated seconds later (the stored
training time). Pending finishes wait on an event heap keyed ``(time, counter)``, so ties resolve
in launch order and the clock never reads wall-clock time. When the earliest evaluation finishes,
the strategy is told its result and that worker starts the next one (W = 1: the sequential loop).

Budgets (``docs/protocol.md``):

- ``budget_s``: no evaluation starts at or after the budget, and an evaluation counts only if it
  finishes at or before it; the run ends at the first finish after the budget (evaluations still
  running are discarded, never told), so the recorded trajectory never passes the budget.
- ``budget_evals``: at most that many evaluations start, and all of them finish.

Multi-fidelity proposals (``proposal.epoch``) continue the same training run: the first query of
an architecture at an epoch draws a seed; a later proposal of it at a higher epoch resumes that
run (same seed) and is charged the cumulative cost to that epoch minus what was already paid; one
at an epoch already reached starts a new run (new seed, full cost to that epoch), so no
evaluation is free. Only full-budget results (no epoch, or the last epoch) become incumbents.

Zero-cost proxies (``proposal.proxy``, ``proxy_queries.py``) are the cheapest fidelity: the
benchmark's proxy value of the untrained network, charged the proxy's compute time, recorded
at epoch 0 and never an incumbent.

Warm starts (``warm_start.py``): a warm-started strategy is handed its source dataset's accuracies
in ``SearchContext.prior`` before the run; reading them is no evaluation and costs nothing on the
clock. Without another dataset in the benchmark the run is not applicable.

An architecture the benchmark does not hold (or holds without any run), or one
the table flags as suspect when the run excludes those, is a failed evaluation:
observed NaN, cost 0, told to the strategy as such; ``search_pool="table"`` keeps strategies
inside the architectures the table holds for the dataset. Held-out reports (``metrics.py``): an
architecture's held-out seed is drawn at its first evaluation and never observed; one without a
report value never becomes the incumbent.
"""

from __future__ import annotations

import heapq
import math
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_suite.errors import UnknownArchError, UnknownSeedError
from nasbench_suite.experiments.config import RunConfig, RunConfigError
from nasbench_suite.experiments.metrics import MetricPlan, resolve_metrics
from nasbench_suite.experiments.proxy_queries import PROXY_EPOCH, ProxyMeter, offered_proxies
from nasbench_suite.experiments.run_summary import summarise
from nasbench_suite.experiments.warm_start import transfer_prior, warm_source

if TYPE_CHECKING:
    from nasbench_suite.bench.base import Benchmark

#: Trajectory columns, in order, one row per finished evaluation.
COLUMNS = (
    "eval",
    "time_s",
    "worker",
    "trial_id",
    "arch",
    "epoch",
    "obs_seed",
    "observed",
    "cost_s",
    "second",
    "full",
    "incumbent",
    "incumbent_observed",
    "incumbent_report",
    "regret",
    "incumbent_report_biased",
)

_BENCHES: dict[str, Benchmark] = {}
_CHECKSUMS: weakref.WeakKeyDictionary[Benchmark, str] = weakref.WeakKeyDictionary()


def open_cached(source: str) -> Benchmark:
    """``open_benchmark(source)``, opened once per process (workers reuse it across runs)."""
    bench = _BENCHES.get(source)
    if bench is None:
        from nasbench_suite.bench import open_benchmark

        bench = open_benchmark(source)
        _BENCHES[source] = bench
    return bench


@dataclass
class RunResult:
    """The outcome of one run.

    Attributes:
        config: the run's settings.
        status: ``"ok"``, or ``"not-applicable"`` when the strategy refused the
            benchmark (``message`` says why; no trajectory).
        trajectory: column name -> (n,) array, see ``COLUMNS``.
        summary: final figures: ``n_evals``, ``time_s`` (simulated time of the last
            result), ``final_report``, ``final_regret``, ``auc_regret``,
            ``final_report_biased`` (the version-1 report: selection-biased),
            ``best_report``, ``initial_regret`` (regret charged before any result),
            ``hypervolume`` (NaN without a second objective),
            ``wall_s`` (seconds of computer time the run took; not part of the result).
        message: why the run did not happen (status not ok).
        bench_checksum: the checksum of the benchmark that answered (``Benchmark.identity()``),
            so that runs on different tables or surrogates are never summarised together.
        rule: what was observed and reported, and the flagged entries (``MetricPlan.describe``).
    """

    config: RunConfig
    status: str = "ok"
    trajectory: dict[str, np.ndarray] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)
    message: str = ""
    bench_checksum: str = ""
    rule: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def run(config: RunConfig, bench: Benchmark | None = None, strategy: Callable | None = None) -> RunResult:
    """Run one search and return its trajectory and summary.

    Args:
        config: the run's settings.
        bench: an open benchmark to use instead of opening ``config.bench``.
        strategy: ``(space, seed=, context=) -> Strategy`` to use instead of the registered
            ``config.strategy`` (``experiments.driver`` runs an external optimiser through it).

    Raises:
        RunConfigError, StrategyError (unknown strategy or option), UnknownDatasetError,
        MetricRuleError, UnknownMetricError.
    """
    from nasbench_suite import search
    from nasbench_suite.search.base import SearchContext, StrategyError

    wall_start = time.perf_counter()
    bench = bench if bench is not None else open_cached(config.bench)
    dataset = config.dataset
    checksum = bench_checksum(bench)
    plan = resolve_metrics(
        bench, dataset, config.observe_metric, config.report_metric, config.second_objective, config.suspect
    )
    epochs = tuple(bench.epochs(dataset))
    strategy_seed, bench_seed = np.random.SeedSequence(config.seed).spawn(2)
    cls = search.strategy_class(config.strategy) if strategy is None else None
    space = bench.space
    pool = None
    if config.search_pool == "table":  # search only what the table holds (a sparse table)
        from nasbench_suite.spaces.pool import PoolSpace

        pool = [k for k in bench.reference_archs(dataset) if k not in plan.excluded]
        space = PoolSpace(space, pool)
    if cls is not None and config.warm_source is not None and not cls.warm_started:
        raise RunConfigError(
            f"warm_source {config.warm_source!r}: strategy {config.strategy!r} does not start from a "
            "source dataset (the warm-started ones do: rea-warm, bananas-warm, xgb-bo-warm)"
        )
    prior = None
    if config.warm_source is not None or (cls is not None and cls.warm_started):
        # Prior knowledge read from the source dataset: no evaluation, nothing on the clock.
        source = warm_source(bench, dataset, config.warm_source)
        if source is None:
            message = f"no source dataset to warm-start from: the benchmark holds only {dataset!r}"
            return RunResult(config, status="not-applicable", message=message, bench_checksum=checksum)
        prior = transfer_prior(bench, config, source, None if pool is None else set(pool))
    context = SearchContext(
        epochs=epochs,
        max_epoch=epochs[-1] if epochs else None,
        n_objectives=1 if plan.second is None else 2,
        budget_evals=config.budget_evals,
        proxies=offered_proxies(bench, dataset),
        prior=prior,
    )
    try:
        strategy = (strategy or partial(search.get, config.strategy, **config.options))(
            space, seed=strategy_seed, context=context
        )
    except StrategyError as exc:
        if cls and ((cls.multi_fidelity and not epochs) or (cls.multi_objective and plan.second is None)):
            # The strategy's own refusal, as a result rather than an error: a sweep over
            # every strategy lists it as not applicable to this benchmark.
            return RunResult(config, status="not-applicable", message=str(exc), bench_checksum=checksum)
        raise
    loop = _Loop(config, bench, plan, strategy, np.random.default_rng(bench_seed), context.max_epoch)
    trajectory = loop.run()
    summary = summarise(config, bench, plan, trajectory, loop.report_of)
    summary["wall_s"] = time.perf_counter() - wall_start
    rule = plan.describe()
    if config.search_pool == "table":
        rule += f"; searched over the {space.size:,} architectures the table holds"
    if prior is not None:
        rule += (
            f"; warm start from {prior.source} ({prior.metric}, seed mean, {len(prior):,} architectures; "
            "charged nothing)"
        )
    return RunResult(config, trajectory=trajectory, summary=summary, bench_checksum=checksum, rule=rule)


def bench_checksum(bench: Benchmark) -> str:
    """``bench.identity()["checksum"]``, computed once per open benchmark."""
    checksum = _CHECKSUMS.get(bench)
    if checksum is None:
        checksum = _CHECKSUMS[bench] = bench.identity()["checksum"]
    return checksum


class _Loop:
    """The event loop of one run (kept in one object so the hot path reads locals)."""

    def __init__(
        self,
        config: RunConfig,
        bench: Benchmark,
        plan: MetricPlan,
        strategy: Any,
        rng: np.random.Generator,
        max_epoch: int | None,
    ):
        self.config, self.bench, self.plan, self.strategy, self.rng = config, bench, plan, strategy, rng
        self.max_epoch = max_epoch
        self.metrics = (plan.observe,) if plan.second is None else (plan.observe, plan.second)
        self.proxies = ProxyMeter(bench, config.dataset)
        # arch key -> (seed, epoch reached, cost paid) of its multi-fidelity training run.
        self.resumable: dict[str, tuple[int, int, float]] = {}
        # arch key -> (held-out seed, seeds it may be observed on), for held-out reports.
        self.held_out: dict[str, tuple[int, tuple[int, ...]]] = {}
        # arch key -> its report value (NaN: none; it cannot become the incumbent).
        self.report_of: dict[str, float] = {"": math.nan}

    def run(self) -> dict[str, np.ndarray]:
        config = self.config
        budget_s = math.inf if config.budget_s is None else config.budget_s
        max_launches = config.budget_evals if config.budget_evals is not None else config.max_evals
        heap: list[tuple[float, int, Any, str, float, float, float, bool, int, int]] = []
        launched = 0
        for worker in range(min(config.workers, max_launches)):
            heapq.heappush(heap, (*self._launch(0.0, launched), worker))
            launched += 1
        skip = ("incumbent_report", "regret", "incumbent_report_biased")
        rows: dict[str, list] = {name: [] for name in COLUMNS if name not in skip}
        best_observed, incumbent = -math.inf, ""
        tell = self.strategy.tell
        has_second = self.plan.second is not None
        while heap:
            end, _counter, proposal, key, observed, cost, second, full, seed, worker = heapq.heappop(heap)
            if end > budget_s:
                break
            # NaN compares False: a failed run never wins, nor one without a report value.
            if full and observed > best_observed and not math.isnan(self._report(key)):
                best_observed, incumbent = observed, key
            rows["eval"].append(len(rows["eval"]))
            rows["time_s"].append(end)
            rows["worker"].append(worker)
            rows["trial_id"].append(proposal.trial_id)
            rows["arch"].append(key)
            rows["epoch"].append(
                PROXY_EPOCH if proposal.proxy else -1 if proposal.epoch is None else proposal.epoch
            )
            rows["obs_seed"].append(seed)
            rows["observed"].append(observed)
            rows["cost_s"].append(cost)
            rows["second"].append(second)
            rows["full"].append(full)
            rows["incumbent"].append(incumbent)
            rows["incumbent_observed"].append(best_observed if incumbent else math.nan)
            tell(proposal, observed, cost, (observed, second) if has_second else ())
            if launched < max_launches and end < budget_s:
                heapq.heappush(heap, (*self._launch(end, launched), worker))
                launched += 1
        return {
            "eval": np.asarray(rows["eval"], dtype=np.int64),
            "time_s": np.asarray(rows["time_s"], dtype=float),
            "worker": np.asarray(rows["worker"], dtype=np.int64),
            "trial_id": np.asarray(rows["trial_id"], dtype=np.int64),
            "arch": np.asarray(rows["arch"], dtype=object),
            "epoch": np.asarray(rows["epoch"], dtype=np.int64),
            "obs_seed": np.asarray(rows["obs_seed"], dtype=np.int64),
            "observed": np.asarray(rows["observed"], dtype=float),
            "cost_s": np.asarray(rows["cost_s"], dtype=float),
            "second": np.asarray(rows["second"], dtype=float),
            "full": np.asarray(rows["full"], dtype=bool),
            "incumbent": np.asarray(rows["incumbent"], dtype=object),
            "incumbent_observed": np.asarray(rows["incumbent_observed"], dtype=float),
        }

    def _launch(self, now: float, counter: int) -> tuple:
        """Start one evaluation at ``now``.

        Returns (finish time, counter, proposal, key, observed, cost, second, full, seed), seed
        being the stored seed that answered (-1: a seed mean, a fresh draw or a failure).
        """
        proposal = self.strategy.ask()
        if proposal.proxy is not None:  # a proxy of the untrained network: never an incumbent
            key, observed, cost = self.proxies.measure(proposal.arch, proposal.proxy)
            return now + cost, counter, proposal, key, observed, cost, math.nan, False, -1
        epoch = proposal.epoch
        full = epoch is None or epoch == self.max_epoch
        try:
            if self.plan.excluded and self.bench.space.key(proposal.arch) in self.plan.excluded:
                raise UnknownArchError(str(proposal.arch), "the run (flagged suspect, excluded)")
            if epoch is None:
                result = self.bench.query(
                    proposal.arch,
                    self.config.dataset,
                    self._seed(proposal.arch),
                    rng=self.rng,
                    metrics=self.metrics,
                )
                cost = result.cost_s
            else:
                result, cost = self._query_epoch(proposal.arch, epoch)
            key = result.arch
            if self.held_out and key not in self.held_out:  # a table keyed otherwise than space.key
                self.held_out[key] = self.held_out[self.bench.space.key(proposal.arch)]
            metrics = result.metrics
            observed = metrics[self.plan.observe]
            if self.plan.noise is not None and not math.isnan(observed):
                observed = float(self.plan.noise.sample(observed, self.rng.standard_normal()))
            second = metrics[self.plan.second] if self.plan.second is not None else math.nan
            seed = result.seed if isinstance(result.seed, int) else -1
        except (UnknownArchError, UnknownSeedError):
            key = self.bench.space.key(proposal.arch)
            observed, cost, second, seed = math.nan, 0.0, math.nan, -1
        if math.isnan(cost):
            if self.config.budget_s is not None:
                raise RunConfigError(
                    f"dataset {self.config.dataset!r} reports no training time for {key!r}: "
                    "a time budget cannot be kept; use budget_evals"
                )
            cost = 0.0
        return now + cost, counter, proposal, key, observed, cost, second, full, seed

    def _query_epoch(self, arch: Any, epoch: int) -> tuple[Any, float]:
        key = self.bench.space.key(arch)
        state = self.resumable.get(key)
        if state is None or epoch <= state[1]:
            # A new training run: nothing to resume (or a proposal at an epoch already
            # passed, which a checkpoint of a later epoch cannot answer).
            result = self.bench.query(
                arch, self.config.dataset, self._seed(arch), epoch=epoch, rng=self.rng, metrics=self.metrics
            )
            self.resumable[result.arch] = (int(result.seed), epoch, result.cost_s)
            return result, result.cost_s
        seed, _reached, paid = state
        result = self.bench.query(arch, self.config.dataset, seed, epoch=epoch, metrics=self.metrics)
        self.resumable[result.arch] = (seed, epoch, result.cost_s)
        return result, max(result.cost_s - paid, 0.0)

    def _seed(self, arch: Any) -> int | str:
        """``"sample"``, or with held-out reports one of the architecture's other seeds."""
        if self.plan.report_seed != "held-out":
            return "sample"
        key = self.bench.space.key(arch)
        state = self.held_out.get(key)
        if state is None:
            seeds = self.bench.arch_seeds(arch, self.config.dataset)
            if len(seeds) < 2:
                # Nothing to hold out: observed, but it can never be reported.
                state = (-1, seeds)
            else:
                held = seeds[int(self.rng.integers(len(seeds)))]
                state = (held, tuple(s for s in seeds if s != held))
            self.held_out[key] = state
        observable = state[1]
        if not observable:
            raise UnknownSeedError("sample", (), f"(no run of {key!r})")
        return observable[int(self.rng.integers(len(observable)))]

    def _report(self, key: str) -> float:
        """The report value of ``key`` (cached; NaN where it has none)."""
        value = self.report_of.get(key)
        if value is None:
            plan, dataset = self.plan, self.config.dataset
            seed = self.held_out.get(key, (-1,))[0] if plan.report_seed == "held-out" else "mean"
            value = (
                math.nan
                if seed == -1
                else self.bench.query(key, dataset, seed, metrics=(plan.report,))[plan.report]
            )
            self.report_of[key] = value = float(value)
        return value
