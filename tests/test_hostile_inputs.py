"""Regression tests of issue 17's readers: each hostile file of the report gives a named error
(one line and exit 2 from the CLI; ``verify`` reports it), within bounded memory and time.

Cases that hung or exhausted memory before run in a forked child under RLIMIT_AS and a time
bound (tests/hostile_support.py), so the old behaviour fails the test instead of the suite.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

from nasbench_suite import importers, open_benchmark
from nasbench_suite.cli import main
from nasbench_suite.errors import ImportSourceError, NasbenchError, SurrogateArtefactError
from nasbench_suite.safe_pickle import loads_arrays
from nasbench_suite.surrogates import artefact
from nasbench_suite.tabular import Table, read_table, verify_table, write_table
from tests import hostile_support as hs
from tests.support import synthetic_table

# --- NATS-Bench pickles ---------------------------------------------------------------


def _import_nats(folder):
    return importers.import_table("nats-tss", folder)


def test_nats_valid_record_imports(tmp_path):
    data = _import_nats(hs.write_nats_folder(tmp_path / "n", hs.pbz2(hs.nats_record())))
    assert data.datasets["cifar10"].curves["train_acc"].shape == (1, 1, 3)


def test_nats_concatenated_bz2_streams_are_bounded(tmp_path):
    folder = hs.write_nats_folder(tmp_path / "n", hs.bz2_bomb(16 << 20, streams=160))  # 2.5 GiB
    outcome = hs.run_isolated(_import_nats, folder, seconds=60)
    assert outcome[0] == "named" and "limit" in outcome[1], outcome


def test_nats_declared_epochs_must_be_backed_by_values(tmp_path):
    record = hs.nats_record()
    record["200"]["all_results"][("cifar10", 777)]["epochs"] = 10**9
    outcome = hs.run_isolated(_import_nats, hs.write_nats_folder(tmp_path / "n", hs.pbz2(record)))
    assert outcome[0] == "named" and "declares 1000000000 epochs" in outcome[1], outcome


def test_nats_nested_tuple_key_is_refused_before_hashing(tmp_path):
    import bz2

    folder = hs.write_nats_folder(tmp_path / "n", bz2.compress(hs.dag_pickle(64)))
    outcome = hs.run_isolated(_import_nats, folder, seconds=30)
    assert outcome[0] == "named" and "tuple of more than" in outcome[1], outcome


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r["200"]["all_results"].update({("cifar10", 2**70): {}}), id="seed-2**70"),
        pytest.param(lambda r: r.update({12: r["200"]}), id="mixed-budget-keys"),
        pytest.param(
            lambda r: r["200"]["all_results"][("cifar10", 777)]["train_acc1es"].update({"-5": 1.0}),
            id="epoch-key--5",
        ),
        pytest.param(
            lambda r: r["200"]["all_results"][("cifar10", 777)].update(
                params=hs.crafted_scalar("f8", b"\0" * 8, 0x3F)
            ),
            id="crafted-dtype-flags",  # the flags are dropped: a plain float64 (the old code crashed)
        ),
        pytest.param(
            lambda r: r["200"]["all_results"][("cifar10", 777)].update(
                params=hs.crafted_scalar("O", b"\0" * 8)
            ),
            id="object-dtype",
        ),
        pytest.param(
            lambda r: r["200"]["all_results"][("cifar10", 777)].update(epochs=True), id="epochs-true"
        ),
    ],
)
def test_nats_hostile_records_are_named_errors(tmp_path, change, request):
    record = hs.nats_record()
    change(record)
    train = record["200"]["all_results"][("cifar10", 777)]["train_acc1es"]
    train.pop(-5, None)
    outcome = hs.run_isolated(_import_nats, hs.write_nats_folder(tmp_path / "n", hs.pbz2(record)))
    expected = ("ok", "named") if "crafted-dtype-flags" in request.node.name else ("named",)
    assert outcome[0] in expected, outcome


def test_nats_epoch_key_minus_5_does_not_overwrite_epoch_196(tmp_path):
    record = hs.nats_record(epochs=200)
    record["200"]["all_results"][("cifar10", 777)]["train_acc1es"]["-5"] = 0.0
    folder = hs.write_nats_folder(tmp_path / "n", hs.pbz2(record))
    with pytest.raises(ImportSourceError, match="epoch key '-5' is not a 0-based epoch number"):
        _import_nats(folder)


# --- CIFAR batches --------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        hs.crafted_array((10**9,), "u1", b"\0" * 16),
        hs.crafted_array((2,), "O", [1, 2]),
        hs.crafted_array("x", "u1", b""),
        hs.crafted_array((2**62, 2**62), "f8", b""),
    ],
)
def test_cifar_crafted_arrays_are_refused(array):
    data = pickle.dumps({b"data": array, b"labels": [0]}, protocol=3)
    outcome = hs.run_isolated(loads_arrays, data)
    assert outcome[0] == "named", outcome


def test_cifar_array_dtype_flags_are_dropped():
    array = hs.crafted_array((2,), "u1", b"\1\2", flags=0x3F)
    loaded = loads_arrays(pickle.dumps({b"data": array}, protocol=3))
    assert loaded[b"data"].tolist() == [1, 2] and not loaded[b"data"].dtype.hasobject


def test_cifar_batch_of_wrong_shape_is_a_named_error(tmp_path):
    from nasbench_suite.train.cifar import load_cifar

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batch = {b"data": np.zeros((2, 5), dtype=np.uint8), b"labels": [0, 11]}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps(batch, protocol=3))
    with pytest.raises(NasbenchError, match="not an \\(N, 3072\\) uint8 array"):
        load_cifar(folder, "cifar10")


# --- CSV / Parquet --------------------------------------------------------------------

ARCH = hs.NATS_ARCH


def _csv(tmp_path, rows, columns=("arch", "dataset", "seed", "valid_acc")):
    path = tmp_path / "t.csv"
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("seed", ["1e30", str(2**63), "inf", "-inf"])
def test_csv_seeds_out_of_range_are_named_errors(tmp_path, seed):
    path = tmp_path / "t.csv"
    path.write_text(f"arch,dataset,seed,valid_acc\n{ARCH},c10,{seed},90\n")
    with pytest.raises(ImportSourceError, match="'seed' must be an integer in"):
        importers.import_table("csv", path, space="nb201")


def test_csv_nul_and_empty_dataset_names_are_refused(tmp_path):
    for name in ["a\x00b", ""]:
        path = _csv(tmp_path, [(ARCH, "c10", 0, 90.0), (ARCH, name, 1, 91.0)])
        with pytest.raises(ImportSourceError, match="'dataset' is empty or not a name"):
            importers.import_table("csv", path, space="nb201")


def test_csv_metric_named_row_keeps_its_values(tmp_path):
    path = _csv(tmp_path, [(ARCH, "c10", 0, 90.0, 7.5)], ("arch", "dataset", "seed", "valid_acc", "_row"))
    data = importers.import_table("csv", path, space="nb201")
    assert data.datasets["c10"].per_seed["_row"].tolist() == [[7.5]]


def test_csv_infinite_metric_is_refused(tmp_path):
    path = _csv(tmp_path, [(ARCH, "c10", 0, float("inf"))])
    with pytest.raises(ImportSourceError, match="'valid_acc' is infinite"):
        importers.import_table("csv", path, space="nb201")


def test_query_json_prints_null_for_an_infinite_stored_value(tmp_path, capsys):
    path = tmp_path / "t.h5"
    data = synthetic_table()
    data.datasets["toy"].per_seed["valid_acc"][0, 0] = np.inf
    write_table(path, data)
    assert (
        main(["query", str(path), "--dataset", "toy", "--arch", data.keys[0], "--seed", "0", "--json"]) == 0
    )
    record = json.loads(capsys.readouterr().out)  # strict JSON: Infinity would not parse back as a float
    assert record["metrics"]["valid_acc"] is None


@pytest.mark.parametrize("seed_policy", ["mean", "sample", "0"])
def test_query_negative_rng_seed_is_one_line_exit_2(tmp_path, capsys, seed_policy):
    path = tmp_path / "t.h5"
    write_table(path, synthetic_table())
    argv = ["query", str(path), "--dataset", "toy", "--arch", synthetic_table().keys[0]]
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--seed", seed_policy, "--rng-seed", "-1"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rng-seed" in err


# --- crafted HDF5 tables with valid checksums -----------------------------------------


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.h5"
    write_table(path, synthetic_table(epochs=3))
    return path


def _craft(path, change):
    with h5py.File(path, "r+") as f:
        manifest = json.loads(f.attrs["manifest"])
        change(f, manifest)
        hs.sign_manifest(f, manifest)


def _read_everything(path):
    verify_table(path)
    data = read_table(path)
    bench = open_benchmark(path)
    bench.query(data.keys[0], dataset="toy", seed="mean")


_MANIFEST_CHANGES = {
    "metric-bytes": lambda f, m: hs.replace_array(
        f, "/datasets/toy/per_seed/valid_acc", m, np.full((20, 3), b"ab")
    ),
    "metric-compound": lambda f, m: hs.replace_array(
        f, "/datasets/toy/per_seed/valid_acc", m, np.zeros((20, 3), dtype=[("a", "f8"), ("b", "i4")])
    ),
    "float-keys": lambda f, m: _replace_keys(f, m, np.arange(20, dtype=np.float64)),
    "invalid-utf8-keys": lambda f, m: _replace_keys(f, m, np.array([b"\xff\xfe%d" % i for i in range(20)])),
    "archs-empty": lambda f, m: m.update(archs={}),
    "seeds-not-integers": lambda f, m: m["datasets"]["toy"].update(seeds=[0.5, 1, 2]),
    "n_archs-minus-1": lambda f, m: m.update(n_archs=-1),
    "n_archs-true": lambda f, m: m.update(n_archs=True),
    "nan-in-protocol": lambda f, m: m["datasets"]["toy"]["protocol"].update(epochs=float("nan")),
    "nan-in-n_missing": lambda f, m: m["static"]["latency_ms_cpu"].update(n_missing=float("nan")),
    "deep-manifest": lambda f, m: m["datasets"]["toy"]["provenance"].update(x=hs.DEEP),
    "format-version-text": lambda f, m: f.attrs.__setitem__("format_version", "one"),
    "format-version-float": lambda f, m: f.attrs.__setitem__("format_version", 1.5),
    "asks-for-119-GiB": lambda f, m: _huge(f, m),
}


def _replace_keys(f, manifest, keys):
    from nasbench_suite.tabular import layout

    del f["archs/key"]
    f.create_dataset("archs/key", data=keys)
    manifest["archs"]["key"] = layout.array_checksum(np.asarray(f["archs/key"][()]))


def _huge(f, manifest):
    n = 16 * 10**9 // 8  # one float64 column of 119 GiB over 8 seeds
    manifest["n_archs"] = n
    manifest["n_canonical"] = 1
    del f["static/latency_ms_cpu"]
    f.create_dataset("static/latency_ms_cpu", shape=(n,), dtype="f8", chunks=(1 << 20,))


@pytest.mark.parametrize("name", sorted(_MANIFEST_CHANGES))
def test_crafted_tables_with_valid_checksums_are_named_errors(table, name):
    _craft(table, _MANIFEST_CHANGES[name])
    outcome = hs.run_isolated(_read_everything, table, seconds=60)
    assert outcome[0] == "named", outcome
    assert hs.run_isolated(_assert_not_sound, table)[0] == "ok"


def _assert_not_sound(path):
    if not verify_table(path):
        raise AssertionError(f"verify calls {path} sound")


@pytest.mark.parametrize("kind", ["external-link", "external-storage", "virtual", "soft-link"])
@pytest.mark.parametrize("target", ["fifo", "passwd"])
def test_tables_that_are_not_self_contained_are_refused(table, tmp_path, kind, target):
    other = tmp_path / "fifo"
    if target == "fifo":
        os.mkfifo(other)
    else:
        other = "/etc/passwd"
    path = "/static/latency_ms_cpu"

    def change(f, m):
        del f[path]
        if kind == "external-link":
            f[path] = h5py.ExternalLink(str(other), "/x")
        elif kind == "soft-link":
            f[path] = h5py.SoftLink("/datasets/toy/per_arch/params_m")
        elif kind == "external-storage":
            f.create_dataset(path, shape=(20,), dtype="f8", external=[(str(other), 0, 160)])
        else:
            layout_ = h5py.VirtualLayout(shape=(20,), dtype="f8")
            layout_[:] = h5py.VirtualSource(str(other), "/x", shape=(20,))
            f.create_virtual_dataset(path, layout_)

    _craft(table, change)
    outcome = hs.run_isolated(_read_everything, table, seconds=30)
    assert outcome[0] == "named", outcome
    assert "self-contained" in outcome[1] or "soft link" in outcome[1], outcome
    assert hs.run_isolated(_assert_not_sound, table, seconds=30)[0] == "ok"


def test_verify_cli_reports_a_table_with_external_storage(table, capsys):
    _craft(table, lambda f, m: (f.__delitem__("/static/latency_ms_cpu"), f.create_dataset(
        "/static/latency_ms_cpu", shape=(20,), dtype="f8", external=[("/etc/passwd", 0, 160)])))  # fmt: skip
    assert main(["verify", str(table)]) == 1
    assert "external file" in capsys.readouterr().err


def test_a_fifo_given_as_the_table_is_refused(tmp_path):
    fifo = tmp_path / "t.h5"
    os.mkfifo(fifo)
    outcome = hs.run_isolated(Table, fifo, seconds=20)
    assert outcome[0] == "named" and "not a regular file" in outcome[1], outcome


# --- surrogate artefacts --------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_artefact(tmp_path_factory):
    return hs.fit_toy_artefact(tmp_path_factory, "hostile")


@pytest.fixture
def art(toy_artefact, tmp_path):
    target = tmp_path / "toy"
    shutil.copytree(toy_artefact, target)
    return target


_edit = hs.edit_manifest


def _query_artefact(root):
    bench = open_benchmark(root)
    for dataset in bench.datasets:
        bench.query(synthetic_table().keys[0], dataset=dataset, seed="mean")


def _target(m):
    return m["datasets"]["toy"]["targets"]["valid_acc"]


def test_an_edited_manifest_without_a_new_checksum_is_refused(art):
    _edit(art, lambda m: _target(m)["model"]["spec"]["state"]["scaler"].update(mean=1.0), sign=False)
    with pytest.raises(SurrogateArtefactError, match="does not match its checksum"):
        open_benchmark(art)


def _as(name, params, state):
    def change(m):
        spec = _target(m)["model"]["spec"]
        spec.update(name=name, params=params, state={**spec["state"], **state})

    return change


_MLP = {"encoding": "onehot", "hidden": [64], "epochs": 1, "batch_size": 1, "learning_rate": 0.1}
_MLP["alpha"] = 0.0
_ENSEMBLE = {"base": "xgb", "bootstrap": False}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_as("ensemble", {**_ENSEMBLE, "n_members": 10**9}, {"members": [{}]}), id="members"),
        pytest.param(_as("ensemble", {**_ENSEMBLE, "n_members": 900}, {"members": [{}]}), id="unlisted"),
        pytest.param(_as("mlp", {**_MLP, "n_nets": 10**8}, {"n_layers": 2}), id="mlp-nets"),
        pytest.param(_as("mlp", {**_MLP, "n_nets": 999}, {"n_layers": 2}), id="mlp-nets-unlisted"),
    ],
)
def test_sizes_in_the_manifest_are_bounded_before_allocation(art, change):
    _edit(art, change)
    outcome = hs.run_isolated(_query_artefact, art, seconds=60)
    assert outcome[0] == "named", outcome


def test_gin_width_is_bounded_by_its_file(art):
    pytest.importorskip("torch")
    model_dir = art / _target(json.loads((art / artefact.MANIFEST).read_text()))["model"]["directory"]
    (model_dir / "gin.pt").write_bytes(b"\0" * 100)

    def change(m):
        model = _target(m)["model"]
        model["spec"] = {"name": "gin", "seed": 0, "files": ["gin.pt"],
                         "params": {"hidden": 60_000, "n_layers": 60, "epochs": 1, "batch_size": 1,
                                    "learning_rate": 0.1, "weight_decay": 0.0, "n_threads": 1},
                         "state": {"scaler": {"mean": 0.0, "scale": 1.0}, "n_features": 7}}  # fmt: skip
        model["checksums"] = {f"{model['directory']}/gin.pt": artefact.file_checksum(model_dir / "gin.pt")}

    _edit(art, change)
    outcome = hs.run_isolated(_query_artefact, art, seconds=60)
    assert outcome[0] == "named" and "need at least" in outcome[1], outcome


_WRONG_TYPES = {
    "space": 5, "space_config": [], "datasets": [], "libraries": [1], "format_version": "1",
    "toy.seeds": "x", "toy.seeds.item": ["a"], "toy.metric": 5, "toy.targets": [], "toy.final_epoch": "x",
    "toy.noise": 5, "toy.noise.centres": "a", "toy.roughness.stds": [None], "toy.reference_archs": 5,
    "target.kind": 5, "target.transform": 1, "target.model": [], "target.model.checksums": [],
    "spec.seed": -1, "spec.files": "x", "spec.state.scaler.mean": "a", "spec.params.n_jobs": "2",
    "spec.state": None,
}  # fmt: skip


def _set_wrong(m, name, value):
    ds = m["datasets"]["toy"]
    field = name.rpartition(".")[2]
    if name.startswith("toy."):
        parts = name.split(".")[1:]
        if parts[-1] == "item":
            ds[parts[0]] = value
            return
        obj = ds
        for part in parts[:-1]:
            obj = obj[part] if isinstance(obj.get(part), dict) else obj.setdefault(part, {})
        obj[parts[-1]] = value
    elif name.startswith("target."):
        obj = _target(m)
        for part in name.split(".")[1:-1]:
            obj = obj[part]
        obj[field] = value
    elif name.startswith("spec."):
        obj = _target(m)["model"]["spec"]
        for part in name.split(".")[1:-1]:
            obj = obj[part]
        obj[field] = value
    else:
        m[name] = value


@pytest.mark.parametrize("name", sorted(_WRONG_TYPES))
def test_wrong_type_fields_are_named_errors(art, name):
    _edit(art, lambda m: _set_wrong(m, name, _WRONG_TYPES[name]))
    outcome = hs.run_isolated(_query_artefact, art, seconds=60)
    assert outcome[0] == "named", outcome


@pytest.mark.parametrize("directory", ["/etc", "../outside", "toy/../../outside", "link"])
def test_model_directories_outside_the_artefact_are_refused(art, tmp_path, directory):
    outside = tmp_path / "outside"
    shutil.copytree(art / "toy" / "valid_acc", outside)
    (art / "link").symlink_to(outside)

    def change(m):
        model = _target(m)["model"]
        files = model["spec"]["files"]
        model["directory"] = directory
        model["checksums"] = {f"{directory}/{f}": artefact.file_checksum(outside / f) for f in files}

    _edit(art, change)
    with pytest.raises(SurrogateArtefactError, match=r"leaves the artefact|does not have the expected form"):
        _query_artefact(art)


# --- found by the long fuzzing run --------------------------------------------------------


def test_a_non_text_format_attribute_is_a_named_error(table):
    _craft(table, lambda f, m: f.attrs.__setitem__("format", 1.5))
    outcome = hs.run_isolated(_read_everything, table)
    assert outcome[0] == "named" and "format is '1.5'" in outcome[1], outcome


@pytest.mark.parametrize("config", [{"length": "x"}, {"length": -1}, {"choices": 10**9}])
def test_a_space_config_the_space_refuses_is_a_named_error(art, config):
    _edit(art, lambda m: m.update(space_config=config))
    outcome = hs.run_isolated(_query_artefact, art)
    assert outcome[0] == "named" and "does not accept the config" in outcome[1], outcome
