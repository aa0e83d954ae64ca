"""Bring your own optimiser: space exports (ConfigSpace, Optuna, syne-tune) and the ask/tell driver."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.errors import InvalidArchError, MalformedArchError
from nasbench_suite.experiments import RunConfig, run
from nasbench_suite.experiments.driver import Driver, DriverError
from nasbench_suite.experiments.leaderboard import summarise
from nasbench_suite.spaces.export import ExportError, parameter_names
from nasbench_suite.testing.toy import ToyChainSpace
from tests.support import toy_table_file

SPACES = {"nb201": lambda: spaces.get("nb201"), "nb101": lambda: spaces.get("nb101"), "user": ToyChainSpace}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return toy_table_file(tmp_path_factory, "byo")


# --- exports -----------------------------------------------------------------------


@pytest.mark.parametrize("which", sorted(SPACES))
def test_configspace_export_has_one_categorical_per_decision(which):
    pytest.importorskip("ConfigSpace")
    from ConfigSpace import CategoricalHyperparameter

    space = SPACES[which]()
    cs = space.to_configspace(seed=1)
    names = parameter_names(space)
    assert list(cs.keys()) == names  # the decision order survives ConfigSpace's name sort
    for name, decision in zip(names, space.decisions(), strict=True):
        hp = cs[name]
        assert isinstance(hp, CategoricalHyperparameter)
        assert tuple(hp.choices) == decision.options
    # Every configuration ConfigSpace draws is an architecture, or (NB101) a named invalid one.
    valid = 0
    for config in cs.sample_configuration(50):
        try:
            arch = space.from_config(config)
        except InvalidArchError:
            assert which == "nb101"
            continue
        valid += 1
        assert space.to_config(arch) == dict(config) or which == "nb101"  # NB101 prunes dead nodes
    assert valid > 0


@pytest.mark.parametrize("which", sorted(SPACES))
def test_config_round_trip_and_bad_configs(which):
    space = SPACES[which]()
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = space.sample(rng)
        back = space.from_config(space.to_config(arch))
        assert space.canonical_key(back) == space.canonical_key(arch)
        assert space.to_config(back) == space.to_config(arch)
    config = space.to_config(space.sample(rng))
    first = parameter_names(space)[0]
    with pytest.raises(MalformedArchError, match="not a choice"):
        space.from_config({**config, first: "no-such-op"})
    with pytest.raises(MalformedArchError, match="no value"):
        space.from_config({k: v for k, v in config.items() if k != first})


@pytest.mark.parametrize("which", sorted(SPACES))
def test_optuna_and_syne_tune_exports(which):
    optuna = pytest.importorskip("optuna")
    space = SPACES[which]()
    distributions = space.to_optuna()
    syne = space.to_syne_tune()
    assert list(distributions) == list(syne) == parameter_names(space)
    for name, decision in zip(parameter_names(space), space.decisions(), strict=True):
        assert distributions[name].choices == decision.options
        assert syne[name] == {
            "domain_cls": "Categorical",
            "domain_kwargs": {"categories": list(decision.options)},
        }
    assert json.loads(json.dumps(syne)) == syne  # plain data
    # Define-by-run: the helper suggests every decision and returns the architecture.
    from nasbench_suite.spaces.export import suggest

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    try:
        arch = suggest(trial, space)
    except InvalidArchError:
        assert which == "nb101"
        return
    assert space.to_config(arch) == trial.params or which == "nb101"


def test_missing_configspace_is_one_named_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ConfigSpace", None)  # what an absent package looks like to import
    with pytest.raises(ExportError, match=r"pip install 'nasbench-suite\[configspace\]'"):
        spaces.get("nb201").to_configspace()


# --- the driver ---------------------------------------------------------------------


def _drive_random(driver: Driver) -> list:
    """Random search written as a user's loop: one space.sample per submission."""
    rng = np.random.default_rng(driver.seed_sequence)
    told = []
    while not driver.done:
        told += driver.submit(driver.space.sample(rng), tag=len(told))
    return told


@pytest.mark.parametrize(
    "settings", [{"budget_evals": 25}, {"budget_s": 4000.0}, {"budget_s": 6000.0, "workers": 3}]
)
def test_driver_reproduces_the_runner_exactly(toy, settings):
    """Random search through the driver is the built-in random strategy, row for row: the
    driver adds no clock, budget or draw of its own."""
    with Driver(toy, "toy", name="random", seed=4, **settings) as driver:
        told = _drive_random(driver)
    mine = driver.result()
    builtin = run(RunConfig("random", toy, "toy", seed=4, **settings))
    for key in builtin.trajectory:
        a, b = mine.trajectory[key], builtin.trajectory[key]
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), key
    assert {k: v for k, v in mine.summary.items() if k != "wall_s"} == pytest.approx(
        {k: v for k, v in builtin.summary.items() if k != "wall_s"}, nan_ok=True
    )
    assert mine.config == builtin.config and mine.rule == builtin.rule
    # Every finished evaluation was told once, in the trajectory's order; none after the budget.
    assert [e.trial_id for e in told] == mine.trajectory["trial_id"].tolist()
    np.testing.assert_array_equal([e.observed for e in told], mine.trajectory["observed"])
    if "budget_s" in settings:
        assert mine.trajectory["time_s"].max() <= settings["budget_s"]


def test_driver_tags_turns_and_refusals(toy):
    with Driver(toy, "toy", name="mine", seed=0, budget_evals=4, workers=2) as driver:
        space = driver.space
        assert driver.submit(space.parse("0-0-0-0"), tag="a") == []  # workers fill first
        with pytest.raises(MalformedArchError):
            driver.submit("not-an-arch")  # refused in the user's thread; the run goes on
        with pytest.raises(DriverError, match="epoch"):
            driver.submit("0-1-2-0", epoch=5)
        with pytest.raises(DriverError, match="one worker"):
            driver.evaluate("0-1-2-0")
        with pytest.raises(DriverError, match="not done"):
            driver.result()
        told = driver.submit("0-1-2-0", tag="b")
        told += driver.submit("1-1-1-1", tag="c")
        told += driver.submit("2-2-2-2", tag="d")
        assert driver.done and len(told) == 4
        assert sorted(e.tag for e in told) == ["a", "b", "c", "d"]
        assert all(space.format(e.arch) in ("0-0-0-0", "0-1-2-0", "1-1-1-1", "2-2-2-2") for e in told)
        with pytest.raises(DriverError, match="spent"):
            driver.submit("0-0-0-0")
    assert driver.result().summary["n_evals"] == 4


def test_driver_closed_early_ends_its_thread(toy):
    driver = Driver(toy, "toy", name="mine", seed=0, budget_evals=50)
    driver.evaluate("0-0-0-0")
    driver.close()
    assert not driver._thread.is_alive()
    with pytest.raises(DriverError):
        driver.result()


def test_driver_errors_of_the_run_reach_the_user(toy):
    from nasbench_suite.errors import UnknownDatasetError

    with pytest.raises(UnknownDatasetError):
        Driver(toy, "no-such-dataset", budget_evals=3)


def test_external_runs_land_on_the_leaderboard_beside_the_builtin_ones(toy):
    """Runs of an external optimiser share the suite's protocol and summarise with it."""
    seeds = (0, 1, 2)
    results = [
        run(RunConfig(s, toy, "toy", seed=k, budget_evals=15)) for s in ("random", "rea") for k in seeds
    ]
    for k in seeds:
        with Driver(toy, "toy", name="my-optimiser", seed=k, budget_evals=15) as driver:
            _drive_random(driver)
        results.append(driver.result())
    board = summarise(results, bench="toy.h5")
    rows = {row["strategy"]: row for row in board.boards[0].rows}
    assert set(rows) == {"random", "rea", "my-optimiser"}
    assert rows["my-optimiser"]["runs"] == 3
    # It is random search with the driver's seeds: the same figures as the built-in one.
    assert rows["my-optimiser"]["regret_mean"] == pytest.approx(rows["random"]["regret_mean"])


def test_driver_defaults_to_the_standard_protocol(toy):
    from nasbench_suite.bench import open_benchmark
    from nasbench_suite.experiments.protocol import STANDARD_WORKERS, standard_budget

    driver = Driver(toy, "toy", seed=1)
    try:
        budget = standard_budget(open_benchmark(toy), "toy")
        assert {k: getattr(driver.config, k) for k in budget} == budget
        assert driver.config.workers == STANDARD_WORKERS
    finally:
        driver.close()


def _optuna_through_driver(toy: str, seed: int):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with Driver(toy, "toy", name="tpe-ext", seed=seed, budget_s=5000.0, workers=2) as driver:
        distributions = driver.space.to_optuna()
        sampler = optuna.samplers.TPESampler(seed=driver.optimiser_seed, n_startup_trials=5)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        while not driver.done:
            trial = study.ask(distributions)
            for e in driver.submit(driver.space.from_config(trial.params), tag=trial):
                study.tell(e.tag, e.observed)
    return driver.result(), study


def test_an_optuna_sampler_through_the_driver_is_reproducible(toy):
    """Same seed, same run: the driver adds no randomness or timing of its own, and every
    told evaluation reaches the Optuna trial it came from (W = 2, results out of order)."""
    (a, study), (b, _) = _optuna_through_driver(toy, 7), _optuna_through_driver(toy, 7)
    for key in a.trajectory:
        x, y = a.trajectory[key], b.trajectory[key]
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), key
    complete = [t for t in study.trials if t.value is not None]
    assert len(complete) == len(a.trajectory["eval"])
    by_number = {t.number: t.value for t in complete}
    assert [by_number[i] for i in a.trajectory["trial_id"]] == a.trajectory["observed"].tolist()
