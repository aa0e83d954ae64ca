"""The `nasbench` command: outputs, exit codes, one-line errors, fuzzed bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasbench_suite.cli import main
from nasbench_suite.tabular import read_table, write_table
from tests.support import synthetic_table


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "toy.h5"
    write_table(path, synthetic_table(n_archs=30, epochs=4))
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, expected=2):
    assert code == expected
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nasbench: "), err
    assert "Traceback" not in err


def test_info_json(capsys, table):
    code, out, _ = run(capsys, "info", table, "--json")
    assert code == 0
    info = json.loads(out)
    assert info["space"] == "test-chain" and info["n_archs"] == 30 and info["n_canonical"] == 30
    toy = info["datasets"]["toy"]
    assert toy["seeds"] == [0, 1, 2] and toy["epochs"] == "1..4"
    assert toy["per_seed"]["valid_acc"]["unit"] == "%"
    assert toy["per_seed"]["valid_acc"]["n_missing"] > 0


def test_info_text(capsys, table):
    code, out, _ = run(capsys, "info", table)
    assert code == 0 and "30 archs" in out and "valid_acc" in out


def test_query_values_match_table(capsys, table):
    data = read_table(table)
    ds = data.datasets["toy"]
    row = int(np.flatnonzero(ds.present[:, 1])[0])
    code, out, _ = run(
        capsys, "query", table, "--dataset", "toy", "--arch", data.keys[row], "--seed", "1", "--json"
    )
    assert code == 0
    record = json.loads(out)
    assert record["metrics"]["valid_acc"] == ds.per_seed["valid_acc"][row, 1]
    assert record["cost_s"] == ds.per_seed["train_time_s"][row, 1]
    code, out, _ = run(
        capsys,
        "query",
        table,
        "--dataset",
        "toy",
        "--arch",
        data.keys[row],
        "--epoch",
        "2",
        "--seed",
        "sample",
        "--json",
    )
    assert code == 0 and json.loads(out)["epoch"] == 2


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--dataset", "toy", "--arch", "9-9-9"], "malformed test-chain architecture"),
        (["--dataset", "toy", "--arch", "2-2-2-2"], "not in the table"),
        (["--dataset", "cifar", "--arch", "0-0-0-0"], "unknown dataset 'cifar'"),
        (["--dataset", "toy", "--arch", "0-0-0-0", "--seed", "42"], "seed 42 is not stored"),
        (["--dataset", "toy", "--arch", "0-0-0-0", "--seed", "x"], "--seed must be"),
        (["--dataset", "toy", "--arch", "0-0-0-0", "--epoch", "99"], "epoch 99 is not stored"),
        (["--dataset", "toy", "--arch", "0-0-0-0", "--metrics", "nope"], "unknown metric 'nope'"),
    ],
)
def test_query_bad_input_is_one_line(capsys, table, argv, needle):
    code, _, err = run(capsys, "query", table, *argv)
    assert_one_line_error(code, err)
    assert needle in err


def test_bad_files_are_one_line(capsys, tmp_path, table):
    code, _, err = run(capsys, "info", tmp_path / "absent.h5")
    assert_one_line_error(code, err)
    assert "no such table file or surrogate folder" in err
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x00" * 100)
    for command in (
        ["info", junk],
        ["query", junk, "--dataset", "toy", "--arch", "0-0-0-0"],
        ["verify", junk],
    ):
        code, _, err = run(capsys, *command)
        assert_one_line_error(code, err)
        assert "not an HDF5 file" in err
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(table.read_bytes()[:3000])
    code, _, err = run(capsys, "query", truncated, "--dataset", "toy", "--arch", "0-0-0-0")
    assert_one_line_error(code, err)


def test_verify_and_query_on_flipped_bytes(capsys, tmp_path, table):
    code, out, _ = run(capsys, "verify", table)
    assert code == 0 and "sound" in out
    damaged = tmp_path / "damaged.h5"
    with h5py.File(table, "r") as f:
        offset = f["datasets/toy/per_seed/valid_acc"].id.get_offset()
    raw = bytearray(table.read_bytes())
    raw[offset + 17] ^= 0x5A
    damaged.write_bytes(bytes(raw))
    code, _, err = run(capsys, "verify", damaged)
    assert code == 1 and "valid_acc does not match its checksum" in err and "Traceback" not in err
    code, _, err = run(capsys, "query", damaged, "--dataset", "toy", "--arch", "0-0-0-0")
    assert_one_line_error(code, err)
    assert "checksum" in err


def test_import_refuses_to_overwrite(capsys, tmp_path, table):
    code, _, err = run(capsys, "import", "nb201", tmp_path, "-o", table)
    assert_one_line_error(code, err)
    assert "--force" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["query"])
    assert exc.value.code == 2
    _, err = capsys.readouterr()
    assert "Traceback" not in err


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    arch=st.text(max_size=40),
    dataset=st.sampled_from(["toy", "", "Toy", "toy "]) | st.text(max_size=10),
    seed=st.sampled_from(["mean", "sample", "0", "1", "-1", "1e3", ""]) | st.text(max_size=6),
)
def test_fuzzed_queries_never_traceback(capsys, table, arch, dataset, seed):
    try:
        code = main(["query", str(table), "--dataset", dataset, "--arch", arch, "--seed", seed])
    except SystemExit as exc:  # argparse rejects some strings (e.g. starting with '-')
        code = exc.code
    _, err = capsys.readouterr()
    assert code in (0, 2)
    assert "Traceback" not in err
    if code == 2:
        assert len(err.strip().splitlines()) == 1


def test_console_script_runs_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "nasbench_suite.cli", "info", str(tmp_path / "none.h5")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("argv", "hint"),
    [(["bogus"], "(see nasbench --help)"), (["surrogate", "fit"], "(see nasbench surrogate fit --help)")],
)
def test_usage_errors_name_the_help_of_their_command(capsys, argv, hint):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith(hint)
