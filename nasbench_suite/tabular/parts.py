"""The frame of a format-2 table file: a header with two commit records, then HDF5 parts.

::

    [0, 4096)        header: FILE_MAGIC, then commit records in slots at 512 and 1024
    [4096, ...)      part 0: a whole HDF5 image (HDF5 finds its superblock at 4096, so h5py and
                     h5dump open the file as this part)
    [end_0, ...)     part 1, 2, ...: an HDF5 image each, appended, never changed afterwards

A commit record names the last part (offset, length) and the checksum of the table manifest
stored in it; that manifest lists the earlier parts. The record with the highest sequence
number whose checksum holds is the table; an append writes its part past the committed end,
flushes it, and only then writes its record into the slot the current record is *not* in, so
a kill at any instant, or a torn record, leaves the previous record in force.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from nasbench_suite.errors import TableCorruptError

FILE_MAGIC = b"\x89NBS-TABLE\r\n\x1a\n\x00\x02"
HEADER_BYTES = 4096
SLOT_OFFSETS = (512, 1024)
_SLOT_MAGIC = b"NBScommit"
_SLOT = struct.Struct("<9sQQQ32s")  # magic, sequence, last part offset, last part length, manifest checksum
_DIGEST = 16
SLOT_BYTES = _SLOT.size + _DIGEST


@dataclass(frozen=True)
class Commit:
    """One commit record: the table is every part up to ``offset + length``."""

    sequence: int
    offset: int
    length: int
    checksum: str

    @property
    def end(self) -> int:
        return self.offset + self.length

    @property
    def slot(self) -> int:
        return SLOT_OFFSETS[self.sequence % 2]

    def pack(self) -> bytes:
        body = _SLOT.pack(_SLOT_MAGIC, self.sequence, self.offset, self.length, self.checksum.encode())
        return body + hashlib.blake2b(body, digest_size=_DIGEST).digest()


def header(first: Commit) -> bytes:
    """The header of a new file whose first commit is ``first`` (the other slot left empty)."""
    out = bytearray(HEADER_BYTES)
    out[: len(FILE_MAGIC)] = FILE_MAGIC
    out[first.slot : first.slot + SLOT_BYTES] = first.pack()
    return bytes(out)


def read_commit(fd: int, path: Path) -> Commit:
    """The commit in force in the file open as ``fd`` (its header already known to be ours).

    Raises:
        TableCorruptError: no slot holds a sound record, or the record points past the file's end.
    """
    size = os.fstat(fd).st_size
    found = [c for c in (_unpack(os.pread(fd, SLOT_BYTES, at)) for at in SLOT_OFFSETS) if c is not None]
    if not found:
        raise TableCorruptError(path, "no sound commit record in the header")
    commit = max(found, key=lambda c: c.sequence)
    if (commit.offset != 0 and commit.offset < HEADER_BYTES) or commit.end > size:
        raise TableCorruptError(
            path,
            f"the commit names bytes {commit.offset:,}..{commit.end:,} of a {size:,}-byte file (truncated?)",
        )
    return commit


def _unpack(raw: bytes) -> Commit | None:
    if len(raw) != SLOT_BYTES:
        return None
    body, digest = raw[: _SLOT.size], raw[_SLOT.size :]
    if hashlib.blake2b(body, digest_size=_DIGEST).digest() != digest:
        return None
    magic, sequence, offset, length, checksum = _SLOT.unpack(body)
    if magic != _SLOT_MAGIC or length == 0:
        return None
    try:
        return Commit(sequence, offset, length, checksum.decode("ascii"))
    except UnicodeDecodeError:
        return None


class Window(io.RawIOBase):
    """Bytes ``offset .. offset + length`` of the file open as ``fd``, as a read-only file for
    h5py: each part is an HDF5 image of its own. Reads are positional (``pread``), so parts
    share one descriptor, and the descriptor keeps the file a reader opened even after a
    compaction renames a new one over its name."""

    def __init__(self, fd: int, offset: int, length: int):
        super().__init__()
        self._fd, self._offset, self._length, self._pos = fd, offset, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        view = memoryview(buffer).cast("B")
        want = max(0, min(len(view), self._length - self._pos))
        got = 0
        while got < want:
            chunk = os.pread(self._fd, want - got, self._offset + self._pos + got)
            if not chunk:
                break
            view[got : got + len(chunk)] = chunk
            got += len(chunk)
        self._pos += got
        return got

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos
