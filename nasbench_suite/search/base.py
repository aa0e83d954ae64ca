"""The ask/tell interface every search strategy implements.

A strategy proposes architectures (``ask``) and learns from what the runner
tells it (``tell``). It never sees a benchmark or a table: only the space, the
context the runner describes (which fidelities exist, how many objectives),
and the observations it is told. That is what makes comparisons fair.

Conventions (shared by every strategy and checked by the conformance tests):

- ``__init__`` stores settings and derives its generators from ``seed`` with
  ``numpy.random.SeedSequence``; no global random state, no wall-clock time.
- ``ask`` may be called several times before the matching ``tell`` (W
  asynchronous workers); ``tell`` may arrive in any order. Each ``Proposal``
  carries a ``trial_id`` that its ``tell`` repeats.
- ``observed`` is to be *maximised* (validation accuracy). A NaN observation is
  a failed trial: the strategy must carry on (treat it as the worst value).
- The optional second objective (``objectives[1:]``) is to be *minimised*
  (parameters, FLOPs, latency); only multi-objective strategies read it.
- A proxy-guided strategy may ask for a zero-cost proxy instead of a training
  (``Proposal.proxy``): the runner measures it on the untrained network, charges
  its compute time and tells the proxy value as ``observed`` (larger is better,
  as the proxies are defined). The context lists the proxies the benchmark offers,
  as it lists the epochs a multi-fidelity strategy may ask for.
- A warm-started strategy starts from prior knowledge of another dataset
  (``SearchContext.prior``, a :class:`~nasbench_suite.search.prior.TransferPrior` the runner
  reads from the benchmark's source dataset): architectures with their source accuracy,
  given before the run and charged nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from nasbench_suite.errors import NasbenchError
from nasbench_suite.search.prior import TransferPrior
from nasbench_suite.spaces.base import Arch, SearchSpace


class StrategyError(NasbenchError, ValueError):
    """A strategy cannot run in the given context (e.g. multi-fidelity on a table without curves)."""


@dataclass(frozen=True)
class SearchContext:
    """What the runner tells a strategy about the problem before it starts.

    Attributes:
        epochs: epochs at which results can be asked for (empty: final results only).
            Multi-fidelity strategies refuse to run without them.
        max_epoch: the full training length (the epoch of a final result), or None.
        n_objectives: 1, or 2 when a second objective (minimised) is reported.
        budget_evals: the evaluation budget when the run has one (a hint; the
            runner enforces budgets, strategies never need to).
        proxies: zero-cost proxies the benchmark can measure for the dataset (names such
            as ``"nwot"``); proxy-guided strategies refuse to run without theirs.
        prior: what a source dataset says about the architectures (their accuracy there), for
            warm-started strategies, which refuse to run without it; None: no source.
    """

    epochs: tuple[int, ...] = ()
    max_epoch: int | None = None
    n_objectives: int = 1
    budget_evals: int | None = None
    proxies: tuple[str, ...] = ()
    prior: TransferPrior | None = None


@dataclass(frozen=True)
class Proposal:
    """One evaluation a strategy asks for.

    Attributes:
        trial_id: unique per strategy instance, repeated by the matching ``tell``.
        arch: the architecture (a value of the space).
        epoch: train up to this epoch (multi-fidelity); None for the full budget.
        proxy: measure this zero-cost proxy of the untrained network instead of training
            (one of ``SearchContext.proxies``); None: train.
    """

    trial_id: int
    arch: Arch
    epoch: int | None = None
    proxy: str | None = None


@dataclass(frozen=True)
class Observation:
    """What the runner tells a strategy about one finished evaluation.

    Attributes:
        proposal: the proposal it answers.
        observed: observed validation accuracy (maximised), or the proxy value for a
            proxy proposal; NaN for a failed run.
        cost_s: simulated seconds it cost (training, or computing the proxy).
        objectives: ``(observed, second, ...)`` for multi-objective runs; the
            objectives after the first are minimised.
    """

    proposal: Proposal
    observed: float
    cost_s: float
    objectives: tuple[float, ...] = field(default=())


class Strategy(ABC):
    """Base of every search strategy.

    Subclasses set ``name`` (the registry name), ``defaults`` (their published
    default settings, documented in ``docs/strategies.md``) and implement
    ``_ask`` and ``_tell``. ``ask`` and ``tell`` are the public entry points;
    they keep the trial bookkeeping so subclasses do not.
    """

    name: ClassVar[str] = ""
    #: Published defaults; ``__init__`` accepts these names as keyword options.
    defaults: ClassVar[dict[str, Any]] = {}
    #: True for strategies that ask for intermediate epochs (need ``context.epochs``).
    multi_fidelity: ClassVar[bool] = False
    #: True for strategies that use the second objective.
    multi_objective: ClassVar[bool] = False
    #: True for strategies that fit a model of the objective from observations (BANANAS,
    #: XGBoost BO, TPE): their own compute time is worth reporting beside the simulated time.
    model_based: ClassVar[bool] = False
    #: True for strategies that ask for zero-cost proxies (``Proposal.proxy``); their ``proxy``
    #: option names the one they use, which the context must offer.
    proxy_guided: ClassVar[bool] = False
    #: True for strategies that start from a source dataset's accuracies (``context.prior``).
    warm_started: ClassVar[bool] = False

    def __init__(
        self,
        space: SearchSpace,
        seed: int | np.random.SeedSequence = 0,
        context: SearchContext | None = None,
        **options: Any,
    ):
        self.check_options(options)
        self.space = space
        self.context = context or SearchContext()
        self.options: dict[str, Any] = {**self.defaults, **options}
        self.seed_sequence = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )
        self.rng = np.random.default_rng(self.seed_sequence)
        self.history: list[Observation] = []
        self._pending: dict[int, Proposal] = {}
        self._next_trial = 0
        if self.multi_fidelity and not self.context.epochs:
            raise StrategyError(
                f"strategy {self.name!r} needs per-epoch results (learning curves) and this "
                "benchmark stores final results only"
            )
        if self.multi_objective and self.context.n_objectives < 2:
            raise StrategyError(f"strategy {self.name!r} is multi-objective: give a second objective")
        if self.proxy_guided:
            self._check_proxy(self.options.get("proxy"))
        if self.warm_started and self.context.prior is None:
            raise StrategyError(
                f"strategy {self.name!r} starts from a transfer prior (architectures' accuracies on a "
                "source dataset) and none was given: the benchmark needs a second dataset"
            )

    def _check_proxy(self, proxy: Any) -> None:
        offered = self.context.proxies
        if proxy in offered:
            return
        if not offered:
            raise StrategyError(
                f"strategy {self.name!r} needs zero-cost proxies and this benchmark offers none for the "
                "dataset (a table with zc_<proxy> metrics, e.g. NB201 imported with its published proxies)"
            )
        raise StrategyError(
            f"strategy {self.name!r}: proxy {proxy!r} is not offered by this benchmark for the dataset; "
            f"it offers: {', '.join(offered)}"
        )

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """Check that every name in ``options`` is one of the strategy's ``defaults``.

        Raises:
            StrategyError: naming the unknown options and the known ones.
        """
        unknown = sorted(set(options) - set(cls.defaults))
        if unknown:
            known = ", ".join(sorted(cls.defaults)) or "none"
            raise StrategyError(f"strategy {cls.name!r}: unknown option(s) {unknown}; options are {known}")

    # --- public entry points ---------------------------------------------------

    def ask(self) -> Proposal:
        """The next evaluation to run."""
        trial_id = self._next_trial
        arch, epoch, *proxy = self._ask(trial_id)
        self._next_trial += 1
        proposal = Proposal(trial_id, arch, epoch, proxy[0] if proxy else None)
        self._pending[trial_id] = proposal
        return proposal

    def tell(
        self,
        proposal: Proposal,
        observed: float,
        cost_s: float,
        objectives: Sequence[float] = (),
    ) -> None:
        """Report the result of ``proposal``.

        Raises:
            StrategyError: for a proposal this strategy did not make or already told.
        """
        if self._pending.pop(proposal.trial_id, None) is None:
            raise StrategyError(f"trial {proposal.trial_id} was not asked for or was already told")
        observation = Observation(proposal, float(observed), float(cost_s), tuple(map(float, objectives)))
        self.history.append(observation)
        self._tell(observation)

    @property
    def pending(self) -> list[Proposal]:
        """Proposals asked for and not told yet (in flight on workers)."""
        return list(self._pending.values())

    # --- what subclasses implement -------------------------------------------------

    @abstractmethod
    def _ask(self, trial_id: int) -> tuple[Arch, int | None] | tuple[Arch, int | None, str | None]:
        """The next architecture and epoch (None: full training) for trial ``trial_id``; a
        proxy-guided strategy may add a third element, the proxy to measure instead.

        ``trial_id`` is the id the returned proposal will carry (and its ``tell``
        repeat), so a strategy can key per-trial state on it.
        """

    def _tell(self, observation: Observation) -> None:  # noqa: B027 - optional hook
        """Learn from one observation (already appended to ``self.history``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(space={self.space.name!r}, options={self.options})"
