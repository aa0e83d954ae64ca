"""Any Optuna sampler as a strategy: TPE, random, and NSGA-II for two objectives.

Each decision of the space (``space.decisions()``) is one categorical Optuna
parameter whose choices are the option indices; a trial's parameters are the
architecture's codes (``space.from_codes``). The study lives in memory
(Optuna's default storage), is driven with ``study.ask()`` / ``study.tell()``
exactly as a user would drive it, and its sampler is seeded from the strategy's
seed, so the same seed gives the same run. Optuna's logging is set to warnings.

Codes that spell no valid architecture (an NB101 cell without a path) are told
to Optuna as a failed trial (``TrialState.FAIL``) and the sampler is asked
again (bounded; then a random architecture is enqueued as the next trial, so the
proposal is still one of Optuna's trials). A NaN result is told as failed too.

Defaults are Optuna's own (which follow the published algorithms): TPE
(Bergstra et al., NeurIPS 2011; Watanabe 2023) with 10 random start-up trials,
univariate, no constant liar (run by ``_tpe_categorical.CategoricalTPESampler``, which
proposes what Optuna's ``TPESampler`` proposes in less time); NSGA-II (Deb et al.,
IEEE TEC 2002) with a population of 50, uniform crossover with probability 0.9 and
per-parameter mutation ``1 / n_decisions``. ``optuna-nsga2`` maximises the first objective
and minimises the second.

Asynchronous use (W workers): Optuna samplers accept several open trials.
TPE samples each open trial from the finished ones only, unless
``constant_liar=True`` (pending trials are then treated as poor results so that
workers spread out); NSGA-II breeds from the last complete generation. Optuna
may propose an architecture twice, as the samplers do.

Optuna is a core dependency (the standard suite needs it on every install); it is
imported when an Optuna strategy is built, never by ``import nasbench_suite.search``.
"""

from __future__ import annotations

import math
import warnings
from abc import abstractmethod
from typing import Any, ClassVar

from nasbench_suite.errors import InvalidArchError
from nasbench_suite.search._util import MAX_REDRAWS, bool_option, float_option, int_option
from nasbench_suite.search.base import Observation, Strategy, StrategyError
from nasbench_suite.spaces.base import Arch
from nasbench_suite.spaces.export import parameter_names


def _import_optuna() -> Any:
    """The optuna module, quietened.

    Raises:
        StrategyError: telling how to install it when it is missing.
    """
    try:
        import optuna
    except ImportError:
        raise StrategyError(
            "the Optuna strategies need optuna, a dependency of nasbench-suite: pip install 'optuna>=3.5'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class OptunaStrategy(Strategy):
    """Base of the Optuna adapters: subclasses choose the sampler (``_sampler``)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        optuna = _import_optuna()
        self._fail_state = optuna.trial.TrialState.FAIL
        # Optuna seeds must be 32-bit integers: derive one from the strategy's SeedSequence.
        sampler_seed = int(self.seed_sequence.generate_state(1)[0])
        with warnings.catch_warnings():
            # Options Optuna marks experimental (constant_liar, multivariate) warn on use.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = self._sampler(optuna, sampler_seed)
        directions = ["maximize", "minimize"] if self.multi_objective else ["maximize"]
        self.study = optuna.create_study(directions=directions, sampler=sampler)
        # The exports' parameter names, so a study here reads like one a user built from space.to_optuna().
        self._names = parameter_names(self.space)
        self._distributions = {
            name: optuna.distributions.CategoricalDistribution(list(range(len(d.options))))
            for name, d in zip(self._names, self.space.decisions())
        }
        self._trials: dict[int, Any] = {}  # our trial id -> Optuna trial

    @abstractmethod
    def _sampler(self, optuna: Any, seed: int) -> Any:
        """The seeded Optuna sampler this strategy runs."""

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        for _ in range(MAX_REDRAWS):
            trial = self.study.ask(self._distributions)
            try:
                params = trial.params  # a copy each time it is read
                arch = self.space.from_codes([params[n] for n in self._names])
            except InvalidArchError:
                self.study.tell(trial, state=self._fail_state)
                continue
            break
        else:
            arch = self.space.sample(self.rng)
            self.study.enqueue_trial(dict(zip(self._names, self.space.to_codes(arch))))
            trial = self.study.ask(self._distributions)
        self._trials[trial_id] = trial
        return arch, None

    def _tell(self, observation: Observation) -> None:
        trial = self._trials.pop(observation.proposal.trial_id)
        values: list[float] = [observation.observed]
        if self.multi_objective:
            if len(observation.objectives) < 2:
                raise StrategyError(
                    f"strategy {self.name!r} needs two objectives in tell(); got {observation.objectives!r}"
                )
            values = [observation.objectives[0], observation.objectives[1]]
        if any(math.isnan(v) for v in values):
            self.study.tell(trial, state=self._fail_state)
        else:
            self.study.tell(trial, values if self.multi_objective else values[0])


class OptunaTPE(OptunaStrategy):
    """Optuna's TPE sampler over the space's decisions.

    Options:
        n_startup_trials: random trials before TPE models the results.
        multivariate: model the decisions jointly (Falkner et al. 2018's variant).
        constant_liar: treat pending trials as poor results (spreads W > 1 workers).
    """

    name: ClassVar[str] = "optuna-tpe"
    defaults: ClassVar[dict[str, Any]] = {
        "n_startup_trials": 10,
        "multivariate": False,
        "constant_liar": False,
    }
    model_based: ClassVar[bool] = True

    def _sampler(self, optuna: Any, seed: int) -> Any:
        n_startup_trials = int_option(self, "n_startup_trials", minimum=0)
        multivariate, constant_liar = bool_option(self, "multivariate"), bool_option(self, "constant_liar")
        if not multivariate and not constant_liar:
            from nasbench_suite.search import _tpe_categorical

            # The same proposals as TPESampler's, checked against the installed Optuna, in a
            # fraction of the time (the module says how).
            if _tpe_categorical.matches_optuna():
                return _tpe_categorical.CategoricalTPESampler(seed=seed, n_startup_trials=n_startup_trials)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=n_startup_trials,
            multivariate=multivariate,
            constant_liar=constant_liar,
        )


class OptunaRandom(OptunaStrategy):
    """Optuna's random sampler over the space's decisions (uniform codes, invalid ones redrawn)."""

    name: ClassVar[str] = "optuna-random"
    defaults: ClassVar[dict[str, Any]] = {}

    def _sampler(self, optuna: Any, seed: int) -> Any:
        return optuna.samplers.RandomSampler(seed=seed)


class OptunaNSGA2(OptunaStrategy):
    """Optuna's NSGA-II sampler: maximise the observed accuracy, minimise the second objective.

    Options:
        population_size: trials per generation.
        crossover_prob: probability that a child is bred by crossover.
        mutation_prob: per-parameter mutation probability; None: ``1 / n_decisions``.
    """

    name: ClassVar[str] = "optuna-nsga2"
    defaults: ClassVar[dict[str, Any]] = {"population_size": 50, "crossover_prob": 0.9, "mutation_prob": None}
    multi_objective: ClassVar[bool] = True

    def _sampler(self, optuna: Any, seed: int) -> Any:
        mutation = self.options["mutation_prob"]
        return optuna.samplers.NSGAIISampler(
            seed=seed,
            population_size=int_option(self, "population_size", minimum=2),
            crossover_prob=float_option(self, "crossover_prob", 0.0, 1.0),
            mutation_prob=None if mutation is None else float_option(self, "mutation_prob", 0.0, 1.0),
        )


class OptunaAnySampler(OptunaStrategy):
    """Any sampler of ``optuna.samplers`` by its class name, with its own keyword options.

    ``nasbench search --strategy optuna --option sampler=QMCSampler --option
    'sampler_options={"scramble": true}'`` runs Optuna's QMC sampler, for instance; the sampler
    gets the strategy's seed when its constructor takes a ``seed``.

    Options:
        sampler: class name in ``optuna.samplers`` (``TPESampler``, ``RandomSampler``,
            ``GPSampler``, ``QMCSampler``, ``CmaEsSampler``, ``NSGAIISampler``...).
        sampler_options: keyword arguments of that class (a JSON object on the command line).
    """

    name: ClassVar[str] = "optuna"
    defaults: ClassVar[dict[str, Any]] = {"sampler": "TPESampler", "sampler_options": {}}

    def _sampler(self, optuna: Any, seed: int) -> Any:
        import inspect

        name, options = self.options["sampler"], self.options["sampler_options"]
        known = sorted(
            n
            for n, c in vars(optuna.samplers).items()
            if inspect.isclass(c) and issubclass(c, optuna.samplers.BaseSampler) and n != "BaseSampler"
        )
        if name not in known:
            raise StrategyError(f"strategy 'optuna': unknown sampler {name!r}; optuna.samplers has {known}")
        if not isinstance(options, dict):
            raise StrategyError("strategy 'optuna': sampler_options must be a mapping of keyword arguments")
        cls = getattr(optuna.samplers, name)
        if "seed" in inspect.signature(cls).parameters and "seed" not in options:
            options = {**options, "seed": seed}
        try:
            return cls(**options)
        except TypeError as exc:
            raise StrategyError(f"strategy 'optuna': {name}({options}) failed: {exc}") from None
