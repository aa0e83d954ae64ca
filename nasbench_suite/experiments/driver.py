"""An ask/tell driver: an optimiser the project does not know runs in the user's own loop, on
the project's simulated clock, budgets, seeds, metric rule and trajectory format.

The user's loop asks its optimiser for an architecture, hands it to :meth:`Driver.submit`,
and tells the optimiser the results that come back::

    with Driver("nb201", "cifar10-valid", name="my-optimiser", seed=0) as driver:
        while not driver.done:
            arch = my_optimiser.ask()
            for r in driver.submit(arch):
                my_optimiser.tell(r.arch, r.observed)
    result = driver.result()        # a RunResult, as `nasbench search` writes them

Nothing of the run is re-implemented here: the driver runs ``runner.run`` itself, with a
strategy whose ``ask`` waits for the user's next submission and whose ``tell`` hands the
result back. The runner therefore keeps the clock (W simulated workers on an event heap),
the budget (an evaluation that would finish after a time budget is never told), the
held-out report, the observation noise and the trajectory; a run of an external
optimiser is a ``RunResult`` like any other, summarised with ``leaderboard.summarise``
beside the built-in strategies. The runner runs on a helper thread and the two sides take
turns through two queues, so exactly one of them runs at a time: the run is as
deterministic as the user's optimiser (same seed, same answers, the benchmark's draws
coming from the run's seed as for every strategy).

With W workers, ``submit`` returns once a worker is free again: at the start that is
immediately (W submissions fill the workers), later after the earliest running evaluation
finished. Each submission may carry a ``tag`` (an Optuna trial, an id) that comes back on
its result, so results arriving out of order find their trial.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nasbench_suite.errors import NasbenchError
from nasbench_suite.experiments.config import RunConfig
from nasbench_suite.experiments.runner import RunResult, open_cached, run

if TYPE_CHECKING:
    from nasbench_suite.bench.base import Benchmark


class DriverError(NasbenchError, RuntimeError):
    """The driver was used out of turn (a submission after the budget was spent, a result
    asked for before it), or was given an epoch the benchmark does not store."""


@dataclass(frozen=True)
class Evaluation:
    """One finished evaluation, as the runner told it.

    Attributes:
        trial_id: the submission's number in this run (0, 1, ...).
        arch: the architecture submitted (the space's value).
        epoch: the epoch asked for (None: the full training).
        observed: the observed metric (maximised; the run's rule); NaN for a failed
            evaluation (an architecture the benchmark does not hold).
        cost_s: simulated training seconds it cost.
        objectives: ``(observed, second)`` when the run has a second objective (minimised).
        tag: what was submitted with it.
    """

    trial_id: int
    arch: Hashable
    epoch: int | None
    observed: float
    cost_s: float
    objectives: tuple[float, ...]
    tag: Any = None

    @property
    def failed(self) -> bool:
        return math.isnan(self.observed)


class _Stopped(Exception):
    """Ends the runner's thread when the driver is closed before the budget is spent."""


def _bridge_class() -> type:
    # Built on first use: experiments imports search only inside functions (cheap imports).
    from nasbench_suite.search.base import Strategy

    class Bridge(Strategy):
        """A strategy that asks the user's loop (through ``channel``) and tells it back."""

        name: ClassVar[str] = "external"

        def __init__(self, space: Any, seed: Any, context: Any, channel: Driver):
            super().__init__(space, seed=seed, context=context)
            self.channel = channel
            channel._context = context

        def _ask(self, trial_id: int) -> tuple[Any, int | None]:
            self.channel._to_user.put(("ask", trial_id))
            item = self.channel._to_runner.get()
            if item is None:
                raise _Stopped
            return item

        def _tell(self, observation: Any) -> None:
            self.channel._to_user.put(("result", observation))

    return Bridge


class Driver:
    """One run of an external optimiser, driven from the user's loop.

    Args:
        bench: benchmark source (``"nb201"``, a table path, a surrogate folder) or an open
            ``Benchmark``.
        dataset: a dataset of the benchmark.
        name: the optimiser's name in trajectories and leaderboards.
        seed: the run's seed; the benchmark's draws derive from it as in every run, and
            :attr:`optimiser_seed` is the seed the optimiser should use.
        budget_s, budget_evals: at most one; neither: the standard budget of the dataset
            (``protocol.standard_budget``), so that the run sits beside the standard suite.
        workers: W simulated workers (default: the standard suite's).
        **settings: the other ``RunConfig`` settings (``observe_metric``, ``report_metric``,
            ``second_objective``, ``suspect``, ``max_evals``, ``warm_source``: the source dataset
            of :attr:`prior`).

    Raises:
        RunConfigError: a setting out of range; the errors of ``open_benchmark`` and of the
            metric rule (``runner.run``).
    """

    def __init__(
        self,
        bench: str | os.PathLike | Benchmark,
        dataset: str,
        *,
        name: str = "external",
        seed: int = 0,
        budget_s: float | None = None,
        budget_evals: int | None = None,
        workers: int | None = None,
        **settings: Any,
    ):
        from nasbench_suite.experiments.protocol import STANDARD_WORKERS, standard_budget

        if isinstance(bench, os.PathLike):
            bench = str(bench)
        opened = open_cached(bench) if isinstance(bench, str) else bench
        budget: dict[str, Any] = {"budget_s": budget_s, "budget_evals": budget_evals}
        if budget_s is None and budget_evals is None:
            budget = standard_budget(opened, dataset)
        source = bench if isinstance(bench, str) else opened.identity().get("source", opened.space.name)
        workers = STANDARD_WORKERS if workers is None else workers
        self.config = RunConfig(name, str(source), dataset, seed=seed, workers=workers, **budget, **settings)
        self.bench = opened
        self.space = opened.space
        #: The optimiser's seed, derived from the run's seed exactly as a built-in strategy's:
        #: ``numpy.random.default_rng(driver.seed_sequence)`` draws what the strategy's ``rng`` does.
        self.seed_sequence = np.random.SeedSequence(self.config.seed).spawn(2)[0]
        #: The same as one 32-bit integer, for libraries that take an int (Optuna, ConfigSpace).
        self.optimiser_seed = int(self.seed_sequence.generate_state(1)[0])
        self._to_user: queue.Queue = queue.Queue()
        self._to_runner: queue.Queue = queue.Queue()
        self._tags: dict[int, Any] = {}
        self._next_trial: int | None = None
        self._result: RunResult | None = None
        self._closed = False
        self._context: Any = None  # what the runner tells the optimiser (set before the first ask)
        self._thread = threading.Thread(target=self._run, name=f"driver-{name}", daemon=True)
        self._thread.start()
        self._wait()

    # --- the user's side ---------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the budget is spent (no further submission is taken)."""
        return self._next_trial is None

    @property
    def epochs(self) -> tuple[int, ...]:
        """Epochs a submission may ask for (empty: final results only)."""
        return tuple(self.bench.epochs(self.config.dataset))

    @property
    def prior(self) -> Any:
        """The source dataset's accuracies (a ``TransferPrior``) when the run was given a
        ``warm_source``, for an optimiser to warm-start from; None otherwise. Charged nothing."""
        return None if self._context is None else self._context.prior

    def submit(self, arch: Any, epoch: int | None = None, tag: Any = None) -> list[Evaluation]:
        """Start training ``arch`` (a value of the space or its text form) on a free worker.

        Returns:
            The evaluations that finished before a worker was free for the next submission,
            in the order of their simulated finish (empty while the workers are filling).

        Raises:
            DriverError: the budget is spent, or ``epoch`` is not stored.
            MalformedArchError, InvalidArchError: ``arch`` is not an architecture of the space.
        """
        if self.done:
            raise DriverError("the run's budget is spent: no further submission (see driver.done)")
        value = self.space.validate(arch)
        if epoch is not None and epoch not in self.epochs:
            raise DriverError(f"epoch {epoch!r} is not stored; epochs: {list(self.epochs) or 'none'}")
        self._tags[self._next_trial] = tag
        self._to_runner.put((value, epoch))
        return self._wait()

    def evaluate(self, arch: Any, epoch: int | None = None) -> Evaluation | None:
        """:meth:`submit` for one worker: the evaluation of ``arch``, or None when it did not
        finish within the time budget (the run is then done).

        Raises:
            DriverError: the run has more than one worker; the errors of :meth:`submit`.
        """
        if self.config.workers != 1:
            raise DriverError(
                f"evaluate() is for one worker; this run has {self.config.workers}: use submit()"
            )
        finished = self.submit(arch, epoch)
        return finished[0] if finished else None

    def result(self) -> RunResult:
        """The run (trajectory, summary, config, benchmark checksum, rule) once it is done.

        Raises:
            DriverError: the budget is not spent yet (a shorter run is not the protocol's run).
        """
        if self._result is None:
            raise DriverError("the run is not done: submit until driver.done")
        return self._result

    def close(self) -> None:
        """End the run now if it is not done (its result is then not available)."""
        if not self.done and not self._closed:
            self._closed = True
            self._to_runner.put(None)
            self._thread.join()

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the runner's side ---------------------------------------------------------

    def _run(self) -> None:
        bridge = _bridge_class()
        try:
            result = run(
                self.config, self.bench, lambda space, seed, context: bridge(space, seed, context, self)
            )
        except _Stopped:
            self._to_user.put(("stopped", None))
        except BaseException as exc:  # handed to the user's thread, raised there
            self._to_user.put(("error", exc))
        else:
            self._to_user.put(("done", result))

    def _wait(self) -> list[Evaluation]:
        """Take the runner's messages until it waits for a submission or ends."""
        finished = []
        while True:
            kind, payload = self._to_user.get()
            if kind == "result":
                proposal = payload.proposal
                finished.append(
                    Evaluation(
                        proposal.trial_id,
                        proposal.arch,
                        proposal.epoch,
                        payload.observed,
                        payload.cost_s,
                        payload.objectives,
                        self._tags.pop(proposal.trial_id, None),
                    )
                )
                continue
            if kind == "ask":
                self._next_trial = payload
                return finished
            self._next_trial = None
            self._thread.join()
            if kind == "error":
                raise payload
            self._result = payload
            return finished


__all__ = ["Driver", "DriverError", "Evaluation"]
