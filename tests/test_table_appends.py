"""Appends to format-2 tables: a part added past the committed end, read back as one table.

The content after appends is exactly what merging gives, and the manifest's counts are those of
the same table written whole; a reader opened before an append keeps its view; the bytes of the
table before the append are left as they were; a torn commit record falls back to the one
before; verify finds a damaged part; format-1 files are read and upgraded on the first append;
compaction folds the parts into one.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from nasbench_suite.errors import TableCorruptError
from nasbench_suite.tabular import (
    Table,
    append_table,
    compact_table,
    layout,
    merge_tables,
    parts,
    read_table,
    verify_table,
    write_table,
    writer,
)
from tests.support import synthetic_table


def _blocks():
    a = synthetic_table(n_archs=10, epochs=4, seed=1)
    b = synthetic_table(n_archs=5, offset=10, epochs=4, seed=2)
    # Runs of new seeds for stored archs, a per-arch value filled in and a new per-arch metric.
    c = synthetic_table(n_archs=5, offset=3, seeds=(5, 7), epochs=4, seed=3)
    c.static = {}
    c.datasets["toy"].per_arch["params_m"] = np.r_[np.nan, a.datasets["toy"].per_arch["params_m"][4:8]]
    c.datasets["toy"].per_arch["flops_m"] = np.r_[np.nan, 1.0, 2.0, 3.0, np.nan]
    c.datasets["toy"].metrics["flops_m"] = c.datasets["toy"].metrics["params_m"]
    return a, b, c


def _appended(path):
    """The three blocks written and appended at ``path``; returns what the table must hold."""
    a, b, c = _blocks()
    write_table(path, a)
    append_table(path, b)
    append_table(path, c)
    return merge_tables(merge_tables(a, b), c)


def _assert_same(got, want) -> None:
    assert got.keys == want.keys
    for name, ds in want.datasets.items():
        g = got.datasets[name]
        assert g.seeds.tolist() == ds.seeds.tolist()
        np.testing.assert_array_equal(g.present, ds.present)
        for kind in layout.DATASET_KINDS:
            assert sorted(getattr(g, kind)) == sorted(getattr(ds, kind))
            for m, values in getattr(ds, kind).items():
                np.testing.assert_array_equal(getattr(g, kind)[m], values)
    for m, values in want.static.items():
        np.testing.assert_array_equal(got.static[m], values)


def _without_parts(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k not in ("parts", "last", "written_by")}


def test_appended_table_reads_as_merged_and_counts_as_written_whole(tmp_path):
    path = tmp_path / "t.h5"
    want = _appended(path)
    _assert_same(read_table(path), want)
    assert verify_table(path) == []
    whole = tmp_path / "whole.h5"
    write_table(whole, want)
    with Table(path) as appended, Table(whole) as written:
        assert appended.n_parts == 3 and written.n_parts == 1
        assert _without_parts(appended.manifest) == _without_parts(written.manifest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.h5", "t.h5.lock", "whole.h5", "whole.h5.lock"]


def test_append_leaves_the_old_bytes_and_old_readers_alone(tmp_path):
    a, b, _ = _blocks()
    path = tmp_path / "t.h5"
    write_table(path, a)
    before = path.read_bytes()
    with Table(path) as old_reader:
        old_acc = old_reader.metric("toy", "valid_acc").copy()
        append_table(path, b)
        after = path.read_bytes()
        # Only the header's free commit slot changed before the old end; the part lies past it.
        slot = parts.Commit(2, 0, 1, "0" * 32).slot
        assert after[:slot] == before[:slot]
        assert after[slot + parts.SLOT_BYTES : len(before)] == before[slot + parts.SLOT_BYTES :]
        assert len(after) > len(before)
        # The reader opened before the append still sees the table it opened, arrays included.
        assert old_reader.n_archs == 10 and len(old_reader.keys) == 10
        np.testing.assert_array_equal(old_reader.metric("toy", "valid_acc"), old_acc)
        curves = old_reader.metric("toy", "valid_acc", "curves")
        np.testing.assert_array_equal(curves, a.datasets["toy"].curves["valid_acc"])
    with Table(path) as new_reader:
        assert new_reader.n_archs == 15


def test_a_torn_commit_record_falls_back_to_the_one_before(tmp_path):
    a, b, _ = _blocks()
    path = tmp_path / "t.h5"
    write_table(path, a)
    append_table(path, b)
    with Table(path) as table:
        slot = table.commit.slot
    raw = bytearray(path.read_bytes())
    raw[slot + 20] ^= 0xFF  # the newest record, half written
    path.write_bytes(bytes(raw))
    _assert_same(read_table(path), a)
    assert verify_table(path) == []


def test_verify_names_a_damaged_part(tmp_path):
    a, b, _ = _blocks()
    path = tmp_path / "t.h5"
    write_table(path, a)
    end = path.stat().st_size
    append_table(path, b)
    with Table(path) as table:
        offset = table.image(1)._file["datasets/toy/curves/valid_acc"].id.get_offset()
    raw = bytearray(path.read_bytes())
    raw[end + offset + 8] ^= 0xFF
    path.write_bytes(bytes(raw))
    problems = verify_table(path)
    assert problems and problems[0].startswith("part 1: ") and "checksum" in problems[0], problems


def _format_1(path, data) -> None:
    """``data`` as a file of format 1: one HDF5 image, no header (as earlier versions wrote)."""
    image, _ = writer._table_image(data, writer._canonical_keys(data), writer._single_part_manifest)
    path.write_bytes(image)
    with h5py.File(path, "r+") as f:
        manifest = json.loads(f.attrs["manifest"])
        manifest["format_version"] = 1
        f.attrs["format_version"] = 1
        f.attrs["manifest"] = layout.canonical_json(manifest)
        f.attrs["manifest_checksum"] = layout.json_checksum(manifest)
        del f.attrs["table"]


def test_format_1_is_read_and_upgraded_by_the_first_append(tmp_path):
    a, b, c = _blocks()
    path = tmp_path / "old.h5"
    _format_1(path, a)
    with Table(path) as table:
        assert table.format_version == 1 and table.commit is None
    _assert_same(read_table(path), a)
    assert verify_table(path) == []
    append_table(path, b)  # rewritten whole, as format 2
    append_table(path, c)  # a part
    with Table(path) as table:
        assert table.format_version == 2 and table.n_parts == 2
    _assert_same(read_table(path), merge_tables(merge_tables(a, b), c))


def test_verify_compact_on_the_command_line(tmp_path, capsys):
    from nasbench_suite.cli import main

    a, b, _ = _blocks()
    path = tmp_path / "t.h5"
    write_table(path, a)
    append_table(path, b)
    assert main(["verify", str(path), "--compact"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{path}: sound", f"{path}: one part (it had 2)"]
    with Table(path) as table:
        assert table.n_parts == 1 and table.n_archs == 15


def test_compaction_folds_the_parts_into_one(tmp_path, monkeypatch):
    a, b, c = _blocks()
    path = tmp_path / "t.h5"
    want = _appended(path)
    assert compact_table(path) == 3
    with Table(path) as table:
        assert table.n_parts == 1
    _assert_same(read_table(path), want)
    assert verify_table(path) == [] and compact_table(path) == 1
    # Past MAX_PARTS an append compacts by itself.
    monkeypatch.setattr(writer, "MAX_PARTS", 2)
    write_table(path, a, overwrite=True)
    append_table(path, b)
    append_table(path, c)
    with Table(path) as table:
        assert table.n_parts == 1
    _assert_same(read_table(path), want)


def test_a_commit_past_the_end_is_a_corrupt_table(tmp_path):
    a, b, _ = _blocks()
    path = tmp_path / "t.h5"
    write_table(path, a)
    append_table(path, b)
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size - 100)
    with pytest.raises(TableCorruptError, match="truncated"):
        Table(path)
