"""Optuna's TPE on categorical parameters, draw for draw, without its per-parameter rebuilds.

``optuna-tpe`` samples an architecture's decisions as independent categorical
parameters. For each of them Optuna's ``TPESampler`` fetches every finished trial,
splits them into the best ``gamma(n)`` and the rest (checking each trial's
constraints), reads each trial's parameters back into arrays and builds two Parzen
estimators: the whole run's time, and the same split six times per NB201 trial.
:class:`CategoricalTPESampler` makes the same computation for the case the strategy
uses (univariate TPE, Optuna's default gamma, weights, prior and 24 candidates,
categorical parameters, one objective, no pruning, no constant liar): the split once
per trial, the parameters read once per finished trial, then the same numpy
operations on arrays of the same shapes and the same draws from a ``RandomState`` of
the same seed, so that it proposes exactly what ``TPESampler`` proposes.

The installed Optuna is the reference: :func:`matches_optuna` runs a short study
with both samplers and compares every proposal; ``optuna-tpe`` uses this sampler
only when they agree (and Optuna's own otherwise), and ``tests/test_strategy_optuna.py``
compares them on longer studies.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

#: Optuna's TPE defaults that this sampler reproduces.
PRIOR_WEIGHT = 1.0
N_EI_CANDIDATES = 24
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def default_gamma(n: int) -> int:
    """How many of ``n`` finished trials are "below" (the good group): Optuna's default."""
    return min(math.ceil(0.1 * n), 25)


def default_weights(n: int) -> np.ndarray:
    """Weights of ``n`` observations, oldest first (a ramp below the newest 25): Optuna's default."""
    if n == 0:
        return np.asarray([])
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)], axis=0)


class CategoricalTPESampler(optuna.samplers.BaseSampler):
    """``TPESampler(seed=seed, n_startup_trials=n_startup_trials, multivariate=False,
    constant_liar=False)``'s proposals on categorical parameters, with the work Optuna repeats
    for each parameter done once per trial.

    Raises:
        ValueError: from :meth:`sample_independent` on what it does not reproduce (a
            non-categorical parameter, a pruned trial, several objectives).
    """

    def __init__(self, seed: int | None = None, n_startup_trials: int = 10):
        # TPESampler draws its candidates from RandomState(seed) and its start-up trials from
        # a RandomSampler of the same seed.
        self._rng = np.random.RandomState(seed)
        self._random_sampler = optuna.samplers.RandomSampler(seed=seed)
        self._n_startup_trials = n_startup_trials
        self._seen: dict[int, tuple[float, dict[str, Any]]] = {}  # number -> finished trial's value, params
        # (name, choices) -> trial number -> the parameter's internal value (None: not in the trial)
        self._internal: dict[tuple[str, tuple[Any, ...]], dict[int, float | None]] = {}
        self._split_key: tuple[int, int] | None = None
        self._below: list[int] = []
        self._above: list[int] = []

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._random_sampler.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._random_sampler.before_trial(study, trial)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Any) -> None:
        self._random_sampler.after_trial(study, trial, state, values)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        trials = study.get_trials(deepcopy=False, states=_FINISHED)
        if len(trials) < self._n_startup_trials:
            return self._random_sampler.sample_independent(study, trial, param_name, param_distribution)
        if not isinstance(param_distribution, CategoricalDistribution):
            raise ValueError(
                f"CategoricalTPESampler samples categorical parameters, not {param_distribution}"
            )
        if (trial.number, len(trials)) != self._split_key:
            self._split(study, trials)
            self._split_key = (trial.number, len(trials))
        choice = self._sample(param_name, param_distribution)
        return param_distribution.to_external_repr(choice)

    def _split(self, study: Study, trials: list[FrozenTrial]) -> None:
        """The trial numbers of the best ``gamma(n)`` finished trials and of the others, each in
        trial order (Optuna's ``_split_trials`` for complete trials of one objective)."""
        if len(study.directions) != 1:
            raise ValueError("CategoricalTPESampler optimises one objective")
        for t in trials:
            if t.number not in self._seen:
                if t.state != TrialState.COMPLETE or t.constraints:
                    raise ValueError("CategoricalTPESampler handles complete trials without constraints only")
                self._seen[t.number] = (float(t.value), dict(t.params))  # type: ignore[arg-type]
        n_below = min(default_gamma(len(trials)), len(trials))
        # Python's sort is stable, also with reverse=True: equal values keep their trial order.
        ranked = sorted(
            (t.number for t in trials),
            key=lambda number: self._seen[number][0],
            reverse=study.direction == StudyDirection.MAXIMIZE,
        )
        self._below, self._above = sorted(ranked[:n_below]), sorted(ranked[n_below:])

    def _sample(self, name: str, distribution: CategoricalDistribution) -> float:
        """The internal index of the candidate with the best log-likelihood ratio."""
        below = self._estimator(
            self._observations(self._below, name, distribution), len(distribution.choices)
        )
        above = self._estimator(
            self._observations(self._above, name, distribution), len(distribution.choices)
        )
        weights, kernels = below
        active = self._rng.choice(len(weights), p=weights, size=N_EI_CANDIDATES)
        quantile = self._rng.rand(N_EI_CANDIDATES)
        cumulative = np.cumsum(kernels[active, :], axis=-1)
        cumulative[:, -1] = 1
        index = np.sum(cumulative < quantile[:, np.newaxis], axis=-1)  # each candidate's choice
        score = _log_pdf(*below, index) - _log_pdf(*above, index)
        return float(index[np.argmax(score)])

    def _observations(
        self, numbers: list[int], name: str, distribution: CategoricalDistribution
    ) -> np.ndarray:
        """Internal values of ``name`` in those trials that have it (Optuna's ``_get_internal_repr``),
        each trial's read once."""
        internal = self._internal.setdefault((name, distribution.choices), {})
        for number in numbers:
            if number not in internal:
                params = self._seen[number][1]
                internal[number] = distribution.to_internal_repr(params[name]) if name in params else None
        return np.asarray([v for v in (internal[number] for number in numbers) if v is not None])

    @staticmethod
    def _estimator(observations: np.ndarray, n_choices: int) -> tuple[np.ndarray, np.ndarray]:
        """Mixture weights (observations, then the prior) and each kernel's probabilities over the
        choices: Optuna's ``_ParzenEstimator`` for one categorical parameter."""
        if len(observations) == 0:
            return np.array([1.0]), np.full((1, n_choices), fill_value=1.0 / n_choices)
        weights = _mixture_weights(len(observations))
        n_kernels = len(observations) + 1
        kernels = np.full(shape=(n_kernels, n_choices), fill_value=PRIOR_WEIGHT / n_kernels)
        kernels[np.arange(len(observations)), observations.astype(int)] += 1
        row_sums = kernels.sum(axis=1, keepdims=True)
        kernels /= np.where(row_sums == 0, 1, row_sums)
        return weights, kernels


@functools.lru_cache(maxsize=1024)
def _mixture_weights(n: int) -> np.ndarray:
    """The normalised weights of ``n`` observations and the prior (read-only: shared)."""
    weights = np.append(np.array(default_weights(n))[:n], [PRIOR_WEIGHT])
    weights /= weights.sum()
    weights.flags.writeable = False
    return weights


def _log_pdf(weights: np.ndarray, kernels: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Log density of the mixture at each choice index, by a max-shifted log-sum-exp."""
    # Optuna adds the terms to zeros: adding to an exact 0.0 changes no value.
    weighted = np.log(kernels.T[index])  # (candidates, kernels): log p_kernel(candidate)
    weighted += np.log(weights[np.newaxis])
    peak = weighted.max(axis=1)
    peak[np.isneginf(peak)] = 0
    with np.errstate(divide="ignore"):
        return np.log(np.exp(weighted - peak[:, None]).sum(axis=1)) + peak


@functools.cache
def matches_optuna() -> bool:
    """Whether :class:`CategoricalTPESampler` proposes what the installed Optuna's ``TPESampler``
    proposes, on a 60-trial study of three categorical parameters with tied results."""
    return _same_proposals(seed=7, n_trials=60, n_startup_trials=10, sizes=(5, 5, 3))


def _same_proposals(
    seed: int,
    n_trials: int,
    n_startup_trials: int,
    sizes: tuple[int, ...],
    direction: str = "maximize",
    ties: bool = True,
) -> bool:
    """Run one study with each sampler, the same objective, and compare every trial's parameters.

    ``ties``: an objective with few distinct values (the split's order among equal values
    matters), else one with distinct values.
    """
    import warnings

    def objective(params: dict[str, int]) -> float:
        if ties:
            return float(sum((v * (i + 3)) % 4 for i, v in enumerate(params.values())))
        return float(sum(math.sin(1.7 * (v + 1) * (i + 1)) for i, v in enumerate(params.values())))

    distributions = {f"p{i}": CategoricalDistribution(list(range(k))) for i, k in enumerate(sizes)}
    proposals = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sampler in (
            optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=n_startup_trials, multivariate=False, constant_liar=False
            ),
            CategoricalTPESampler(seed=seed, n_startup_trials=n_startup_trials),
        ):
            study = optuna.create_study(direction=direction, sampler=sampler)
            for _ in range(n_trials):
                trial = study.ask(distributions)
                study.tell(trial, objective(trial.params))
            proposals.append([t.params for t in study.trials])
    return proposals[0] == proposals[1]
