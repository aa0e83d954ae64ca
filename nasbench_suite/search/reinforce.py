"""REINFORCE with a learned categorical policy and a moving-average baseline.

Williams, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning", Machine Learning 1992, as used for NAS by Zoph & Le
(2017) and as the REINFORCE baseline of NAS-Bench-201 / NATS-Bench (Dong & Yang,
ICLR 2020; Dong et al., TPAMI 2021), whose reference script this follows: one
independent softmax per decision (logits initialised at ``1e-3 * N(0, 1)``), the
reward is the observed validation accuracy, the baseline is a bias-corrected
exponential moving average (momentum 0.9) updated with the reward *before* the
advantage ``reward - baseline`` is taken, and Adam (learning rate 0.01, the
script's setting for every NATS-Bench run; betas 0.9/0.999) ascends
``advantage * grad log pi(codes)``.

The policy works on ``space.decisions()``; codes that spell no valid
architecture (NB101) are redrawn (bounded; then a random architecture, whose
own codes are then credited). A failed (NaN) result is rewarded with the worst
reward seen so far (no update while nothing finite has been seen).

Asynchronous use (W workers): each ask samples from the current policy; each
tell updates the policy with the codes that trial drew, in completion order
(the log-probability gradient is taken at the current policy, as usual for
asynchronous policy gradients). REINFORCE may re-propose an architecture.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from nasbench_suite.errors import InvalidArchError
from nasbench_suite.search._util import MAX_REDRAWS, float_option, reward_of
from nasbench_suite.search.base import Observation, Strategy
from nasbench_suite.spaces.base import Arch

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


class Reinforce(Strategy):
    """Policy-gradient search with independent categorical decisions.

    Options:
        learning_rate: Adam step size on the logits.
        ema_momentum: momentum of the moving-average reward baseline.
    """

    name: ClassVar[str] = "reinforce"
    defaults: ClassVar[dict[str, Any]] = {"learning_rate": 0.01, "ema_momentum": 0.9}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.learning_rate = float_option(self, "learning_rate", 0.0, math.inf)
        self.ema_momentum = float_option(self, "ema_momentum", 0.0, 1.0 - 1e-12)
        self.n_options = [len(d.options) for d in self.space.decisions()]
        width = max(self.n_options)
        # One row of logits per decision, padded with -inf past each decision's options.
        self.logits = np.full((len(self.n_options), width), -np.inf)
        init = 1e-3 * self.rng.standard_normal((len(self.n_options), width))
        self._valid = np.arange(width)[None, :] < np.array(self.n_options)[:, None]
        self.logits[self._valid] = init[self._valid]
        self._adam_m = np.zeros_like(init)
        self._adam_v = np.zeros_like(init)
        self._steps = 0
        self._ema_num = self._ema_den = 0.0
        self._worst = math.inf
        self._codes: dict[int, np.ndarray] = {}  # trial id -> codes it drew

    def probabilities(self) -> np.ndarray:
        """The policy: ``(n_decisions, max_options)`` probabilities (0 past each decision's options)."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def _draw(self) -> np.ndarray:
        cumulative = np.cumsum(self.probabilities(), axis=1)
        u = self.rng.random(len(self.n_options)) * cumulative[:, -1]
        codes = (cumulative <= u[:, None]).sum(axis=1)
        return np.minimum(codes, np.array(self.n_options) - 1)

    def _ask(self, trial_id: int) -> tuple[Arch, int | None]:
        for _ in range(MAX_REDRAWS):
            codes = self._draw()
            try:
                arch = self.space.from_codes(tuple(int(c) for c in codes))
                break
            except InvalidArchError:
                continue
        else:
            arch = self.space.sample(self.rng)
            codes = np.array(self.space.to_codes(arch))
        self._codes[trial_id] = codes
        return arch, None

    def _tell(self, observation: Observation) -> None:
        codes = self._codes.pop(observation.proposal.trial_id)
        reward, self._worst = reward_of(observation.observed, self._worst)
        if reward is None:
            return
        self._ema_num = self.ema_momentum * self._ema_num + (1 - self.ema_momentum) * reward
        self._ema_den = self.ema_momentum * self._ema_den + (1 - self.ema_momentum)
        advantage = reward - self._ema_num / self._ema_den
        # d log softmax(logits)[code] / d logits = onehot(code) - probabilities
        grad = -self.probabilities()
        grad[np.arange(len(codes)), codes] += 1.0
        grad *= advantage
        grad[~self._valid] = 0.0
        self._steps += 1
        self._adam_m = _BETA1 * self._adam_m + (1 - _BETA1) * grad
        self._adam_v = _BETA2 * self._adam_v + (1 - _BETA2) * grad**2
        m_hat = self._adam_m / (1 - _BETA1**self._steps)
        v_hat = self._adam_v / (1 - _BETA2**self._steps)
        step = self.learning_rate * m_hat / (np.sqrt(v_hat) + _EPS)
        self.logits[self._valid] += step[self._valid]
