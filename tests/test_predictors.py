"""Every registered predictor passes the public conformance suite
(nasbench_suite.testing.predictors); the registry and what is particular to each predictor.

A new predictor is tested by registering it; ``FAST`` keeps its budget small here.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.surrogates import predictors
from nasbench_suite.surrogates.predictors import PredictorError, load_predictor
from nasbench_suite.surrogates.predictors.base import Predictor
from nasbench_suite.testing import parametrize_checks, predictor_checks
from nasbench_suite.testing.predictors import TOY_ARCHS as ARCHS
from nasbench_suite.testing.predictors import TOY_SPACE as SPACE
from nasbench_suite.testing.predictors import TOY_Y as Y

#: Small budgets per predictor name so that the whole suite stays quick on 2 cores.
FAST: dict[str, dict] = {
    # One thread: on a loaded 2-core machine XGBoost's spinning threads cost more than they give.
    "xgb": {"n_estimators": 60, "n_jobs": 1},
    "rf": {"n_estimators": 20, "n_jobs": 1},
    "mlp": {"n_nets": 2, "epochs": 60},
    "gin": {"epochs": 30, "hidden": 16, "n_layers": 2},
    "ensemble": {"base": "xgb", "n_members": 3, "n_estimators": 40, "n_jobs": 1},
}
#: Predictors that need an optional library, by name: their checks run only when it is installed.
NEEDS = {"gin": "torch"}


def params_for(name: str) -> dict:
    if name == "zc":
        # A noisy, sign-flipped proxy of the target: zc must learn the sign and the map.
        noise = np.random.default_rng(5).normal(0, 1.0, len(ARCHS))
        return {"values": {SPACE.key(a): float(-y + noise[i]) for i, (a, y) in enumerate(zip(ARCHS, Y))}}
    if name in ("xgb-zc", "xgb-zc-only"):
        # Two features learn slowly at xgb's low learning rate: more rounds than FAST's xgb.
        return {**FAST["xgb"], "n_estimators": 200, "values": proxy_vectors()}
    return dict(FAST.get(name, {}))


def proxy_vectors() -> dict[str, list[float]]:
    """Two proxies per toy architecture: the target with a little noise, and pure noise."""
    noise = np.random.default_rng(6).normal(0, 1.0, (len(ARCHS), 2))
    scale = 0.2 * float(np.std(Y))
    return {
        SPACE.key(a): [float(y + scale * noise[i, 0]), float(noise[i, 1])]
        for i, (a, y) in enumerate(zip(ARCHS, Y))
    }


def _skip(reason: str):
    def check() -> None:
        pytest.skip(reason)

    return check


def _conformance() -> list:
    """(id, check) for every check of every registered predictor; a predictor whose optional
    library is not installed gets one check that skips, naming the library."""
    checks = []
    for name in predictors.available():
        library = NEEDS.get(name)
        if library and importlib.util.find_spec(library) is None:
            checks.append((f"{name}-needs-{library}", _skip(f"predictor {name!r} needs {library}")))
            continue
        cls = predictors.predictor_class(name)
        checks += [(f"{name}-{check}", run) for check, run in predictor_checks(cls, params_for(name))]
    return checks


@parametrize_checks(_conformance())
def test_conformance(check):
    check()


def fitted(name: str, seed: int = 0, n: int = 60) -> Predictor:
    return predictors.get(name, SPACE, seed=seed, **params_for(name)).fit(ARCHS[:n], Y[:n])


def test_registry_lists_the_builtins():
    assert {"xgb", "rf", "mlp", "ensemble", "zc", "xgb-zc", "xgb-zc-only"} <= set(predictors.available())
    assert predictors.DEFAULT == "xgb"
    with pytest.raises(PredictorError, match=r"unknown predictor 'nope'.*xgb"):
        predictors.get("nope", SPACE)
    with pytest.raises(PredictorError, match="not a Predictor subclass"):
        predictors.register("bad", dict)  # type: ignore[arg-type]
    with pytest.raises(PredictorError, match="already registered"):
        predictors.register("xgb", predictors.predictor_class("xgb"))


def test_random_forest_cannot_be_saved_and_says_why(tmp_path):
    with pytest.raises(PredictorError, match=r"cannot be saved.*pickle.*xgb"):
        fitted("rf").save(tmp_path)


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


def test_xgb_zc_features_are_the_encoding_and_the_proxies_or_the_proxies_alone():
    values = proxy_vectors()
    both = predictors.get("xgb-zc", SPACE, values=values, **FAST["xgb"])
    alone = predictors.get("xgb-zc-only", SPACE, values=values, **FAST["xgb"])
    plain = predictors.get("xgb", SPACE, **FAST["xgb"])
    x_both, x_alone = both._encode_for_fit(ARCHS[:5]), alone._encode_for_fit(ARCHS[:5])
    np.testing.assert_array_equal(x_alone, [values[SPACE.key(a)] for a in ARCHS[:5]])
    np.testing.assert_array_equal(x_both, np.hstack([plain._encode_for_fit(ARCHS[:5]), x_alone]))


def test_xgb_zc_without_proxy_values_gets_nan_features_and_still_predicts(tmp_path):
    values = proxy_vectors()
    missing = SPACE.key(ARCHS[-1])
    values[missing] = [math.nan, math.nan]
    model = predictors.get("xgb-zc-only", SPACE, values=values, **FAST["xgb"]).fit(ARCHS[:60], Y[:60])
    assert np.isnan(model._encode_for_fit([ARCHS[-1]])).all()
    assert np.isfinite(model.predict([ARCHS[-1]])).all()
    spec = model.save(tmp_path)  # NaN is written as null and read back as NaN
    again = load_predictor(SPACE, tmp_path, spec)
    np.testing.assert_array_equal(again.predict(ARCHS[60:]), model.predict(ARCHS[60:]))
    assert math.isnan(again.values[missing][0])


def test_xgb_zc_refuses_bad_settings():
    with pytest.raises(PredictorError, match="needs values"):
        predictors.get("xgb-zc", SPACE)
    with pytest.raises(PredictorError, match="features must be one of"):
        predictors.get("xgb-zc", SPACE, values=proxy_vectors(), features="graph")
    with pytest.raises(PredictorError, match="as many proxy values"):
        predictors.get("xgb-zc", SPACE, values={SPACE.key(ARCHS[0]): [1.0], SPACE.key(ARCHS[1]): [1.0, 2.0]})


def test_xgb_fit_is_xgboost_train_byte_for_byte():
    """The predictor's own boosting loop gives the model xgboost.train gives on the same data."""
    import xgboost

    from nasbench_suite.surrogates import encodings

    space = spaces.get("nb201")
    rng = np.random.default_rng(3)
    archs = [space.sample(rng) for _ in range(60)]
    y = rng.uniform(80, 95, len(archs))
    model = predictors.get("xgb", space, seed=11, n_estimators=30, subsample=0.8, n_jobs=1).fit(archs, y)
    x = encodings.encode(space, [space.canonical(a) for a in archs], str(model.encoding))
    label = model.scaler_.transform(model.transform_.forward(y))
    reference = xgboost.train(model.booster_params(len(archs)), xgboost.DMatrix(x, label=label), 30)
    assert model.booster_.save_raw("ubj") == reference.save_raw("ubj")
    assert np.array_equal(model.booster_.inplace_predict(x), reference.inplace_predict(x))
