"""Surrogate artefacts: bit-exact round trips, tampering and manifest mismatches, the fit CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite import open_benchmark
from nasbench_suite.bench.surrogate import SurrogateBenchmark
from nasbench_suite.cli import main
from nasbench_suite.errors import SurrogateArtefactError, TableNotFoundError
from nasbench_suite.surrogates import artefact, predictors
from nasbench_suite.surrogates.card import CARD
from nasbench_suite.surrogates.fitting import fit_surrogate
from nasbench_suite.tabular import write_table
from tests.hostile_support import edit_manifest
from tests.support import synthetic_table

SMALL = {"n_estimators": 20}


@pytest.fixture(scope="module")
def toy_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("surrogate-table") / "toy.h5"
    write_table(path, synthetic_table(n_archs=81, missing_fraction=0.1))
    return path


@pytest.fixture(scope="module")
def toy_artefact(toy_table, tmp_path_factory):
    out = tmp_path_factory.mktemp("surrogate-artefact") / "toy"
    return fit_surrogate(toy_table, out, params=SMALL, cv_folds=2, description="toy")


@pytest.fixture
def copy(toy_artefact, tmp_path):
    """A private copy of the toy artefact to damage."""
    target = tmp_path / "toy"
    shutil.copytree(toy_artefact, target)
    return target


# --- round trip ------------------------------------------------------------------------


def test_predictor_round_trip_is_bit_exact(toy_table, tmp_path):
    from nasbench_suite import spaces
    from nasbench_suite.tabular import Table

    with Table(toy_table) as t:
        space = spaces.get(t.space, **t.space_config)
        keys = t.keys
        y = np.nanmean(t.metric("toy", "valid_acc", "per_seed"), axis=1)
    model = predictors.get("xgb", space, seed=3, **SMALL).fit(keys, y)
    entry = artefact.save_predictor(model, tmp_path, "a")
    loaded = artefact.load_predictor(space, tmp_path, json.loads(json.dumps(entry)))
    assert np.array_equal(loaded.predict(keys), model.predict(keys))
    again = artefact.save_predictor(loaded, tmp_path, "b")
    assert (tmp_path / "a/model.ubj").read_bytes() == (tmp_path / "b/model.ubj").read_bytes()
    assert list(again["checksums"].values()) == list(entry["checksums"].values())


def test_artefact_answers_what_the_fitted_models_predict(toy_table, copy):
    from nasbench_suite import spaces
    from nasbench_suite.surrogates.noise import seed_stats
    from nasbench_suite.tabular import Table

    with Table(toy_table) as t:
        space = spaces.get(t.space, **t.space_config)
        keys = t.keys
        mean, _, _ = seed_stats(t.metric("toy", "valid_acc", "per_seed"), t.present("toy"))
    direct = predictors.get("xgb", space, seed=0, **SMALL).fit(keys, mean).predict(keys)
    rough = open_benchmark(copy).query_batch(keys, "toy", "mean")
    # An artefact without roughness (older ones) serves the model's predictions as they are.
    edit_manifest(copy, lambda m: m["datasets"]["toy"].pop("roughness"))
    smooth = open_benchmark(copy).query_batch(keys, "toy", "mean")
    assert np.array_equal(smooth["valid_acc"].to_numpy(), direct)
    assert np.array_equal(rough["cost_s"].to_numpy(), smooth["cost_s"].to_numpy())


def test_roughness_is_one_fixed_draw_per_architecture(toy_artefact):
    from nasbench_suite.surrogates.noise import SeedNoiseModel

    entry = artefact.read_manifest(toy_artefact)["datasets"]["toy"]
    rough, noise = (SeedNoiseModel.from_json(entry[k]) for k in ("roughness", "noise"))
    assert np.any(rough.stds > 0)
    bench, again = open_benchmark(toy_artefact), open_benchmark(toy_artefact)
    keys = bench.reference_archs("toy")
    smooth = np.asarray(bench._dataset("toy").models["valid_acc"].predict(keys))
    expected = rough.sample(smooth, bench._dataset("toy").draws(keys, "roughness"))
    mean = bench.query_batch(keys, "toy", "mean")["valid_acc"].to_numpy()
    assert np.array_equal(mean, expected)
    assert np.array_equal(again.query_batch(keys[::-1], "toy", "mean")["valid_acc"].to_numpy(), mean[::-1])
    # the per-seed noise comes on top of the rough mean, for stored seeds and sampled ones
    seeded = bench.query_batch(keys, "toy", 1)["valid_acc"].to_numpy()
    assert np.array_equal(seeded, noise.sample(mean, bench._dataset("toy").draws(keys, 1)))
    z = np.random.default_rng(3).standard_normal(len(keys))
    sampled = bench.query_batch(keys, "toy", "sample", rng=np.random.default_rng(3))["valid_acc"]
    assert np.array_equal(sampled.to_numpy(), noise.sample(mean, z))


def test_fit_roughness_leaves_out_the_seed_noise_of_the_mean():
    from nasbench_suite.surrogates.noise import fit_roughness

    rng = np.random.default_rng(0)
    fitted = np.linspace(50, 90, 20_000)
    value = fitted + rng.normal(0, 0.5, fitted.size) + rng.normal(0, 0.3, fitted.size)
    model = fit_roughness(value, fitted, np.full(fitted.size, 0.09), n_bins=4)
    assert model.stds == pytest.approx([0.5] * 4, abs=0.02)
    assert np.all(fit_roughness(value, fitted, np.full(fitted.size, 1.0)).stds == 0)
    assert fit_roughness(value[:10], fitted[:10]) is None


def test_roughness_adds_only_what_the_shipped_fit_lacks():
    """A fit that reproduces 60 % of the roughness's variance gets draws for the other 40 %, and
    its answers then spread around the held-out fit as the table does (roughness_check)."""
    from nasbench_suite.surrogates.noise import fit_roughness, roughness_check

    rng = np.random.default_rng(1)
    held_out = np.linspace(50, 90, 40_000)
    rough = rng.normal(0, 0.5, held_out.size)
    seed_noise = rng.normal(0, 0.3, held_out.size)
    value = held_out + rough + seed_noise
    part = np.sqrt(0.6) * rough + np.sqrt(0.4) * rng.normal(0, 0.5, held_out.size)
    in_sample = held_out + np.sqrt(0.6) * part  # variance 0.6 * 0.25 around the held-out fit
    model = fit_roughness(value, held_out, np.full(held_out.size, 0.09), in_sample=in_sample, n_bins=4)
    assert model.stds == pytest.approx([np.sqrt(0.4 * 0.25)] * 4, abs=0.02)
    answers = model.sample(in_sample, rng.standard_normal(held_out.size))
    check = roughness_check(value, held_out, np.full(held_out.size, 0.09), in_sample, answers)
    assert check["table"] == pytest.approx(0.5, abs=0.02)
    assert check["answers"] == pytest.approx(check["table"], abs=0.02)
    assert check["fitted"] == pytest.approx(np.sqrt(0.6) * 0.5, abs=0.02)
    assert check["top_answers"] == pytest.approx(check["top_table"], abs=0.05)
    # A fit that already spreads as much as the table gets no draw at all.
    assert np.all(fit_roughness(value, held_out, np.full(held_out.size, 0.09), in_sample=value).stds == 0)


def test_malformed_roughness_is_an_artefact_error(copy):
    edit_manifest(copy, lambda m: m["datasets"]["toy"]["roughness"].update(stds=[-1.0]))
    with pytest.raises(SurrogateArtefactError, match=r"toy\.roughness\.stds\[0\]: -1.0 is outside"):
        open_benchmark(copy).query("0-0-0-0", "toy")


def test_manifest_records_what_was_fitted(toy_artefact, toy_table):
    m = artefact.read_manifest(toy_artefact)
    assert m["format"] == artefact.FORMAT and m["format_version"] == artefact.FORMAT_VERSION
    assert m["space"] == "test-chain" and m["model"]["name"] == "xgb" and m["encoding"]
    assert m["training_table"]["path"] == str(toy_table) and len(m["training_table"]["checksum"]) == 32
    assert {"numpy", "xgboost", "scikit-learn"} <= set(m["libraries"]) and "torch" not in m["libraries"]
    toy = m["datasets"]["toy"]
    assert toy["seeds"] == [0, 1, 2] and toy["metric"] == "valid_acc"
    assert toy["targets"]["train_time_s"]["transform"] == "log"
    assert toy["targets"]["valid_acc"]["evaluation"]["folds"] == 2
    assert toy["noise"]["kind"] == "binned-std" and toy["noise_check"]["n_archs"] > 10
    assert toy["roughness"]["kind"] == "binned-std"
    for target in toy["targets"].values():
        for relative, checksum in target["model"]["checksums"].items():
            assert artefact.file_checksum(toy_artefact / relative) == checksum
    assert not list(toy_artefact.rglob("*.pkl")) and not list(toy_artefact.rglob("*.pickle"))


def test_fit_refuses_to_overwrite_and_leaves_no_staging(toy_table, toy_artefact):
    with pytest.raises(SurrogateArtefactError, match="exists"):
        fit_surrogate(toy_table, toy_artefact, params=SMALL, cv_folds=0)
    assert [p.name for p in toy_artefact.parent.iterdir()] == ["toy"]


# --- tampering and mismatches -------------------------------------------------------------


def test_tampered_model_file_is_named(copy):
    model = copy / "toy" / "valid_acc" / "model.ubj"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    bench = open_benchmark(copy)  # the manifest is fine; models are checked when first used
    with pytest.raises(SurrogateArtefactError, match=r"model\.ubj.*does not match its manifest checksum"):
        bench.query("0-0-0-0", "toy")


def test_missing_model_file_is_named(copy):
    (copy / "toy" / "train_time_s" / "model.ubj").unlink()
    with pytest.raises(SurrogateArtefactError, match=r"train_time_s/model\.ubj: model file .* missing"):
        open_benchmark(copy).query("0-0-0-0", "toy")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(format_version=99), "format version 99 is not the supported version 1"),
        (lambda m: m.update(format="something-else"), "format is 'something-else'"),
        (lambda m: m.update(space="no-such-space"), "search space 'no-such-space' is not registered"),
        (lambda m: m.pop("datasets"), "manifest: lacks the field .datasets."),
    ],
)
def test_manifest_mismatch_says_what_differs(copy, change, message):
    edit_manifest(copy, change)
    with pytest.raises(SurrogateArtefactError, match=message):
        open_benchmark(copy)


def test_unreadable_manifest_and_not_an_artefact(copy, tmp_path):
    (copy / artefact.MANIFEST).write_text("{not json")
    with pytest.raises(SurrogateArtefactError, match="not valid JSON"):
        SurrogateBenchmark(copy)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SurrogateArtefactError, match=r"no manifest\.json"):
        open_benchmark(empty)
    with pytest.raises(TableNotFoundError):
        open_benchmark(tmp_path / "absent.h5")


def test_malformed_noise_model_is_an_artefact_error(copy):
    edit_manifest(copy, lambda m: m["datasets"]["toy"]["noise"].update(kind="gp"))
    with pytest.raises(SurrogateArtefactError, match=r"toy\.noise\.kind: .gp. is not one of binned-std"):
        open_benchmark(copy).query("0-0-0-0", "toy")


def test_model_the_code_can_no_longer_feed_is_an_artefact_error(copy):
    # what a change of an encoding's columns after fitting looks like to the loader
    spec = ["datasets", "toy", "targets", "valid_acc", "model", "spec", "params"]

    def change(m):
        node = m
        for key in spec:
            node = node[key]
        # the toy chain's models are fitted on one-hot (its default): more columns than they know
        assert node["encoding"] == "onehot"
        node["encoding"] = "onehot+features"

    edit_manifest(copy, change)
    with pytest.raises(SurrogateArtefactError, match=r"cannot predict with this version.*refit it"):
        open_benchmark(copy).query("0-0-0-0", "toy")


def test_other_major_library_version_warns(copy):
    edit_manifest(copy, lambda m: m["libraries"].update(xgboost="1.7.6"))
    with pytest.warns(artefact.SurrogateVersionWarning, match="saved with xgboost 1.7.6"):
        bench = open_benchmark(copy)
    assert np.isfinite(bench.query("0-0-0-0", "toy").metrics["valid_acc"])


def test_space_check_names_both_spaces(toy_artefact):
    from nasbench_suite import spaces

    m = artefact.read_manifest(toy_artefact)
    with pytest.raises(SurrogateArtefactError, match=r"fitted for space 'test-chain'.* not 'nb201'"):
        artefact.check_space(toy_artefact, m, spaces.get("nb201"))


# --- shipped artefacts -----------------------------------------------------------------------


def test_missing_shipped_artefact_names_the_path(tmp_path, monkeypatch):
    monkeypatch.setattr(artefact, "shipped_root", lambda: tmp_path / "surrogates")
    with pytest.raises(
        SurrogateArtefactError, match=r"surrogates/nb201: the shipped surrogate 'nb201' is missing"
    ):
        open_benchmark("nb201")


def test_shipped_nb201_artefact_is_intact():
    root = artefact.shipped_root() / "nb201"
    m = artefact.read_manifest(root)
    assert sorted(m["datasets"]) == ["ImageNet16-120", "cifar10-valid", "cifar100"]
    for entry in m["datasets"].values():
        assert entry["noise"] is not None
        for target in entry["targets"].values():
            artefact.verify_files(root, target["model"]["checksums"])
    assert (root / CARD).is_file()
    assert artefact.shipped_names() == ["nb201", "nb201-cpu-lc"]  # the second: the project table's curves
    # 10.7 MB since the refit with depth-8 accuracy trees (8.9 MB before); a wheel carries it
    assert artefact_size_mb(root) < 12


def artefact_size_mb(root):
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6


# --- CLI (the agreement check: tests/test_checks_agreement.py) -------------------------------


def test_fit_cli_writes_artefact_and_card(toy_table, tmp_path, capsys):
    out = tmp_path / "cli-art"
    args = [
        "surrogate",
        "fit",
        str(toy_table),
        "-o",
        str(out),
        "--param",
        "n_estimators=10",
        "--cv-folds",
        "2",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "toy: train_time_s: tau" in printed and f"wrote {out}" in printed
    assert (out / CARD).is_file() and (out / artefact.MANIFEST).is_file()
    assert artefact.read_manifest(out)["model"]["params"] == {"n_estimators": 10}
    assert main(args) == 2
    assert "exists; pass overwrite=True (--force)" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "nope"], "unknown predictor 'nope'"),
        (["--cv-folds", "1"], "--cv-folds must be 0"),
        (["--param", "n_estimators"], "expected NAME=VALUE"),
        (["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    ],
)
def test_fit_cli_bad_input_is_one_line(toy_table, tmp_path, capsys, extra, message):
    assert main(["surrogate", "fit", str(toy_table), "-o", str(tmp_path / "x"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_card_cli_rewrites_card_of_an_artefact(copy, capsys):
    (copy / CARD).unlink(missing_ok=True)
    assert main(["surrogate", "card", str(copy)]) == 0
    assert (copy / CARD).read_text().startswith("# Model card: surrogate benchmark `toy`")
    assert main(["surrogate", "card", str(copy.parent / "nothing")]) == 2
    assert "not a surrogate artefact" in capsys.readouterr().err


def test_info_describes_a_surrogate_folder_and_the_shipped_name(copy, capsys):
    assert main(["info", str(copy), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "surrogate" and info["space"] == "test-chain"
    assert info["manifest_checksum"] == artefact.file_checksum(copy / artefact.MANIFEST)
    toy = info["datasets"]["toy"]
    assert toy["fidelity"].startswith("final results only") and "train_time_s" in toy["targets"]
    assert main(["info", str(copy)]) == 0
    text = capsys.readouterr().out
    assert "surrogate" in text and "checksum" in text and "is a directory" not in text
    assert main(["info", "nb201", "--json"]) == 0
    assert sorted(json.loads(capsys.readouterr().out)["datasets"]) == [
        "ImageNet16-120",
        "cifar10-valid",
        "cifar100",
    ]


def test_query_opens_the_shipped_benchmark_by_name(capsys):
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert main(["query", "nb201", "--dataset", "cifar10-valid", "--arch", arch, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["valid_acc"] > 80
    assert open_benchmark(Path("nb201")).identity()["kind"] == "surrogate"


def test_the_card_of_a_users_artefact_opens_it_by_its_path(copy, monkeypatch):
    from nasbench_suite.surrogates.card import model_card_markdown

    assert f'open_benchmark("path/to/{copy.name}")' in model_card_markdown(copy)
    monkeypatch.chdir(copy.parent)
    assert f'open_benchmark("{copy.name}")' in model_card_markdown(Path(copy.name))
    shipped = model_card_markdown(artefact.shipped_root() / "nb201")
    assert 'open_benchmark("nb201")' in shipped
