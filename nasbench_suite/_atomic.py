"""The one way the project writes a file or a folder: whole and in place, or not at all.

A file (:func:`replacing_file`, :func:`write_bytes`, :func:`write_text`) is written
beside its target as ``.<name>.tmp-<pid>``, flushed to disk (``fsync``), renamed
over the target (``os.replace``, atomic on POSIX file systems), and the folder is
flushed too. A reader sees the old content or the new, never a mix; a process
killed at any instant leaves the old file or the new one.

A folder (:func:`replacing_directory`, for surrogate artefacts and caches) is
built as ``.<name>.staging-<pid>``, every file in it flushed, and then swapped
with the old folder in one step (Linux ``renameat2(RENAME_EXCHANGE)``); the old
content, now under the staging name, is removed after the new one is in place.
Where the kernel or file system cannot exchange, the old folder is renamed aside
to ``.<name>.old-<pid>`` first; a kill between the two renames leaves it there,
and the next writer of that folder puts it back before anything else.

Leftovers of killed writers are recognised by their exact name (the target's name,
a tag and a process id; never a glob of the target's name, which may itself hold
``[``, ``*`` or ``?``) and removed by the next writer of the same target when the
process that made them no longer runs.

Outputs that are not what they claim are refused with :class:`OutputError`
before anything is written: a FIFO, a device, a socket or a folder where a file is
written, a file where a folder is. A symbolic link is written *through*: its
target is replaced and the link kept, so ``-o latest.h5`` pointing at a dated file
updates that file, as writing through ``open()`` would.

A file that grows (:func:`append_committed`, for tables of format 2) is the one
exception to writing whole: new bytes go past the end its last commit names, are
flushed, and only then count, by a small commit record written in place in one of
two slots, the one not holding the record in force (each record checksummed, so a
torn one is ignored and the other stands). A kill at any instant leaves the old
commit or the new one; what a killed writer left past the committed end is cut
off by the next.

Errors of the operating system while writing (a full disk, a quota, a file-size
limit, no permission) become one :class:`OutputError` naming the output and the
errno; the temporary file or staging folder is removed (an appended tail cut off)
and the old output is left as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as errno_codes
import os
import re
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from nasbench_suite.errors import NasbenchError, OutputError

TMP, STAGING, OLD = "tmp", "staging", "old"
#: Swap folders with ``renameat2(RENAME_EXCHANGE)`` where the kernel offers it (tests turn
#: it off to check the rename-aside fallback).
USE_EXCHANGE = sys.platform.startswith("linux")


def leftover_name(target: Path, tag: str, pid: int | None = None) -> Path:
    """``.<name>.<tag>-<pid>`` beside ``target``: where a writer of ``target`` works."""
    return target.with_name(f".{target.name}.{tag}-{os.getpid() if pid is None else pid}")


def leftovers(target: Path, tag: str) -> list[tuple[Path, int]]:
    """Every ``(path, pid)`` beside ``target`` named exactly like :func:`leftover_name`'s."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{re.escape(tag)}-([0-9]{{1,10}})")
    try:
        names = os.listdir(target.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = ((name, pattern.fullmatch(name)) for name in names)
    return sorted((target.parent / name, int(m.group(1))) for name, m in found if m)


def remove_leftovers(
    target: Path, tags: tuple[str, ...] = (TMP, STAGING, OLD), *, all_stale: bool = False
) -> list[Path]:
    """Remove what killed writers of ``target`` left beside it; returns what was removed.

    Args:
        all_stale: treat every leftover as stale, also one of a process that still runs (for a
            caller holding a lock that every writer of ``target`` takes).
    """
    removed = []
    for tag in tags:
        for path, pid in leftovers(target, tag):
            if not all_stale and _running(pid):
                continue
            _remove(path)
            removed.append(path)
    return removed


def resolve_output(path: str | Path, kind: str = "file") -> Path:
    """The path that writing ``path`` replaces: a symlink resolved to its target.

    Args:
        kind: ``"file"`` or ``"dir"``, what the output must be if it exists.

    Raises:
        OutputError: the output exists and is something else (a FIFO, a device, a socket, a
            folder for a file, a file for a folder), or cannot be looked at (a symlink loop).
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows symlinks: the kind of what would be replaced
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise output_error(path, exc, "cannot use it as an output") from None
    if mode is not None:
        ok = stat.S_ISREG(mode) if kind == "file" else stat.S_ISDIR(mode)
        if not ok:
            wanted = "regular file" if kind == "file" else "folder"
            raise OutputError(path, f"is {_describe(mode)}, not a {wanted}; refusing to replace it")
    return Path(os.path.realpath(path))


@contextlib.contextmanager
def replacing_file(path: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary file that, on leaving the block normally, replaces ``path`` atomically.

    If the block raises, ``path`` is left as it was and the temporary file is removed; an
    ``OSError`` of the writes themselves becomes :class:`OutputError`.

    Raises:
        OutputError: see :func:`resolve_output`; or the writes, flush or rename failed.
    """
    target = resolve_output(path)
    _make_parent(path, target)
    remove_leftovers(target, (TMP,))
    tmp = leftover_name(target, TMP)
    try:
        try:
            fh = open(tmp, "wb")
        except OSError as exc:
            raise output_error(path, exc) from None
        try:
            yield fh  # type: ignore[misc]
            fh.flush()
            os.fsync(fh.fileno())
        except BaseException:
            with contextlib.suppress(OSError):  # a failed flush would fail again on close
                fh.close()
            raise
        fh.close()
        _keep_mode(target, tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if _is_write_error(exc, tmp, target):
            raise output_error(path, exc) from None  # type: ignore[arg-type]
        raise


def write_bytes(path: str | Path, data: bytes | bytearray | memoryview) -> Path:
    """Replace ``path`` with ``data``, atomically (:func:`replacing_file`); returns ``path``."""
    with replacing_file(path) as fh:
        fh.write(data)
    return Path(path)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Replace ``path`` with ``text``, atomically (:func:`replacing_file`); returns ``path``."""
    return write_bytes(path, text.encode(encoding))


def append_committed(path: str | Path, end: int, data: bytes, commit_at: int, commit: bytes) -> None:
    """Add ``data`` to the file ``path`` at its committed ``end``, then commit it.

    The file is cut to ``end`` (dropping what a killed writer left), ``data`` written there
    and flushed to disk, and only then ``commit`` (a small record, at most one disk sector,
    inside the first page, in a slot readers do not trust while it is being written) is
    written at ``commit_at`` and flushed. The caller holds the file's writer lock.

    Raises:
        OutputError: see :func:`resolve_output`; or a write or flush failed: the file is cut
            back to ``end`` (unless the commit was written), so its bytes are the old ones.
    """
    target = resolve_output(path)
    try:
        fd = os.open(target, os.O_RDWR)
    except OSError as exc:
        raise output_error(path, exc) from None
    committed = False
    try:
        os.ftruncate(fd, end)
        view = memoryview(data)
        while view:
            view = view[os.pwrite(fd, view, end + len(data) - len(view)) :]
        os.fsync(fd)
        if os.pwrite(fd, commit, commit_at) != len(commit):
            raise OSError(errno_codes.EIO, "short write of the commit record", str(target))
        committed = True
        os.fsync(fd)
    except OSError as exc:
        if not committed:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end)
        raise output_error(path, exc) from None
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing_directory(path: str | Path, *, exists: str = "replace") -> Iterator[Path]:
    """Yield an empty staging folder that, on leaving the block normally, takes ``path``'s place.

    Args:
        exists: what to do when ``path`` exists at the end: ``"replace"`` it, ``"keep"`` it
            (and discard the staging folder: another process made the same thing first), or
            ``"refuse"`` (:class:`OutputError`).

    If the block raises, the staging folder is removed and ``path`` is left as it was; an
    ``OSError`` of writing into the staging folder becomes :class:`OutputError`.
    """
    if exists not in ("replace", "keep", "refuse"):
        raise ValueError(f"exists must be 'replace', 'keep' or 'refuse', not {exists!r}")
    target = resolve_output(path, "dir")
    _make_parent(path, target)
    recover(target)
    staging = leftover_name(target, STAGING)
    try:
        _remove(staging)
        os.mkdir(staging)
    except OSError as exc:
        raise output_error(path, exc) from None
    try:
        yield staging
        _fsync_tree(staging)
        if not os.path.lexists(target):
            os.rename(staging, target)
        elif exists == "keep":
            _remove(staging)
            return
        elif exists == "refuse":
            raise OutputError(path, "exists; pass overwrite (--force) to replace it")
        else:
            _swap_in(staging, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            _remove(staging)
        if _is_write_error(exc, staging, target):
            raise output_error(path, exc) from None  # type: ignore[arg-type]
        raise


def recover(target: Path) -> None:
    """Undo what a writer of the folder ``target`` killed mid-replacement left: if ``target`` is
    missing and its old content lies aside (``.<name>.old-<pid>``), put it back; then remove the
    leftovers of writers that no longer run."""
    if not os.path.lexists(target):
        aside = [p for p, pid in leftovers(target, OLD) if not _running(pid)]
        if aside:
            with contextlib.suppress(OSError):
                os.rename(aside[-1], target)
    remove_leftovers(target)


def _swap_in(staging: Path, target: Path) -> None:
    """Put ``staging`` in ``target``'s place; the old content is removed once the new one is in."""
    if USE_EXCHANGE and _exchange(staging, target):
        _fsync_dir(target.parent)
        _remove(staging)  # it holds the old content now
        return
    aside = leftover_name(target, OLD)
    os.rename(target, aside)
    os.rename(staging, target)
    _fsync_dir(target.parent)
    _remove(aside)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where that is not available."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno_codes.EINVAL, errno_codes.ENOSYS, errno_codes.EOPNOTSUPP, errno_codes.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # ours from an earlier attempt: this writer is about to reuse the name
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError, OSError):
        return False
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _make_parent(path: str | Path, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(path, exc) from None


def _keep_mode(target: Path, tmp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _is_write_error(exc: BaseException, work: Path, target: Path) -> bool:
    """An OSError of writing ``work`` (a temporary file or staging folder, or something in it) or
    of renaming it to ``target``, not one of reading some input the block also used."""
    if not isinstance(exc, OSError) or isinstance(exc, NasbenchError):
        return False
    names = [os.fsdecode(n) for n in (exc.filename, exc.filename2) if n is not None]
    mine = (str(work), str(target))
    return all(n in mine or n.startswith(f"{work}{os.sep}") for n in names)


def output_error(path: str | Path, exc: OSError, what: str = "cannot write") -> OutputError:
    """``exc`` as one :class:`OutputError` line: ``path: what: reason (errno N, ENAME)``."""
    code = exc.errno
    reason = exc.strerror or (str(exc).splitlines() or [type(exc).__name__])[0]
    named = f" (errno {code}, {errno_codes.errorcode.get(code, '?')})" if code else ""
    return OutputError(path, f"{what}: {reason}{named}", code)


def _describe(mode: int) -> str:
    for test, text in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISREG, "a regular file"),
    ):
        if test(mode):
            return text
    return "not a regular file"
