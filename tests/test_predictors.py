"""The shared predictor conformance suite: every name in ``predictors.available()``.

A new predictor is tested by registering it; ``FAST`` keeps its budget small here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import kendalltau

from nasbench_suite import spaces
from nasbench_suite.surrogates import predictors
from nasbench_suite.surrogates.predictors import PredictorError, load_predictor
from nasbench_suite.surrogates.predictors.base import Predictor
from tests.support import ToyChainSpace

SPACE = ToyChainSpace(length=4, choices=3)
ARCHS = list(SPACE.enumerate())  # 81
WEIGHTS = np.array([[0.0, 1.0, 3.0], [0.0, 2.0, 0.5], [1.0, 0.0, 2.0], [0.0, 0.5, 1.5]])

#: Small budgets per predictor name so that the whole suite stays quick on 2 cores.
FAST: dict[str, dict] = {
    # One thread: on a loaded 2-core machine XGBoost's spinning threads cost more than they give.
    "xgb": {"n_estimators": 60, "n_jobs": 1},
    "rf": {"n_estimators": 20, "n_jobs": 1},
    "mlp": {"n_nets": 2, "epochs": 60},
    "gin": {"epochs": 30, "hidden": 16, "n_layers": 2},
    "ensemble": {"base": "xgb", "n_members": 3, "n_estimators": 40, "n_jobs": 1},
}
#: Predictors that need an optional library, by name.
NEEDS = {"gin": "torch"}


def synthetic_target(archs) -> np.ndarray:
    """An additive, mildly interacting score of the toy chain, in 'percent'."""
    codes = np.array([SPACE.to_codes(a) for a in archs])
    score = WEIGHTS[np.arange(4), codes].sum(axis=1) + 0.5 * (codes[:, 0] == codes[:, 3])
    return 60.0 + 4.0 * score


Y = synthetic_target(ARCHS)


def params_for(name: str) -> dict:
    if name in NEEDS:
        pytest.importorskip(NEEDS[name], reason=f"predictor {name!r} needs {NEEDS[name]}")
    if name == "zc":
        # A noisy, sign-flipped proxy of the target: zc must learn the sign and the map.
        noise = np.random.default_rng(5).normal(0, 1.0, len(ARCHS))
        return {"values": {SPACE.key(a): float(-y + noise[i]) for i, (a, y) in enumerate(zip(ARCHS, Y))}}
    return dict(FAST.get(name, {}))


@pytest.fixture(params=predictors.available())
def name(request) -> str:
    return request.param


def fitted(name: str, seed: int = 0, n: int = 60) -> Predictor:
    return predictors.get(name, SPACE, seed=seed, **params_for(name)).fit(ARCHS[:n], Y[:n])


def test_registry_lists_the_builtins():
    assert {"xgb", "rf", "mlp", "ensemble", "zc"} <= set(predictors.available())
    assert predictors.DEFAULT == "xgb"
    with pytest.raises(PredictorError, match=r"unknown predictor 'nope'.*xgb"):
        predictors.get("nope", SPACE)
    with pytest.raises(PredictorError, match="not a Predictor subclass"):
        predictors.register("bad", dict)  # type: ignore[arg-type]
    with pytest.raises(PredictorError, match="already registered"):
        predictors.register("xgb", predictors.predictor_class("xgb"))


def test_shapes_and_text_forms(name):
    model = fitted(name)
    test = ARCHS[60:]
    mean, std = model.predict_dist(test)
    assert mean.shape == std.shape == (len(test),)
    assert np.isfinite(mean).all() and np.isfinite(std).all() and (std >= 0).all()
    np.testing.assert_array_equal(model.predict(test), mean)
    np.testing.assert_array_equal(model.predict([SPACE.format(a) for a in test]), mean)


def test_same_seed_same_predictions(name):
    a = fitted(name, seed=3).predict_dist(ARCHS)
    b = fitted(name, seed=3).predict_dist(ARCHS)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_learns_a_synthetic_target_better_than_chance(name):
    model = fitted(name, n=60)
    tau = kendalltau(model.predict(ARCHS[60:]), Y[60:])[0]
    # Chance is 0; 0.3 on 21 held-out architectures is already unlikely by luck (p ~ 0.03).
    assert tau > 0.3, f"{name}: Kendall tau {tau:.3f} on held-out toy architectures"


def test_input_errors(name):
    model = predictors.get(name, SPACE, seed=0, **params_for(name))
    with pytest.raises(PredictorError, match="not fitted"):
        model.predict(ARCHS[:3])
    with pytest.raises(PredictorError, match="no architectures"):
        model.fit([], [])
    with pytest.raises(PredictorError, match="3 architectures but targets of shape"):
        model.fit(ARCHS[:3], [1.0, 2.0])
    with pytest.raises(PredictorError, match="non-finite target nan at position 1"):
        model.fit(ARCHS[:3], [1.0, float("nan"), 2.0])
    with pytest.raises(PredictorError, match="a string"):
        model.fit("0-1-2-0", [1.0])
    with pytest.raises(PredictorError, match="not fitted"):
        model.save("unused")
    with pytest.raises(PredictorError, match=r"unknown parameter.*'no_such_param'"):
        predictors.get(name, SPACE, no_such_param=1, **params_for(name))
    model.fit(ARCHS[:20], Y[:20])
    with pytest.raises(PredictorError, match="no architectures"):
        model.predict([])


def test_save_load_round_trip_is_bit_exact(name, tmp_path):
    model = fitted(name)
    if name == "rf":
        with pytest.raises(PredictorError, match=r"cannot be saved.*pickle.*xgb"):
            model.save(tmp_path)
        return
    spec = model.save(tmp_path / "model")
    spec = json.loads(json.dumps(spec))  # what a manifest stores
    assert spec["name"] == name and spec["files"]
    assert all((tmp_path / "model" / f).is_file() for f in spec["files"])
    assert not list((tmp_path / "model").rglob("*.pkl")) and not list((tmp_path / "model").rglob("*.pickle"))
    loaded = load_predictor(SPACE, tmp_path / "model", spec)
    for before, after in zip(model.predict_dist(ARCHS), loaded.predict_dist(ARCHS), strict=True):
        np.testing.assert_array_equal(before, after)


def test_load_predictor_rejects_bad_specs(tmp_path):
    with pytest.raises(PredictorError, match="not a predictor spec"):
        load_predictor(SPACE, tmp_path, {"name": "xgb"})
    spec = fitted("xgb").save(tmp_path)
    (tmp_path / spec["files"][0]).unlink()
    with pytest.raises(PredictorError, match="files missing"):
        load_predictor(SPACE, tmp_path, spec)


def test_ensemble_spread_and_bananas_configuration():
    ens = predictors.get("ensemble", SPACE, seed=1, base="mlp", encoding="path", n_members=3, epochs=40)
    assert all(m.params["n_nets"] == 1 and m.params["encoding"] == "path" for m in ens.members)
    mean, std = ens.fit(ARCHS[:40], Y[:40]).predict_dist(ARCHS[40:])
    assert (std > 0).any()
    members = np.stack([m.predict(ARCHS[40:]) for m in ens.members])
    np.testing.assert_allclose(mean, members.mean(axis=0))
    boot = predictors.get(
        "ensemble", SPACE, base="xgb", n_members=3, bootstrap=True, n_estimators=30, n_jobs=1
    )
    assert (boot.fit(ARCHS[:40], Y[:40]).predict_dist(ARCHS[40:])[1] > 0).any()
    with pytest.raises(PredictorError, match="n_members must be a positive integer"):
        predictors.get("ensemble", SPACE, n_members=0)
    with pytest.raises(PredictorError, match="ensemble members"):
        predictors.get("ensemble", SPACE, base="ensemble")
    with pytest.raises(PredictorError, match="unknown parameter"):
        predictors.get("ensemble", SPACE, base="xgb", hidden=[8])


def test_zero_cost_learns_the_sign_and_leaves_missing_archs_nan():
    values = {SPACE.key(a): -float(y) for a, y in zip(ARCHS[:70], Y[:70], strict=True)}
    zc = predictors.get("zc", SPACE, values=values).fit(ARCHS[:30], Y[:30])
    assert zc.sign_ == -1.0
    mean, std = zc.predict_dist(ARCHS[60:])
    np.testing.assert_allclose(mean[:10], Y[60:70], atol=1e-9)
    assert np.isnan(mean[10:]).all() and np.isnan(std[10:]).all()
    with pytest.raises(PredictorError, match="needs values"):
        predictors.get("zc", SPACE)
    with pytest.raises(PredictorError, match="at least 2 are needed"):
        predictors.get("zc", SPACE, values=values).fit(ARCHS[70:], Y[70:])


def test_xgb_default_works_on_the_real_spaces():
    for space_name in ("nb201", "nb101"):
        space = spaces.get(space_name)
        rng = np.random.default_rng(0)
        archs = [space.sample(rng) for _ in range(30)]
        y = rng.uniform(80, 95, len(archs))
        pred = predictors.get("xgb", space, n_estimators=20, n_jobs=1).fit(archs, y).predict(archs)
        assert pred.shape == (30,) and np.isfinite(pred).all()


def test_importing_predictors_loads_neither_torch_nor_the_table_modules():
    code = (
        "import sys; from nasbench_suite.surrogates import encodings, predictors; "
        "predictors.available(); predictors.get('xgb', __import__('nasbench_suite').spaces.get('nb201')); "
        "heavy = ('torch', 'ray', 'nasbench_suite.tabular', 'nasbench_suite.bench'); "
        "bad = [m for m in heavy if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_xgb_target_transform_choice_and_round_trip(tmp_path):
    from nasbench_suite.surrogates.predictors.xgb import LogErrorTransform

    percent = np.array([10.0, 85.0, 91.5])
    assert LogErrorTransform.choose("auto", percent).ceiling == pytest.approx(100.5)
    assert LogErrorTransform.choose("auto", percent / 100).ceiling == pytest.approx(1.005)
    assert LogErrorTransform.choose("auto", np.array([5.0, 250.0])).ceiling is None  # e.g. seconds
    assert LogErrorTransform.choose("none", percent).ceiling is None
    t = LogErrorTransform.choose("log_error", percent)
    np.testing.assert_allclose(t.inverse(t.forward(percent)), percent)
    with pytest.raises(PredictorError, match=r"needs targets in \[0, 100\]"):
        LogErrorTransform.choose("log_error", np.array([5.0, 250.0]))
    model = predictors.get("xgb", SPACE, n_estimators=30, n_jobs=1, target_transform="bogus")
    with pytest.raises(PredictorError, match="target_transform must be"):
        model.fit(ARCHS, Y)
    # Targets above 100 (times) are fitted untransformed, and still round-trip exactly.
    model = predictors.get("xgb", SPACE, n_estimators=30, n_jobs=1).fit(ARCHS, 10.0 * Y)
    assert model.transform_.ceiling is None
    loaded = load_predictor(SPACE, tmp_path, json.loads(json.dumps(model.save(tmp_path))))
    np.testing.assert_array_equal(loaded.predict(ARCHS), model.predict(ARCHS))


def test_xgb_loads_specs_written_before_target_transforms(tmp_path):
    model = predictors.get("xgb", SPACE, n_estimators=30, n_jobs=1, target_transform="none").fit(ARCHS, Y)
    spec = model.save(tmp_path)
    del spec["state"]["transform"]  # the spec shape of the first shipped surrogate artefacts
    loaded = load_predictor(SPACE, tmp_path, spec)
    np.testing.assert_array_equal(loaded.predict(ARCHS), model.predict(ARCHS))
