"""Q-learning over the space's categorical decisions (MetaQNN).

Baker, Gupta, Naik & Raskar, "Designing neural network architectures using
reinforcement learning", ICLR 2017 (MetaQNN), and its reference code
(github.com/bowenbaker/metaqnn, ``libs/grammar/q_learner.py``). An architecture is
built one decision at a time (``space.decisions()``): the *state* is the tuple of
codes chosen so far, an *action* is an option of the next decision, and the
episode ends after the last decision with the reward = the observed validation
accuracy (divided by ``reward_scale``'s inverse: percent -> fraction, the scale the
published Q initialisation 0.5 assumes). Intermediate rewards are 0.

- **Q update** (Watkins 1989) as published: learning rate ``alpha = 0.01``, discount
  ``gamma = 1``, Q values initialised at ``q_init = 0.5``; an episode is applied
  backwards, the last action first with the terminal reward, each earlier one with
  ``max_a' Q(next state, a')`` (the reference code's ``update_q_value_sequence``).
- **Action choice**: epsilon-greedy per decision (ties among the best Q broken at
  random).
- **Epsilon schedule**: the published one, epsilon 1.0, 0.9, ..., 0.1 for
  1500, 100, 100, 100, 150, 150, 150, 150, 150, 150 models (2,700 in all, the
  CIFAR-10 run), *scaled to the budget*: each epsilon gets the same fraction of
  ``schedule_evals`` evaluations as of the 2,700 (so 55.6 % at 1.0, 3.7 % at each of
  0.9-0.7, 5.6 % at each of 0.6-0.1); after the schedule, epsilon stays 0.1.
  ``schedule_evals`` is the runner's ``budget_evals`` when the run has one, else the
  option (default 150: the standard suite's budgets are about 150 mean trainings).
- **Experience replay**: every finished architecture enters the replay memory; after
  each result, ``replay_size`` (100, as published) memories drawn uniformly with
  replacement are replayed through the Q update. As in the reference code, an
  architecture already in the memory is not proposed again: its stored reward is
  replayed and the episode redrawn (bounded by ``UNSEEN_DRAWS``; then the repeat is
  proposed).

Failed (NaN) results are rewarded with the worst reward seen so far (not stored while
nothing finite has been seen). Codes that spell no valid architecture (NB101) are
redrawn (bounded; then a random architecture, whose codes are credited). Asynchronous
use: each ask acts on the current Q table; tells update it in completion order.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from nasbench_suite.errors import InvalidArchError
from nasbench_suite.search._util import MAX_REDRAWS, UNSEEN_DRAWS, float_option, int_option, reward_of
from nasbench_suite.search.base import Observation, Strategy
from nasbench_suite.spaces.base import Arch

#: MetaQNN's schedule (Baker et al. 2017, Table 2): (epsilon, models trained at it).
PUBLISHED_SCHEDULE: tuple[tuple[float, int], ...] = (
    (1.0, 1500), (0.9, 100), (0.8, 100), (0.7, 100), (0.6, 150),
    (0.5, 150), (0.4, 150), (0.3, 150), (0.2, 150), (0.1, 150),
)  # fmt: skip


def epsilon_schedule(n_evals: int) -> list[tuple[float, int]]:
    """The published schedule scaled to ``n_evals`` evaluations: ``(epsilon, first eval index)``.

    Boundaries are the published cumulative fractions times ``n_evals``, rounded.
    """
    total = sum(count for _, count in PUBLISHED_SCHEDULE)
    out, done = [], 0
    for epsilon, count in PUBLISHED_SCHEDULE:
        out.append((epsilon, round(n_evals * done / total)))
        done += count
    return out


class QLearning(Strategy):
    """MetaQNN's tabular Q-learning controller over the space's decisions.

    Options:
        learning_rate: Q learning rate alpha.
        discount: discount gamma.
        q_init: initial Q value of every (state, action).
        replay_size: memories replayed after each result.
        schedule_evals: evaluations the epsilon schedule spans (the runner's
            ``budget_evals`` replaces it when the run has one).
        reward_scale: the reward is ``observed * reward_scale`` (0.01: percent -> fraction).
    """

    name: ClassVar[str] = "qlearning"
    defaults: ClassVar[dict[str, Any]] = {
        "learning_rate": 0.01,
        "discount": 1.0,
        "q_init": 0.5,
        "replay_size": 100,
        "schedule_evals": 150,
        "reward_scale": 0.01,
    }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.learning_rate = float_option(self, "learning_rate", 0.0, 1.0)
        self.discount = float_option(self, "discount", 0.0, 1.0)
        self.q_init = float_option(self, "q_init", -math.inf, math.inf)
        self.replay_size = int_option(self, "replay_size", minimum=0)
        self.reward_scale = float_option(self, "reward_scale", 1e-300, math.inf)
        n_evals = self.context.budget_evals or int_option(self, "schedule_evals")
        self.schedule = epsilon_schedule(n_evals)
        self.n_options = [len(d.options) for d in self.space.decisions()]
        self.q: dict[tuple[int, ...], list[float]] = {}  # state (codes so far) -> Q of each option
        self.memory: dict[tuple[int, ...], float] = {}  # finished codes -> reward (insertion order)
        self._memory_keys: list[tuple[int, ...]] = []
        self._codes: dict[int, tuple[int, ...]] = {}  # trial id -> the codes it proposed
        self._worst = math.inf

    def epsilon(self, n_asked: int) -> float:
        """Epsilon in effect for the ``n_asked``-th proposal (0-based)."""
        current = self.schedule[0][0]
        for epsilon, start in self.schedule:
            if n_asked >= start:
                current = epsilon
        return current

    def q_values(self, state: tuple[int, ...]) -> list[float]:
        """Q of every option of the decision after ``state`` (``q_init`` where never updated)."""
        values = self.q.get(state)
        return list(values) if values is not None else [self.q_init] * self.n_options[len(state)]

    def _episode(self, epsilon: float) -> tuple[int, ...]:
        state: tuple[int, ...] = ()
        for n in self.n_options:
            if self.rng.random() < epsilon:
                action = int(self.rng.integers(n))
            else:
                values = self.q_values(state)
                best = max(values)
                ties = [a for a, v in enumerate(values) if v == best]
                action = ties[int(self.rng.integers(len(ties)))]
            state = (*state, action)
        return state

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        epsilon = self.epsilon(trial_id)
        for _ in range(UNSEEN_DRAWS):
            codes, arch = self._valid_episode(epsilon)
            if codes not in self.memory:
                break
            self._update(codes, self.memory[codes])
        self._codes[trial_id] = codes
        return arch, None

    def _valid_episode(self, epsilon: float) -> tuple[tuple[int, ...], Arch]:
        for _ in range(MAX_REDRAWS):
            codes = self._episode(epsilon)
            try:
                return codes, self.space.from_codes(codes)
            except InvalidArchError:
                continue
        arch = self.space.sample(self.rng)
        return tuple(int(c) for c in self.space.to_codes(arch)), arch

    def _tell(self, observation: Observation) -> None:
        codes = self._codes.pop(observation.proposal.trial_id)
        reward, self._worst = reward_of(observation.observed, self._worst)
        if reward is None:
            return
        reward *= self.reward_scale
        if codes not in self.memory:
            self._memory_keys.append(codes)
        self.memory[codes] = reward
        self._update(codes, reward)
        for i in self.rng.integers(len(self._memory_keys), size=self.replay_size).tolist():
            past = self._memory_keys[i]
            self._update(past, self.memory[past])

    def _update(self, codes: tuple[int, ...], reward: float) -> None:
        """One Q update of the episode ``codes``, last action first (MetaQNN's order)."""
        target = reward
        for depth in range(len(codes) - 1, -1, -1):
            state = codes[:depth]
            values = self.q.setdefault(state, [self.q_init] * self.n_options[depth])
            action = codes[depth]
            values[action] += self.learning_rate * (target - values[action])
            target = self.discount * max(values)
