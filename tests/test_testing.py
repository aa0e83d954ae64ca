"""The public conformance suites themselves: they pass the built-in spaces, and each check
fails, with a message that says why, on an implementation that breaks its rule."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.search import Strategy
from nasbench_suite.surrogates.predictors import PredictorError
from nasbench_suite.surrogates.predictors.xgb import XGBPredictor
from nasbench_suite.testing import (
    CheckNotApplicable,
    ToyChainSpace,
    check_strategy,
    parametrize_space_checks,
    run_checks,
    strategy_checks,
)
from nasbench_suite.testing import predictors as predictor_suite
from nasbench_suite.testing import spaces as space_suite
from nasbench_suite.testing import strategies as strategy_suite
from tests.support import REPO


@parametrize_space_checks(spaces.get("nb201"), spaces.get("nb101"), ToyChainSpace(), ToyChainSpace(5, 2))
def test_builtin_spaces_conform(check):
    check()


def test_importing_the_suites_loads_neither_pytest_nor_torch():
    code = (
        "import sys, nasbench_suite.testing; "
        "print(sorted(m for m in ('pytest', 'torch', 'ray', 'optuna') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


# --- strategies that break one rule each ---------------------------------------------------


class _Random(Strategy):
    """Random search (the well-behaved base of the broken ones below)."""

    name = "test-random"

    def _ask(self, trial_id):
        return self.space.sample(self.rng), None


class _GlobalRandom(_Random):
    """Draws from numpy's global generator."""

    def _ask(self, trial_id):
        return self.space.from_codes(
            [np.random.randint(len(d.options)) for d in self.space.decisions()]
        ), None


class _IgnoresSeed(_Random):
    """Same proposals whatever the seed."""

    def _ask(self, trial_id):
        return self.space.sample(np.random.default_rng(trial_id)), None


class _OutsideTheSpace(_Random):
    """Proposes text that is no architecture."""

    def _ask(self, trial_id):
        return "not-an-architecture", None


class _FailsOnNaN(_Random):
    """Cannot take a failed trial."""

    def _tell(self, observation):
        if observation.observed != observation.observed:
            raise ValueError("NaN observed")


@pytest.mark.parametrize(
    ("cls", "check", "message"),
    [
        (_GlobalRandom, "check_no_global_random_state", "numpy's global random state"),
        (_IgnoresSeed, "check_same_seed_same_run", "is the seed used"),
        (_OutsideTheSpace, "check_proposals_inside_the_space", "outside the space"),
        (_FailsOnNaN, "check_failed_trials_do_not_stop_the_search", "ValueError: NaN observed"),
    ],
)
def test_strategy_checks_catch_what_they_check(cls, check, message):
    with pytest.raises(AssertionError, match=message):
        getattr(strategy_suite, check)(cls)


def test_check_strategy_lists_every_failure_and_passes_a_sound_strategy():
    check_strategy(_Random)
    with pytest.raises(AssertionError, match=r"conformance check\(s\) failed") as info:
        check_strategy(_FailsOnNaN)
    assert "check_failed_trials_do_not_stop_the_search" in str(info.value)
    assert "check_same_seed_same_run" in str(info.value)  # its run has failed trials too


def test_a_class_a_fresh_interpreter_cannot_import_is_not_applicable():
    class Local(_Random):
        """Defined in a function."""

    with pytest.raises(CheckNotApplicable, match="inside a function"):
        strategy_suite.check_same_run_under_different_hash_seeds(Local)
    checks = dict(strategy_checks(Local))
    assert run_checks([("hash seeds", checks["check_same_run_under_different_hash_seeds"])]) == ["hash seeds"]


# --- predictors and spaces that break one rule each ------------------------------------------


class _FitsInInit(XGBPredictor):
    """Sets a fitted attribute in __init__."""

    name = "test-fits-in-init"

    def __init__(self, space, seed=0, **params):
        super().__init__(space, seed=seed, **params)
        self.fitted_ = False


class _Unregistered(XGBPredictor):
    """Saves files that load_predictor cannot find by name."""

    name = "test-unregistered"


class _Flat(XGBPredictor):
    """Predicts one value for every architecture, with a column shape."""

    name = "test-flat"

    def predict_dist(self, archs):
        mean, std = super().predict_dist(archs)
        return np.zeros((len(mean), 1)), std


@pytest.mark.parametrize(
    ("cls", "check", "message"),
    [
        (_FitsInInit, "check_init_only_stores_arguments", r"sets fitted attributes \['fitted_'\]"),
        (_Unregistered, "check_save_load_round_trip", "'test-unregistered' is not registered"),
        (_Flat, "check_shapes_and_text_forms", r"shapes \(21, 1\)"),
    ],
)
def test_predictor_checks_catch_what_they_check(cls, check, message):
    with pytest.raises(AssertionError, match=message):
        getattr(predictor_suite, check)(cls, {"n_estimators": 10, "n_jobs": 1})


def test_a_predictor_error_that_says_nothing_useful_fails():
    class Mute(XGBPredictor):
        """Refuses everything without saying why."""

        name = "test-mute"

        def fit(self, archs, y):
            raise PredictorError("no")

    with pytest.raises(AssertionError, match="without saying 'no architectures'"):
        predictor_suite.check_input_errors(Mute, {"n_estimators": 10, "n_jobs": 1})


class _LaxCodes(ToyChainSpace):
    """Reads codes without checking their range (a negative code wraps around)."""

    def from_codes(self, codes):
        return self.validate(tuple(int(c) % self.choices for c in codes))


class _StillMutate(ToyChainSpace):
    """A mutation that may return the parent."""

    def mutate(self, arch, rng):
        return self.validate(arch)


class _BadGraph(ToyChainSpace):
    """An edge pointing backwards."""

    def to_graph(self, arch):
        graph = super().to_graph(arch)
        adjacency = graph.adjacency.copy()
        adjacency[-1, 0] = 1
        return type(graph)(adjacency, graph.ops)


@pytest.mark.parametrize(
    ("space", "check", "message"),
    [
        (_LaxCodes(), "check_codes_round_trip", "code -1 was accepted"),
        (_StillMutate(), "check_mutate", "returned the parent"),
        (_BadGraph(), "check_graph_view", "not strictly upper triangular"),
    ],
)
def test_space_checks_catch_what_they_check(space, check, message):
    with pytest.raises(AssertionError, match=message):
        getattr(space_suite, check)(space)
