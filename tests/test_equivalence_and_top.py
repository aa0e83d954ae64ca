"""Equivalent architectures answer alike, splits never cut a class, and fidelity at the top.

- every space names a representative of each equivalence class (``space.canonical``), and
  predictors encode representatives: two spellings of one NB201 network get bit-identical
  predictions from a predictor and from the shipped surrogate benchmark;
- the harness's splits and the surrogate fit's folds are grouped by class;
- the harness reports top-k % recall and the regret of the predicted best, the ceiling the
  same for one seed against the others, and the model card shows them; ``xgb`` can weight
  the top of the ranking.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import numpy as np
import pytest

from nasbench_suite import open_benchmark, spaces
from nasbench_suite.surrogates import artefact, encodings, predictors
from nasbench_suite.surrogates.card import model_card_markdown
from nasbench_suite.surrogates.evaluation import (
    EvaluationError,
    class_ids,
    evaluate_predictors,
    grouped_folds,
    ranking_metrics,
    seed_noise_ceiling,
)
from nasbench_suite.surrogates.fitting import cross_validate, fit_surrogate
from nasbench_suite.surrogates.predictors.base import PredictorError
from nasbench_suite.surrogates.predictors.xgb import top_weights
from nasbench_suite.tabular import write_table
from nasbench_suite.testing.toy import ToyChainSpace
from tests.support import synthetic_table

NB201 = spaces.get("nb201")
NB101 = spaces.get("nb101")


def equivalent_pair() -> tuple[str, str]:
    """Two NB201 strings of one class (``canonical_key``) whose encodings differ as spelt: node 1
    is a skip of the input, so the ops on 0->3 and 1->3 can trade places."""
    a = NB201.format(("skip_connect", "none", "none", "nor_conv_3x3", "nor_conv_1x1", "none"))
    b = NB201.format(("skip_connect", "none", "none", "nor_conv_1x1", "nor_conv_3x3", "none"))
    assert NB201.canonical_key(a) == NB201.canonical_key(b)
    kind = "onehot+path+features+path_stats"
    assert not np.array_equal(encodings.encode(NB201, [a], kind), encodings.encode(NB201, [b], kind))
    return a, b


# --- representatives ------------------------------------------------------------------------


def test_nb201_representative_is_one_member_per_class():
    reps: dict[str, tuple[str, ...]] = {}
    for arch in NB201.enumerate():
        rep = NB201.canonical(arch)
        assert NB201.canonical_key(rep) == NB201.canonical_key(arch)
        assert reps.setdefault(NB201.canonical_key(arch), rep) == rep
        assert NB201.canonical(rep) == rep
    assert len(reps) == 6466
    a, b = equivalent_pair()
    assert NB201.canonical(a) == NB201.canonical(b)


def test_nb101_representative_is_shared_by_isomorphic_cells():
    rng = np.random.default_rng(0)
    for _ in range(30):
        cell = NB101.prune(NB101.sample(rng))
        n = cell.n_nodes
        for inner in itertools.permutations(range(1, n - 1)):
            order = (0, *inner, n - 1)
            if any(cell.matrix[order[i]][order[j]] for i in range(n) for j in range(i)):
                continue
            relabelled = {
                "matrix": [[cell.matrix[i][j] for j in order] for i in order],
                "ops": [cell.ops[i] for i in order],
            }
            assert NB101.canonical(relabelled) == NB101.canonical(cell)
        assert NB101.key(NB101.canonical(cell)) == NB101.key(cell)


def test_chain_spaces_are_their_own_representatives():
    chain = ToyChainSpace()
    assert all(chain.canonical(a) == a for a in chain.enumerate())


def test_predictors_give_equivalent_strings_identical_predictions():
    a, b = equivalent_pair()
    rng = np.random.default_rng(0)
    archs = [NB201.sample(rng) for _ in range(200)]
    y = rng.uniform(60, 90, len(archs))
    for name, params in (("xgb", {"n_estimators": 20}), ("rf", {"n_estimators": 10})):
        model = predictors.get(name, NB201, **params).fit(archs, y)
        pa, pb = model.predict([a]), model.predict([b])
        assert pa.tobytes() == pb.tobytes(), name


@pytest.fixture(scope="module")
def nb201():
    return open_benchmark("nb201")


def test_shipped_surrogate_answers_equivalent_strings_identically(nb201):
    a, b = equivalent_pair()
    for dataset in nb201.datasets:
        for seed in ("mean", nb201.seeds(dataset)[0]):
            rows = nb201.query_batch([a, b], dataset, seed)
            numbers = rows.select_dtypes("number").to_numpy()
            assert numbers[0].tobytes() == numbers[1].tobytes(), (dataset, seed)
        ra, rb = nb201.query(a, dataset, "mean"), nb201.query(b, dataset, "mean")
        assert ra.metrics == rb.metrics and ra.cost_s == rb.cost_s


# --- splits grouped by class ------------------------------------------------------------------


class Recorder:
    """A predictor that remembers what it was fitted on and asked about (and predicts a constant
    plus the first op's code, so that metrics are defined)."""

    log: ClassVar[list[tuple[list[str], list[str]]]] = []

    def __init__(self, space, seed):
        self.space, self.train = space, []

    def fit(self, archs, y):
        self.train = [self.space.canonical_key(a) for a in archs]
        return self

    def predict(self, archs):
        Recorder.log.append((self.train, [self.space.canonical_key(a) for a in archs]))
        return np.array([self.space.to_codes(a)[0] for a in archs], dtype=float)


def nb201_classes_sample(n_classes: int = 60) -> list[str]:
    """Every member of ``n_classes`` NB201 classes (many with several members)."""
    members: dict[str, list[str]] = {}
    for arch in NB201.enumerate():
        members.setdefault(NB201.canonical_key(arch), []).append(NB201.format(arch))
    big = sorted((k for k, v in members.items() if 2 <= len(v) <= 30), key=lambda k: (-len(members[k]), k))
    return [a for k in big[:n_classes] for a in members[k]]


def test_harness_test_sets_share_no_class_with_training():
    archs = nb201_classes_sample()
    y = np.random.default_rng(0).uniform(60, 90, len(archs))
    Recorder.log = []
    result = evaluate_predictors(NB201, archs, y, {"rec": Recorder}, train_sizes=[20, 100], trials=3)
    assert len(Recorder.log) == 6
    for train, test in Recorder.log:
        assert test and not set(train) & set(test)
    assert result.settings["split"].startswith("grouped by equivalence class")
    assert result.settings["n_classes"] == len({NB201.canonical_key(a) for a in archs})
    # the test set is every architecture of the classes not trained on, no fewer
    for (train, test), size in zip(Recorder.log, [20, 100] * 3, strict=True):
        assert len(train) == size
        assert len(test) == sum(NB201.canonical_key(a) not in set(train) for a in archs)


def test_surrogate_folds_never_split_a_class():
    archs = nb201_classes_sample()
    groups = class_ids(NB201, archs)
    folds = grouped_folds(groups, 5, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(archs)))
    owner = {}
    for k, fold in enumerate(folds):
        for g in groups[fold]:
            assert owner.setdefault(int(g), k) == k
    Recorder.log = []
    y = np.random.default_rng(1).uniform(60, 90, len(archs))
    figures, held_out = cross_validate(archs, y, lambda s: Recorder(NB201, s), 5, 0, groups)
    assert figures["split"].startswith("grouped") and held_out.shape == y.shape
    assert all(not set(train) & set(test) for train, test in Recorder.log)
    with pytest.raises(EvaluationError, match="5 folds need 5 equivalence classes"):
        grouped_folds(np.zeros(10, dtype=int), 5, seed=0)


# --- fidelity at the top -------------------------------------------------------------------------


def test_top_recall_and_regret_of_the_predicted_best():
    y = np.arange(200, dtype=float)
    perfect = ranking_metrics(y, y)
    assert perfect["precision_top1pct"] == 1 and perfect["regret_best"] == 0
    # the model ranks the third best first, and keeps one of the true top 2 in its top 2
    guess = y.copy()
    guess[197] = 1000
    m = ranking_metrics(y, guess)
    assert m["regret_best"] == 2 and m["precision_top1pct"] == 0.5
    assert ranking_metrics(y, -y)["regret_best"] == 199


def test_ceiling_reports_one_seed_at_the_top():
    rng = np.random.default_rng(0)
    truth = rng.uniform(50, 90, 2000)
    per_seed = truth[:, None] + rng.normal(0, 0.5, (2000, 3))
    ceiling = seed_noise_ceiling(per_seed, np.ones_like(per_seed, dtype=bool))
    assert 0 < ceiling["precision_top1pct_seed_vs_rest"] < 1
    assert ceiling["precision_top5pct_seed_vs_rest"] > ceiling["precision_top1pct_seed_vs_rest"]
    assert 0 <= ceiling["regret_best_seed_vs_rest"] < 2


def test_top_weights_rank_the_top_heaviest():
    y = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    assert top_weights(y, {"top_weight": 0.0}) is None
    w = top_weights(y, {"top_weight": 9.0, "top_power": 1.0})
    np.testing.assert_allclose(w, [1 + 9 * 0.5, 1, 1 + 9 * 0.25, 10, 1 + 9 * 0.75])
    archs = list(itertools.islice(ToyChainSpace().enumerate(), 40))
    target = np.linspace(50, 90, 40)
    with pytest.raises(PredictorError, match="top_weight and top_power must be >= 0"):
        predictors.get("xgb", ToyChainSpace(), top_weight=-1).fit(archs, target)
    plain = predictors.get("xgb", ToyChainSpace(), n_estimators=20).fit(archs, target).predict(archs)
    weighted = predictors.get("xgb", ToyChainSpace(), n_estimators=20, top_weight=20).fit(archs, target)
    assert not np.array_equal(plain, weighted.predict(archs))


def bench_truth(table_path, keys):
    """Per-seed ``valid_acc`` rows of ``keys`` in a table (NaN where a run is missing)."""
    from nasbench_suite.tabular import Table

    with Table(table_path) as t:
        per_seed = t.metric("toy", "valid_acc", "per_seed")
        return [per_seed[t.row_of[k]] for k in keys]


def test_fit_records_the_top_and_the_card_shows_it(tmp_path):
    write_table(tmp_path / "toy.h5", synthetic_table(n_archs=81, missing_fraction=0.0))
    out = fit_surrogate(tmp_path / "toy.h5", tmp_path / "toy", params={"n_estimators": 20, "top_weight": 4},
                        cost_params={"max_depth": 3}, cv_folds=3)  # fmt: skip
    targets = artefact.read_manifest(out)["datasets"]["toy"]["targets"]
    acc = targets["valid_acc"]
    assert {"regret_best", "precision_top1pct"} <= set(acc["evaluation"]) and acc["evaluation"]["folds"] == 3
    assert set(acc["fitted"]) >= {"kendall_tau", "regret_best", "precision_top5pct"}
    assert "regret_best_seed_vs_rest" in acc["ceiling"]
    # the cost model is not weighted towards long runs, and has no "top" figures
    cost = targets["train_time_s"]
    assert cost["model"]["spec"]["params"]["top_weight"] == 0 and "fitted" not in cost
    assert (
        cost["model"]["spec"]["params"]["max_depth"] == 3
        and cost["model"]["spec"]["params"]["n_estimators"] == 20
    )
    assert (
        acc["model"]["spec"]["params"]["top_weight"] == 4 and acc["model"]["spec"]["params"]["max_depth"] == 6
    )
    # what the benchmark's "mean" policy answers (the fit plus roughness) is scored as well
    bench = open_benchmark(out)
    keys = bench.reference_archs("toy")
    answers = bench.query_batch(keys, "toy", "mean")["valid_acc"].to_numpy()
    truth = np.array([np.nanmean(r) for r in bench_truth(tmp_path / "toy.h5", keys)])
    assert acc["answers"] == pytest.approx(ranking_metrics(truth, answers))
    card = model_card_markdown(out)
    section = card.split("## At the top of the ranking")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| toy |")]
    assert len(rows) == 1 and rows[0].startswith("| toy | valid_acc |")  # accuracy only, not the cost
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert len(cells) == 12 and all(c != "n/a" for c in cells)
