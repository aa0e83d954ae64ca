"""The default encoding follows the space: graph encodings on cell spaces, one-hot on chains.

A space declares its graph view (``graph_view``); predictors, the surrogate fit and the
model-based strategies resolve their ``"auto"`` encoding from it. The user-space case is a
chain-shaped space imported from a CSV file, as a user with their own benchmark does.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from nasbench_suite import importers, search, spaces
from nasbench_suite.spaces.pool import PoolSpace
from nasbench_suite.surrogates import artefact, encodings, predictors
from nasbench_suite.surrogates.fitting import fit_surrogate
from nasbench_suite.tabular import write_table
from tests.support import ToyChainSpace
from tests.test_import_csv import OPS, LayerChain

NB201 = spaces.get("nb201")
NB101 = spaces.get("nb101")
CHAIN = ToyChainSpace()

#: What ``"auto"`` means on a graph space, per predictor and model-based strategy.
GRAPH_DEFAULTS = {
    "xgb": "onehot+path+features+path_stats",
    "rf": "onehot+features+path_stats",
    "mlp": "onehot+features+path_stats",
}


def test_cell_spaces_declare_a_graph_view_and_chains_do_not():
    assert NB201.graph_view and NB101.graph_view
    assert not CHAIN.graph_view and not LayerChain().graph_view
    # a pool is the base space seen through a pool: the same view
    assert PoolSpace(NB201, list(itertools.islice(NB201.enumerate(), 5))).graph_view
    assert not PoolSpace(CHAIN, list(itertools.islice(CHAIN.enumerate(), 5))).graph_view


@pytest.mark.parametrize("name", sorted(GRAPH_DEFAULTS))
def test_predictor_default_encoding_follows_the_space(name):
    assert predictors.get(name, NB201).encoding == GRAPH_DEFAULTS[name]
    assert predictors.get(name, NB101).encoding == GRAPH_DEFAULTS[name]
    for space in (CHAIN, LayerChain()):
        model = predictors.get(name, space)
        assert model.params["encoding"] == "auto" and model.encoding == "onehot"
        # an explicit choice is kept on any space
        assert predictors.get(name, space, encoding="onehot+features").encoding == "onehot+features"


def test_the_chain_default_is_small_where_the_path_encoding_is_not():
    long_chain = ToyChainSpace(length=12, choices=4)
    # the case: thousands of mostly empty path columns on a chain
    assert encodings.encoding_size(long_chain, "path") == encodings.PATH_CAP
    model = predictors.get("xgb", long_chain)
    assert encodings.encoding_size(long_chain, model.encoding) == 12 * 4


def test_model_based_strategies_resolve_the_default_from_the_space():
    for space, bananas, xgb_bo in (
        (NB201, "path", "onehot+features"),
        (CHAIN, "onehot", "onehot"),
        (LayerChain(), "onehot", "onehot"),
    ):
        assert search.get("bananas", space=space, seed=0).options["encoding"] == bananas
        assert search.get("xgb-bo", space=space, seed=0).options["encoding"] == xgb_bo
    chosen = search.get("bananas", space=CHAIN, seed=0, encoding="onehot+features")
    assert chosen.options["encoding"] == "onehot+features"


def test_saved_spec_names_the_resolved_encoding(tmp_path):
    rng = np.random.default_rng(0)
    archs = [CHAIN.sample(rng) for _ in range(30)]
    model = predictors.get("xgb", CHAIN, n_estimators=5).fit(archs, rng.uniform(50, 90, 30))
    spec = model.save(tmp_path)
    assert spec["params"]["encoding"] == "onehot"
    loaded = predictors.load_predictor(CHAIN, tmp_path, spec)
    assert np.array_equal(loaded.predict(archs), model.predict(archs))


@pytest.fixture
def chain_csv_table(tmp_path):
    """A user's chain-shaped benchmark: every 4-layer chain of LayerChain, test accuracies only."""
    rng = np.random.default_rng(1)
    rows = [
        {
            "arch": "-".join(a),
            "dataset": "mine",
            "seed": s,
            "test_acc": 60 + 5 * a.count("conv") + rng.normal(),
        }
        for a in itertools.product(OPS, repeat=4)
        for s in (0, 1)
    ]
    csv = tmp_path / "mine.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    with spaces.registered(LayerChain.name, LayerChain):
        data = importers.import_table("csv", csv, space=LayerChain.name, space_config={"length": 4})
        path = write_table(tmp_path / "mine.h5", data)
        yield path


def test_surrogate_fit_on_a_chain_user_space_uses_one_hot(chain_csv_table, tmp_path):
    params = {"n_estimators": 30, "learning_rate": 0.3}
    out = fit_surrogate(chain_csv_table, tmp_path / "sur", params=params, cv_folds=2)
    m = artefact.read_manifest(out)
    assert m["encoding"] == "onehot"
    spec = m["datasets"]["mine"]["targets"]["test_acc"]["model"]["spec"]
    assert spec["params"]["encoding"] == "onehot"
    assert m["datasets"]["mine"]["targets"]["test_acc"]["evaluation"]["kendall_tau"] > 0.5


def test_a_pool_encodes_as_its_base_space_does():
    archs = list(itertools.islice(NB201.enumerate(), 7))
    pool = PoolSpace(NB201, archs)
    for kind in ("path", "path_stats", "features"):
        assert encodings.encoding_size(pool, kind) == encodings.encoding_size(NB201, kind)
        np.testing.assert_array_equal(
            encodings.encode(pool, archs, kind), encodings.encode(NB201, archs, kind)
        )
