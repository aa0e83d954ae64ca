"""A full disk (or another OS error) while writing a table or an artefact: one line naming the path
and the errno, exit 2, the old file intact and nothing left beside it, never a crash.

Each case runs in a child process (a crash of HDF5 cannot take pytest down) with its output folder
on a small tmpfs of its own (a user and mount namespace, ``unshare -rm``), filled up to the last
few KB after the old state was written, so the writes hit a real ENOSPC. Where namespaces are not
available the file-size limit (``RLIMIT_FSIZE``, EFBIG) stands in for the full disk.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.support import REPO

DRIVER = textwrap.dedent(
    """
    import hashlib, json, os, resource, subprocess, sys
    sys.path.insert(0, {repo!r})
    from tests.support import synthetic_table
    from nasbench_suite.tabular import verify_table, write_table

    case, mode, work, src = sys.argv[1:5]
    env = {{**os.environ, "PYTHONPATH": {repo!r}, "OMP_NUM_THREADS": "1"}}
    cli = [sys.executable, "-m", "nasbench_suite.cli", "--plugin", "tests.support"]
    table = os.path.join(work, "t.h5")
    train = ["train", "--space", "nb201", "--dataset", "synthetic", "--data", "synthetic:60",
             "--protocol", "nb201-tiny", "--seeds", "1", "--threads", "1", "-o", table]
    fit = ["surrogate", "fit", os.path.join(src, "toy.h5"), "-o", os.path.join(work, "art"),
           "--param", "n_estimators=10", "--cv-folds", "0", "--force"]

    def run(args, limited):
        def limit():
            if limited and mode == "fsize":
                resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        return subprocess.run(args, env=env, capture_output=True, text=True, preexec_fn=limit)

    def snapshot():
        out = {{}}
        for folder, _, files in os.walk(work):
            for name in files:
                path = os.path.join(folder, name)
                if name != "filler" and not name.endswith(".lock"):
                    with open(path, "rb") as f:
                        out[os.path.relpath(path, work)] = hashlib.sha256(f.read()).hexdigest()
        return out

    # The old state, written before the disk fills.
    if case in ("import", "append"):
        write_table(table, synthetic_table(n_archs=3))
    elif case == "train":
        assert run(cli + train + ["--archs", "sample:1"], False).returncode == 0
    elif case == "fit":
        write_table(os.path.join(src, "toy.h5"), synthetic_table(n_archs=81, missing_fraction=0.1))
        assert run(cli + fit, False).returncode == 0
    before = snapshot()
    if mode == "tmpfs":
        st = os.statvfs(work)
        with open(os.path.join(work, "filler"), "wb") as f:
            f.write(b"x" * max(0, st.f_bavail * st.f_frsize - 8192))
    if case == "import":
        csv = ["import", "csv", os.path.join(src, "t.csv"), "--space", "test-chain"]
        done = run(cli + csv + ["-o", table, "--force"], True)
    elif case == "append":
        code = (
            f"import sys; sys.path.insert(0, {repo!r})\\n"
            "from tests.support import synthetic_table\\n"
            "from nasbench_suite.tabular import append_table\\n"
            "from nasbench_suite.errors import OutputError\\n"
            "try:\\n"
            f"    append_table({{table!r}}, synthetic_table(n_archs=60, offset=3))\\n"
            "except OutputError as exc:\\n"
            "    print(exc, file=sys.stderr)\\n"
            "    sys.exit(2)\\n"
        )
        done = run([sys.executable, "-c", code], True)
    elif case == "train":
        done = run(cli + train + ["--archs", "sample:3"], True)
    else:
        done = run(cli + fit, True)
    if mode == "tmpfs":
        os.unlink(os.path.join(work, "filler"))
    after = snapshot()
    print(json.dumps({{
        "rc": done.returncode,
        "stderr": done.stderr,
        "listing": sorted(os.listdir(work)),
        "old_intact": {{k: v for k, v in after.items() if not k.endswith(".jsonl")}}
            == {{k: v for k, v in before.items() if not k.endswith(".jsonl")}},
        "verify": verify_table(table) if os.path.exists(table) else None,
        "journal_lines": len(open(table + ".journal.jsonl").read().splitlines())
            if case == "train" else None,
    }}))
    """
)

EXPECTED_LISTING = {
    "import": ["t.h5", "t.h5.lock"],
    "append": ["t.h5", "t.h5.lock"],
    "train": ["t.h5", "t.h5.journal.jsonl", "t.h5.lock"],
    "fit": ["art"],
}


@functools.cache
def namespaces_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d && rmdir $d"
    return subprocess.run(["unshare", "-rm", "sh", "-c", probe], capture_output=True).returncode == 0


def run_case(tmp_path, case: str, mode: str) -> dict:
    work = tmp_path / "disk"
    src = tmp_path / "src"
    work.mkdir()
    src.mkdir()
    driver = src / "driver.py"
    driver.write_text(DRIVER.format(repo=str(REPO)))
    _toy_csv(src / "t.csv")
    args = [sys.executable, str(driver), case, mode, str(work), str(src)]
    if mode == "tmpfs":
        script = f'mount -t tmpfs -o size=512k tmpfs "{work}" && exec "$@"'
        args = ["unshare", "-rm", "sh", "-c", script, "sh", *args]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def _toy_csv(path) -> None:
    from tests.support import synthetic_table

    data = synthetic_table(n_archs=81, seeds=(0, 1, 2))
    rows = [
        f"{key},toy,{seed},{50 + (i * 7 + seed) % 40},{100 + i}"
        for i, key in enumerate(data.keys)
        for seed in (0, 1, 2)
    ]
    path.write_text("arch,dataset,seed,valid_acc,train_time_s\n" + "\n".join(rows) + "\n")


def _mode() -> str:
    return "tmpfs" if namespaces_available() else "fsize"


@pytest.mark.parametrize("case", ["import", "append", "train", "fit"])
def test_full_disk_is_one_line_and_leaves_the_old_output(tmp_path, case):
    if case == "train":
        pytest.importorskip("torch")
    mode = _mode()
    got = run_case(tmp_path, case, mode)
    errno_text = "errno 28, ENOSPC" if mode == "tmpfs" else "errno 27, EFBIG"
    stderr = got["stderr"]
    assert got["rc"] == 2, stderr[-2000:]
    assert stderr.count("\n") == 1 and errno_text in stderr, stderr[-2000:]
    assert str(tmp_path / "disk") in stderr
    assert got["listing"] == EXPECTED_LISTING[case]
    assert got["old_intact"]
    assert got["verify"] in ([], None)
    if case == "train":
        assert got["journal_lines"] == 3  # the trained runs are kept for the next invocation


def test_file_size_limit_on_import_is_one_line(tmp_path):
    """Another OS error than a full disk (EFBIG under RLIMIT_FSIZE), as the old code printed it
    in two lines with an empty file name."""
    got = run_case(tmp_path, "import", "fsize")
    assert got["rc"] == 2 and got["stderr"].count("\n") == 1
    assert got["stderr"].startswith(f"nasbench: error: {tmp_path / 'disk' / 't.h5'}: cannot write: ")
    assert "errno 27, EFBIG" in got["stderr"]
    assert got["listing"] == EXPECTED_LISTING["import"] and got["old_intact"]
