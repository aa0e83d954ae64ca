"""The append lock file (``<name>.lock``) stays beside the table, empty and reused, as
docs/table-format.md explains: removing it after unlocking would let two appenders in at once."""

from __future__ import annotations

from nasbench_suite.tabular import append_table, read_table, write_table
from tests.support import REPO, synthetic_table


def test_the_lock_file_is_empty_reused_and_documented(tmp_path):
    path = tmp_path / "t.h5"
    write_table(path, synthetic_table(n_archs=12, seed=1))
    lock = tmp_path / "t.h5.lock"
    assert lock.is_file() and lock.stat().st_size == 0
    inode = lock.stat().st_ino
    append_table(path, synthetic_table(n_archs=5, offset=12, seed=2))
    assert read_table(path).n_archs == 17
    assert lock.stat().st_ino == inode and lock.stat().st_size == 0  # the same file, still empty
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.h5", "t.h5.lock"]
    doc = (REPO / "docs" / "table-format.md").read_text()
    assert "The empty `<name>.lock` file stays beside the table" in doc
