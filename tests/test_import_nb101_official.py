"""The official NB101 tfrecord importer: framing, checksums, metrics message, budgets, errors."""

from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest

from nasbench_suite import open_benchmark
from nasbench_suite.cli import main
from nasbench_suite.importers import _tfrecord, import_table, nb101_official
from nasbench_suite.importers._tfrecord import decode_metrics, encode_metrics, frame, masked_crc32c
from nasbench_suite.importers.nb101_official import (
    HashMismatchError,
    RecordChecksumError,
    RecordSchemaError,
    TruncatedRecordError,
)
from nasbench_suite.tabular import write_table
from tests import nb101_official_support as support


@pytest.fixture(scope="module")
def cells():
    return support.sampled_cells(12, seed=3)


@pytest.fixture(scope="module")
def full_file(tmp_path_factory, cells):
    path = tmp_path_factory.mktemp("nb101") / "nasbench_full.tfrecord"
    return support.write_file(path, cells, budgets=support.FULL_BUDGETS, seed=5)


def test_masked_crc32c_known_value():
    # TensorFlow's masked CRC32C of an empty string and of the 8-byte length 0.
    assert masked_crc32c(b"") == 0xA282EAD8
    assert masked_crc32c(b"123456789") == (
        (((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    )


def test_metrics_message_round_trip_and_unknown_fields():
    message = encode_metrics(
        [(0, 0, 0.1, 0.1, 0.1), (54, 10.5, 0.5, 0.6, 0.7), (108, 21.0, 0.9, 0.8, 0.85)], 12345, 3.0
    )
    extra = message + b"\x32\x03abc" + b"\x25\x00\x00\x00\x00"  # an unknown string and fixed32 field
    evals, n_evals, params, bad = decode_metrics([message, extra, message[:-2], b"\x0f"])
    assert evals[0, 2].tolist() == [108, 21.0, 0.9, 0.8, 0.85]
    assert np.array_equal(evals[0], evals[1]) and n_evals[:2].tolist() == [3, 3]
    assert params[:2].tolist() == [12345, 12345]
    assert bad.tolist() == [False, False, True, True]


def test_protobuf_package_reads_our_messages_the_same():
    pytest.importorskip("google.protobuf")
    cls = support.metrics_class()
    msg = cls(trainable_parameters=777, total_time=5.0)
    for k in range(3):
        msg.evaluation_data.add(
            current_epoch=k,
            training_time=k * 1.5,
            train_accuracy=0.1 * k,
            validation_accuracy=0.2,
            test_accuracy=0.3,
            checkpoint_path="/m/model.ckpt-1",
        )
    evals, n_evals, params, bad = decode_metrics([msg.SerializeToString()])
    assert not bad[0] and n_evals[0] == 3 and params[0] == 777
    assert evals[0, 2].tolist() == [2.0, 3.0, 0.2, 0.2, 0.3]
    parsed = cls.FromString(encode_metrics([(1, 2, 0.3, 0.4, 0.5)] * 3, 99, 1.0))
    assert parsed.trainable_parameters == 99 and parsed.evaluation_data[2].test_accuracy == 0.5


def test_full_file_budgets_halfway_and_queries(tmp_path, full_file, cells):
    data = import_table("nb101-official", full_file)
    assert sorted(data.datasets) == ["cifar10@108", "cifar10@12", "cifar10@36", "cifar10@4"]
    assert data.keys == [c[0] for c in cells]
    expected = {}
    for key, epochs, _, row in support.records(cells, support.FULL_BUDGETS, seed=5):
        expected.setdefault((key, epochs), []).append(json.loads(row))
    ds = data.datasets["cifar10@36"]
    assert ds.epochs.tolist() == [18, 36] and ds.present.all()
    for repeat, row in enumerate(expected[(cells[4][0], 36)]):
        evals, *_ = decode_metrics([base64.b64decode(row[4])])
        assert ds.per_seed["valid_acc"][4, repeat] == evals[0, 2, 3] * 100
        assert ds.curves["test_acc"][4, repeat, 0] == evals[0, 1, 4] * 100
        assert ds.curves["train_time_s"][4, repeat, 0] == evals[0, 1, 1]
    path = write_table(tmp_path / "nb101.h5", data)
    bench = open_benchmark(path)
    half = bench.query(cells[4][0], "cifar10@36", seed=1, epoch=18)
    assert half.metrics["test_acc"] == ds.curves["test_acc"][4, 1, 0]
    assert half.cost_s == ds.curves["train_time_s"][4, 1, 0]
    params = bench.query(cells[4][0], "cifar10@108", metrics=["params_m"]).metrics["params_m"]
    assert params == data.datasets["cifar10@4"].per_arch["params_m"][4] > 0


def test_cli_import(tmp_path, full_file, capsys):
    out = tmp_path / "t.h5"
    assert main(["import", "nb101-official", str(full_file), "-o", str(out)]) == 0
    assert out.is_file()


def _one_line_exit_2(capsys, source, tmp_path, needle):
    code = main(["import", "nb101-official", str(source), "-o", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err


def test_corrupt_crc_truncated_and_wrong_schema(tmp_path, full_file, capsys):
    raw = bytearray(full_file.read_bytes())
    bad_data = bytearray(raw)
    bad_data[40] ^= 0x01  # inside the first record's data
    (tmp_path / "crc.tfrecord").write_bytes(bad_data)
    with pytest.raises(RecordChecksumError, match=r"record 0 .*data"):
        import_table("nb101-official", tmp_path / "crc.tfrecord")
    _one_line_exit_2(capsys, tmp_path / "crc.tfrecord", tmp_path, "CRC32C")
    bad_length = bytearray(raw)
    bad_length[0] ^= 0x01
    (tmp_path / "len.tfrecord").write_bytes(bad_length)
    with pytest.raises(RecordChecksumError, match="length"):
        import_table("nb101-official", tmp_path / "len.tfrecord")
    (tmp_path / "cut.tfrecord").write_bytes(raw[:-7])
    with pytest.raises(TruncatedRecordError, match="ends inside record"):
        import_table("nb101-official", tmp_path / "cut.tfrecord")
    _one_line_exit_2(capsys, tmp_path / "cut.tfrecord", tmp_path, "ends inside record")
    for row, needle in (
        (b'{"hash": 1}', "expected [module_hash"),
        (b"[1, 2, 3, 4, 5]", "module_hash is 1"),
        (b"not json", "not a JSON row"),
        (json.dumps(["a" * 32, 108, "0100", "input,output", "AAAA"]).encode(), "ModelMetrics"),
    ):
        (tmp_path / "schema.tfrecord").write_bytes(frame(row))
        with pytest.raises(RecordSchemaError, match="record 0"):
            import_table("nb101-official", tmp_path / "schema.tfrecord")
        _one_line_exit_2(capsys, tmp_path / "schema.tfrecord", tmp_path, needle)


def test_hash_mismatch_is_reported(tmp_path, cells):
    key, digits, ops = cells[0]
    wrong = [("0" * 32, digits, ops), *cells[1:3]]
    path = support.write_file(tmp_path / "h.tfrecord", wrong)
    with pytest.raises(HashMismatchError, match="1 of 3 cells .*file says 0{32}, the cell hashes to " + key):
        import_table("nb101-official", path)
    assert import_table("nb101-official", path, check_hashes=False).keys[0] == "0" * 32


def test_too_many_runs_and_changed_cell(tmp_path, cells):
    path = support.write_file(tmp_path / "r.tfrecord", cells[:1], repeats=4)
    with pytest.raises(RecordSchemaError, match="record 3: more than 3 runs"):
        import_table("nb101-official", path)
    key, _digits, _ops = cells[0]
    other = (key, cells[1][1], cells[1][2])
    path = support.write_file(tmp_path / "c.tfrecord", [cells[0], other], repeats=1)
    with pytest.raises(RecordSchemaError, match=r"record 1: cell .* another adjacency"):
        import_table("nb101-official", path)


def test_streaming_across_blocks(tmp_path, cells):
    path = support.write_file(tmp_path / "b.tfrecord", cells, repeats=3)
    with open(path, "rb") as fh:
        batches = list(support.read_records(path, fh, block_bytes=1000))
    assert len(batches) > 5 and sum(map(len, batches)) == len(cells) * 3
    assert struct.unpack("<Q", path.read_bytes()[:8])[0] == len(batches[0][0])


@pytest.mark.parametrize("epochs", [0, 2**63, 10**9])
def test_an_epoch_count_out_of_range_is_a_schema_error(tmp_path, epochs):
    """Found by the fuzzing harness: 2**63 epochs overflowed numpy (a traceback)."""
    rows = [json.loads(data) for *_, data in support.records(support.sampled_cells(1), budgets=(108,))]
    rows[0][1] = epochs
    path = tmp_path / "nasbench_only108.tfrecord"
    path.write_bytes(b"".join(frame(json.dumps(row).encode()) for row in rows))
    with pytest.raises(_tfrecord.RecordSchemaError, match="epochs"):
        import_table("nb101-official", path)


def test_too_many_distinct_budgets_is_a_schema_error(tmp_path):
    budgets = tuple(range(1, nb101_official.MAX_BUDGETS + 2))
    records = support.records(support.sampled_cells(1), budgets=budgets, repeats=1)
    rows = [json.loads(data) for *_, data in records]
    path = tmp_path / "nasbench_full.tfrecord"
    path.write_bytes(b"".join(frame(json.dumps(row).encode()) for row in rows))
    with pytest.raises(_tfrecord.RecordSchemaError, match="distinct budgets"):
        import_table("nb101-official", path)


def test_metrics_that_are_not_ascii_are_a_schema_error(tmp_path):
    """Found by the fuzzing harness: non-ASCII text in the metrics field raised a bare ValueError."""
    rows = [json.loads(data) for *_, data in support.records(support.sampled_cells(1), budgets=(108,))]
    rows[1][4] = "é" + rows[1][4]
    path = tmp_path / "nasbench_only108.tfrecord"
    path.write_bytes(b"".join(frame(json.dumps(row).encode()) for row in rows))
    with pytest.raises(_tfrecord.RecordSchemaError, match="record 1: metrics is not base64"):
        import_table("nb101-official", path)


def test_length_checksums_in_numpy_match_the_library():
    lengths = np.array([0, 1, 255, 256, 2**32 + 7, 2**63 - 1, 2**64 - 1], dtype=np.uint64)
    lengths = np.concatenate([lengths, np.random.default_rng(0).integers(0, 2**62, 200).astype(np.uint64)])
    expected = [masked_crc32c(struct.pack("<Q", int(v))) for v in lengths]
    assert _tfrecord.masked_length_crcs(lengths).tolist() == expected


def _table_arrays(data) -> dict:
    out = {"keys": data.keys}
    for name, ds in data.datasets.items():
        out[name] = [ds.present.tolist()] + [
            np.nan_to_num(a, nan=-1.0).tolist()
            for group in (ds.per_seed, ds.curves, ds.per_arch)
            for a in group.values()
        ]
    return out


def test_workers_and_short_spans_give_the_same_table(full_file, monkeypatch):
    """Two worker processes over runs of 7 records: hashes, budgets and runs meet across runs."""
    one = _table_arrays(import_table("nb101-official", full_file, workers=1))
    monkeypatch.setattr(nb101_official, "SPAN_RECORDS", 7)
    monkeypatch.setattr(nb101_official, "HASH_CELLS", 5)
    assert _table_arrays(import_table("nb101-official", full_file, workers=2)) == one


def test_rows_in_another_json_form_read_the_same(tmp_path, full_file, cells):
    """Rows the fast cut does not take (other spacing, escapes) go through json.loads: same table."""
    rows = [json.loads(data) for *_, data in support.records(cells, support.FULL_BUDGETS, seed=5)]
    other = []
    for i, row in enumerate(rows):
        text = json.dumps(row, separators=(",", ":")) if i % 3 else json.dumps(row, ensure_ascii=True)
        if i % 5 == 0:  # an escaped digit: the same string to JSON
            text = text.replace('"' + row[2], '"\\u00' + format(ord(row[2][0]), "x") + row[2][1:], 1)
        other.append(frame(text.encode()))
    path = tmp_path / "nasbench_full.tfrecord"
    path.write_bytes(b"".join(other))
    assert _table_arrays(import_table("nb101-official", path)) == _table_arrays(
        import_table("nb101-official", full_file)
    )


def test_errors_in_later_runs_name_their_record(tmp_path, full_file, monkeypatch):
    monkeypatch.setattr(nb101_official, "SPAN_RECORDS", 5)
    raw = bytearray(full_file.read_bytes())
    offsets, pos = [], 0
    while pos < len(raw):
        offsets.append(pos)
        pos += struct.unpack_from("<Q", raw, pos)[0] + 16
    raw[offsets[23] + 20] ^= 0x01  # inside record 23's data
    (tmp_path / "crc.tfrecord").write_bytes(raw)
    with pytest.raises(RecordChecksumError, match=r"record 23 at byte \d+: the CRC32C of its data"):
        import_table("nb101-official", tmp_path / "crc.tfrecord", workers=2)
    raw = bytearray(full_file.read_bytes())
    raw[offsets[31] + 2] ^= 0x01  # record 31's length
    (tmp_path / "len.tfrecord").write_bytes(raw)
    with pytest.raises(RecordChecksumError, match=r"record 31 .* its length"):
        import_table("nb101-official", tmp_path / "len.tfrecord", workers=2)


def test_a_hash_that_is_not_hex_is_a_schema_error(tmp_path, cells):
    rows = [json.loads(data) for *_, data in support.records(cells[:1], budgets=(108,))]
    rows[2][0] = "G" * 32
    path = tmp_path / "nasbench_only108.tfrecord"
    path.write_bytes(b"".join(frame(json.dumps(row).encode()) for row in rows))
    with pytest.raises(RecordSchemaError, match=r"record 2: module_hash 'G{32}' is not 32 lower-case"):
        import_table("nb101-official", path)
