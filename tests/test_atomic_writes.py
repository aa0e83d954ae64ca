"""The atomic writer (nasbench_suite._atomic) and the table writer on top of it: outputs that are
not regular files are refused, symlinks are written through, leftovers are found by exact name."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nasbench_suite import _atomic
from nasbench_suite.cli import main
from nasbench_suite.errors import OutputError
from nasbench_suite.tabular import append_table, read_table, write_table
from tests.support import REPO, synthetic_table


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    code = "import os; print(os.getpid())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return int(proc.stdout)


def test_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    path.chmod(0o640)
    _atomic.write_text(path, "new")
    assert path.read_text() == "new"
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)  # the replaced file's mode is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_failing_block_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with _atomic.replacing_file(path) as fh:
            fh.write(b"half")
            raise RuntimeError("boom")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_symlink_is_written_through_and_kept(tmp_path):
    real = tmp_path / "runs" / "2024.h5"
    real.parent.mkdir()
    write_table(real, synthetic_table(n_archs=3))
    link = tmp_path / "latest.h5"
    link.symlink_to(real)
    write_table(link, synthetic_table(n_archs=5), overwrite=True)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert len(read_table(real).keys) == 5
    append_table(link, synthetic_table(n_archs=2, offset=5))
    assert link.is_symlink() and len(read_table(real).keys) == 7
    dangling = tmp_path / "new.txt"
    dangling.symlink_to(tmp_path / "target.txt")
    _atomic.write_text(dangling, "x")
    assert dangling.is_symlink() and (tmp_path / "target.txt").read_text() == "x"


def test_fifo_device_and_folder_outputs_are_refused(tmp_path):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.h5"
    folder.mkdir()
    for path in (fifo, folder, "/dev/null"):
        with pytest.raises(OutputError, match="refusing to replace it"):
            write_table(path, synthetic_table(n_archs=3), overwrite=True)
    with pytest.raises(OutputError, match="is a FIFO"):
        append_table(fifo, synthetic_table(n_archs=3))
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(OutputError, match="is a regular file, not a folder"):
        with _atomic.replacing_directory(file):
            pass


def _toy_csv(path):
    keys = synthetic_table(n_archs=4).keys
    rows = [f"{key},toy,{seed},{50 + i + seed}" for i, key in enumerate(keys) for seed in (0, 1)]
    path.write_text("arch,dataset,seed,valid_acc\n" + "\n".join(rows) + "\n")
    return path


def test_cli_refuses_a_fifo_or_a_device_in_one_line(tmp_path, capsys):
    source = _toy_csv(tmp_path / "t.csv")
    fifo = tmp_path / "out.h5"
    os.mkfifo(fifo)
    for output in (fifo, "/dev/null"):
        code = main(["import", "csv", str(source), "--space", "test-chain", "-o", str(output), "--force"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "refusing to replace it" in err, err
    assert fifo.exists() and not fifo.is_file()
    link = tmp_path / "link.h5"
    link.symlink_to(tmp_path / "real.h5")
    assert main(["import", "csv", str(source), "--space", "test-chain", "-o", str(link)]) == 0
    assert link.is_symlink() and len(read_table(tmp_path / "real.h5").keys) == 4


def test_runs_file_through_a_symlink_and_into_a_fifo(tmp_path):
    from nasbench_suite.experiments.trajectory import read_runs, write_runs

    real = tmp_path / "real.parquet"
    link = tmp_path / "runs.parquet"
    link.symlink_to(real)
    write_runs(link, [])
    assert link.is_symlink() and read_runs(real)[1] == []
    fifo = tmp_path / "fifo.parquet"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="is a FIFO"):
        write_runs(fifo, [])


def test_stale_temporaries_are_matched_by_exact_name(tmp_path):
    """A table named with glob characters must not delete another table's live temporaries:
    ``.t[1].h5.tmp-*`` as a glob matches ``.t1.h5.tmp-123``."""
    victim_tmp = tmp_path / ".t1.h5.tmp-123"
    victim_tmp.write_bytes(b"another writer's table in progress")
    other = tmp_path / ".t[1].h5.tmp-x"  # not a pid: not a temporary of this writer either
    other.write_bytes(b"")
    glob_table = tmp_path / "t[1].h5"
    write_table(glob_table, synthetic_table(n_archs=3))
    append_table(glob_table, synthetic_table(n_archs=2, offset=3))
    assert victim_tmp.exists() and other.exists()
    assert len(read_table(glob_table).keys) == 5
    stale = tmp_path / f".t[1].h5.tmp-{_dead_pid()}"
    stale.write_bytes(b"left by a killed writer")
    append_table(glob_table, synthetic_table(n_archs=1, offset=5))
    assert not stale.exists() and victim_tmp.exists()


def test_leftovers_of_running_processes_are_kept(tmp_path):
    target = tmp_path / "out.json"
    live = _atomic.leftover_name(target, _atomic.TMP, os.getppid())
    dead = _atomic.leftover_name(target, _atomic.TMP, _dead_pid())
    live.write_text("")
    dead.write_text("")
    _atomic.write_text(target, "{}")
    assert live.exists() and not dead.exists()


@pytest.mark.parametrize("exchange", [True, False])
def test_folder_is_replaced_and_the_old_removed_after(tmp_path, monkeypatch, exchange):
    monkeypatch.setattr(_atomic, "USE_EXCHANGE", exchange)
    target = tmp_path / "art"
    with _atomic.replacing_directory(target) as staging:
        (staging / "a").write_text("1")
    with _atomic.replacing_directory(target) as staging:
        (staging / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]
    with pytest.raises(OutputError, match="exists"):
        with _atomic.replacing_directory(target, exists="refuse") as staging:
            (staging / "c").write_text("3")
    with _atomic.replacing_directory(target, exists="keep") as staging:
        (staging / "c").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_a_folder_left_aside_by_a_killed_writer_is_put_back(tmp_path):
    target = tmp_path / "art"
    aside = _atomic.leftover_name(target, _atomic.OLD, _dead_pid())
    aside.mkdir()
    (aside / "manifest.json").write_text("old")
    staging = _atomic.leftover_name(target, _atomic.STAGING, _dead_pid())
    staging.mkdir()
    with _atomic.replacing_directory(target, exists="keep") as new:
        (new / "manifest.json").write_text("new")
    assert (target / "manifest.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_write_errors_name_the_output_and_the_errno(tmp_path):
    """A file-size limit (EFBIG) in a child process: one OutputError, the old file intact."""
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    code = (
        f"import resource, sys; sys.path.insert(0, {str(REPO)!r})\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "from nasbench_suite import _atomic\n"
        "from nasbench_suite.errors import OutputError\n"
        "try:\n"
        f"    _atomic.write_bytes({str(path)!r}, b'x' * 100_000)\n"
        "except OutputError as exc:\n"
        "    print(exc, exc.errno)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{path}: cannot write: File too large (errno 27, EFBIG) 27\n"
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
