"""The HDF5 table store: round trips, manifest, appends, schema errors, corruption."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from nasbench_suite.errors import (
    NotATableError,
    TableCorruptError,
    TableError,
    TableNotFoundError,
    TableSchemaError,
)
from nasbench_suite.tabular import (
    Table,
    TableDataError,
    TableMergeError,
    append_table,
    layout,
    read_table,
    verify_table,
    write_table,
)
from tests.support import synthetic_table


def assert_tables_equal(a, b) -> None:
    assert a.keys == b.keys
    assert a.space == b.space and a.space_config == b.space_config
    assert sorted(a.datasets) == sorted(b.datasets)
    for name in a.static:
        np.testing.assert_array_equal(a.static[name], b.static[name])
    for ds_name, da in a.datasets.items():
        db = b.datasets[ds_name]
        np.testing.assert_array_equal(da.seeds, db.seeds)
        np.testing.assert_array_equal(da.epochs, db.epochs)
        np.testing.assert_array_equal(da.present, db.present)
        for kind in ("per_seed", "curves", "per_arch"):
            assert sorted(getattr(da, kind)) == sorted(getattr(db, kind))
            for m, values in getattr(da, kind).items():
                np.testing.assert_array_equal(values, getattr(db, kind)[m])  # NaN == NaN here
        assert da.metrics == db.metrics
        assert da.protocol == db.protocol and da.provenance == db.provenance


@pytest.fixture
def table_path(tmp_path):
    path = tmp_path / "toy.h5"
    write_table(path, synthetic_table(n_archs=30, epochs=4))
    return path


def test_round_trip_is_exact(tmp_path):
    data = synthetic_table(n_archs=40, epochs=6, missing_fraction=0.4)
    write_table(tmp_path / "t.h5", data)
    assert_tables_equal(data, read_table(tmp_path / "t.h5"))
    assert verify_table(tmp_path / "t.h5") == []


def test_file_describes_itself(table_path):
    with h5py.File(table_path, "r") as f:
        assert f.attrs["format"] == layout.FORMAT_NAME
        assert f.attrs["format_version"] == layout.FORMAT_VERSION
        manifest = json.loads(f.attrs["manifest"])
        assert f["datasets/toy/per_seed/valid_acc"].attrs["unit"] == "%"
        missing = f["missing/datasets/toy/per_seed/valid_acc"][()]
        assert np.array_equal(missing, np.isnan(f["datasets/toy/per_seed/valid_acc"][()]))
    assert manifest["space"] == "test-chain"
    toy = manifest["datasets"]["toy"]
    assert toy["seeds"] == [0, 1, 2] and toy["epochs"] == [1, 2, 3, 4]
    assert toy["per_seed"]["train_time_s"]["unit"] == "s"
    assert toy["provenance"]["time_hardware"] == "none"
    assert toy["per_seed"]["valid_acc"]["n_missing"] == int(
        (~read_table(table_path).datasets["toy"].present).sum()
    )


def test_open_is_lazy(table_path):
    with Table(table_path) as table:
        assert table._cache == {}
        table.metric("toy", "valid_acc", "per_seed")
        assert list(table._cache) == ["/datasets/toy/per_seed/valid_acc"]


def test_append_adds_archs_seeds_and_metrics(table_path):
    before = read_table(table_path)
    append_table(table_path, synthetic_table(n_archs=5, offset=30, seeds=(1, 7), seed=9))
    after = read_table(table_path)
    assert after.keys[:30] == before.keys and len(after.keys) == 35
    ds = after.datasets["toy"]
    assert ds.seeds.tolist() == [0, 1, 2, 7]
    old_cols = [0, 1, 2]
    np.testing.assert_array_equal(
        ds.per_seed["valid_acc"][:30, old_cols], before.datasets["toy"].per_seed["valid_acc"]
    )
    assert not ds.present[:30, 3].any()
    assert np.isnan(ds.curves["valid_acc"][30:]).all()  # the new archs have no curves
    assert verify_table(table_path) == []


def test_append_refuses_duplicate_runs(table_path):
    dup = synthetic_table(n_archs=30, epochs=4)
    with pytest.raises(TableMergeError, match="already stored"):
        append_table(table_path, dup)
    assert read_table(table_path).keys == synthetic_table(n_archs=30).keys  # unchanged


def test_append_refuses_other_space_and_conflicting_values(table_path):
    other = synthetic_table(n_archs=2, offset=40)
    other.space_config = {"length": 4, "choices": 5}
    with pytest.raises(TableMergeError, match="cannot append"):
        append_table(table_path, other)
    conflicting = synthetic_table(n_archs=2, offset=0, seeds=(5,), seed=1)
    with pytest.raises(TableMergeError, match="'0-0-0-0': stored"):
        append_table(table_path, conflicting)


def test_write_refuses_to_overwrite_and_bad_data(tmp_path, table_path):
    with pytest.raises(TableError, match="file exists"):
        write_table(table_path, synthetic_table())
    bad = synthetic_table()
    bad.datasets["toy"].per_seed["valid_acc"] = bad.datasets["toy"].per_seed["valid_acc"][:5]
    with pytest.raises(TableDataError, match="valid_acc has shape"):
        write_table(tmp_path / "bad.h5", bad)
    dup = synthetic_table()
    dup.keys[1] = dup.keys[0]
    with pytest.raises(TableDataError, match="duplicate architecture key"):
        write_table(tmp_path / "dup.h5", dup)


def test_open_errors_name_the_problem(tmp_path, table_path):
    with pytest.raises(TableNotFoundError):
        Table(tmp_path / "absent.h5")
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(NotATableError, match="not an HDF5 file"):
        Table(text)
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f["x"] = [1, 2]
    with pytest.raises(NotATableError, match="'format' attribute"):
        Table(tmp_path / "plain.h5")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(table_path.read_bytes()[:2000])
    with pytest.raises(TableCorruptError):
        Table(truncated)
    with h5py.File(table_path, "r+") as f:
        f.attrs["format_version"] = layout.FORMAT_VERSION + 1
    with pytest.raises(TableSchemaError, match="newer"):
        Table(table_path)


def test_schema_validation_names_missing_fields_and_arrays(tmp_path):
    path = tmp_path / "t.h5"
    write_table(path, synthetic_table())
    with h5py.File(path, "r+") as f:
        manifest = json.loads(f.attrs["manifest"])
        del manifest["datasets"]["toy"]["seeds"]
        f.attrs["manifest"] = layout.canonical_json(manifest)
        f.attrs["manifest_checksum"] = layout.json_checksum(manifest)
    with pytest.raises(TableSchemaError, match=r"manifest\.datasets\.toy: lacks the field 'seeds'"):
        Table(path)

    write_table(path, synthetic_table(), overwrite=True)
    with h5py.File(path, "r+") as f:
        del f["datasets/toy/per_seed/valid_acc"]
    with (
        Table(path) as table,
        pytest.raises(TableSchemaError, match="per_seed/valid_acc listed in the manifest"),
    ):
        table.metric("toy", "valid_acc")
    assert any("valid_acc" in p for p in verify_table(path))


def _array_offsets(path):
    """(hdf5 path, byte offset, byte size) of every contiguous array in the file."""
    found = []
    with h5py.File(path, "r") as f:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.id.get_offset() is not None and obj.nbytes:
                found.append(("/" + name, obj.id.get_offset(), obj.id.get_storage_size()))

        f.visititems(visit)
    return found


def test_flipped_bytes_in_any_array_are_detected(tmp_path):
    original = tmp_path / "t.h5"
    write_table(original, synthetic_table(n_archs=30, epochs=3))
    rng = np.random.default_rng(0)
    arrays = _array_offsets(original)
    assert len(arrays) > 10
    for h5_path, offset, size in arrays:
        damaged = tmp_path / "damaged.h5"
        raw = bytearray(original.read_bytes())
        raw[offset + int(rng.integers(size))] ^= 0xFF
        damaged.write_bytes(bytes(raw))
        problems = verify_table(damaged)
        assert problems, f"flipping a byte of {h5_path} went unnoticed"
        assert all(isinstance(p, str) and p for p in problems)


def test_random_flips_never_corrupt_silently(tmp_path):
    """A flip anywhere either is reported or leaves every value intact."""
    original = tmp_path / "t.h5"
    data = synthetic_table(n_archs=25, epochs=2)
    write_table(original, data)
    raw0 = original.read_bytes()
    rng = np.random.default_rng(1)
    for _ in range(60):
        raw = bytearray(raw0)
        for pos in rng.integers(len(raw), size=3):
            raw[int(pos)] ^= int(rng.integers(1, 256))
        damaged = tmp_path / "damaged.h5"
        damaged.write_bytes(bytes(raw))
        try:
            problems = verify_table(damaged)
        except (NotATableError, TableCorruptError):
            continue
        if problems:
            continue
        assert_tables_equal(data, read_table(damaged))
