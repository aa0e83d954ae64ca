"""What a table file must be before anything in it is trusted: its manifest's schema and its
HDF5 structure, each checked before a byte of an array is read (docs/table-format.md, "Limits").

- The manifest is parsed with stated bounds (:data:`MAX_MANIFEST_BYTES`, :data:`MAX_DEPTH`,
  no NaN or infinity), checked against its checksum, then against :data:`MANIFEST`, one
  declarative schema of every field's type and range.
- A table is self-contained: soft and external links, virtual datasets and external raw
  storage are refused wherever they are in the file (:func:`check_structure`), so no read
  ever opens another file, a FIFO or a device.
- An array is read only when its dtype, shape, filters and stored size fit
  (:func:`check_array`): the bytes it declares must be at most :data:`MAX_EXPANSION` times
  the bytes the file stores for it, so a small file cannot ask for a large allocation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
from h5py import h5l

from nasbench_suite._schema import (
    INT64,
    Check,
    Int,
    Json,
    Map,
    Obj,
    Schema,
    SchemaViolation,
    Seq,
    Str,
    parse_json,
)
from nasbench_suite.errors import NotATableError, TableCorruptError, TableSchemaError
from nasbench_suite.tabular import layout

#: A manifest longer than this is refused before it is parsed.
MAX_MANIFEST_BYTES = 64 << 20
#: Deepest nesting of objects and lists a manifest may have (protocols and provenance included).
MAX_DEPTH = 32
#: Most links (groups and arrays) a table file may hold.
MAX_LINKS = 1_000_000
#: An array may declare at most this many times the bytes stored for it (deflate's own
#: bound is about 1,032:1; uncompressed arrays store exactly what they declare).
MAX_EXPANSION = 1_100
#: Most architectures, seeds and epochs a manifest may declare (each is also bounded by
#: the stored size of the arrays it shapes, through MAX_EXPANSION).
MAX_ARCHS = 2**31 - 1
MAX_SEEDS = 100_000
MAX_EPOCHS = 100_000
#: Longest stored architecture key, in bytes.
MAX_KEY_BYTES = 1 << 16
#: Most parts a format-2 table may have (appends compact it long before: writer.MAX_PARTS).
MAX_PARTS = 10_000

_CHECKSUM = Str(max_len=32, pattern=r"[0-9a-f]{32}")
_NAME = Str(max_len=200, name=True)
_METRIC = Obj(
    {
        "unit": Str(max_len=200),
        "description": Str(max_len=10_000),
        "checksum": _CHECKSUM,
        "missing_checksum": _CHECKSUM,
        "n_missing": Int(0, INT64[1]),
    }
)
_DATASET = Check(
    Obj(
        {
            "seeds": Seq(Int(*INT64), max_len=MAX_SEEDS, increasing=True),
            "epochs": Seq(Int(1, INT64[1]), max_len=MAX_EPOCHS, increasing=True),
            "n_runs": Int(0, INT64[1]),
            "present": _CHECKSUM,
            "protocol": Map(Json()),
            "provenance": Map(Json()),
            "per_seed": Map(_METRIC, key=_NAME),
            "curves": Map(_METRIC, key=_NAME),
            "per_arch": Map(_METRIC, key=_NAME),
            "checksum": _CHECKSUM,
        }
    ),
    lambda entry: not entry["curves"] or bool(entry["epochs"]),
    "has per-epoch curves but no epochs",
)
#: Fields of every manifest, of a table or a part.
_TABLE_FIELDS = {
    "format": Str(choices=(layout.FORMAT_NAME,)),
    "space": _NAME,
    "space_config": Map(Json()),
    "description": Str(max_len=100_000),
    "n_archs": Int(0, MAX_ARCHS),
    "n_canonical": Int(0, MAX_ARCHS),
}
_SUMMARY = Obj({"unit": Str(max_len=200), "description": Str(max_len=10_000), "n_missing": Int(0, INT64[1])})
_PART = Obj(
    {
        "offset": Int(0, INT64[1]),
        "length": Int(1, INT64[1]),
        "manifest": _CHECKSUM,
        "n_archs": Int(0, MAX_ARCHS),
    }
)
#: The schema of a format-2 table's manifest: the whole table, its parts listed (the last part,
#: which holds this manifest, is named by the commit record instead).
TABLE_MANIFEST: Schema = Check(
    Obj(
        {
            **_TABLE_FIELDS,
            "format_version": Int(2, layout.FORMAT_VERSION),
            "parts": Seq(_PART, max_len=MAX_PARTS),
            "last": Obj({"manifest": _CHECKSUM, "n_archs": Int(0, MAX_ARCHS)}),
            "static": Map(_SUMMARY, key=_NAME),
            "static_provenance": Map(Json()),
            "datasets": Map(
                Check(
                    Obj(
                        {
                            "seeds": Seq(Int(*INT64), max_len=MAX_SEEDS, increasing=True),
                            "epochs": Seq(Int(1, INT64[1]), max_len=MAX_EPOCHS, increasing=True),
                            "n_runs": Int(0, INT64[1]),
                            "protocol": Map(Json()),
                            "provenance": Map(Json()),
                            **{kind: Map(_SUMMARY, key=_NAME) for kind in layout.DATASET_KINDS},
                        }
                    ),
                    lambda entry: not entry["curves"] or bool(entry["epochs"]),
                    "has per-epoch curves but no epochs",
                ),
                key=_NAME,
            ),
        },
        extra=Json(),
    ),
    lambda m: m["n_canonical"] <= m["n_archs"],
    "n_canonical exceeds n_archs",
)
#: The schema of a table's manifest (format 1), and of each part's own manifest (format 2).
MANIFEST: Schema = Check(
    Obj(
        {
            **_TABLE_FIELDS,
            "format_version": Int(1, layout.FORMAT_VERSION),
            "archs": Obj({"key": _CHECKSUM, "canonical": _CHECKSUM}),
            "static": Map(_METRIC, key=_NAME),
            "static_provenance": Map(Json()),
            "datasets": Map(_DATASET, key=_NAME),
        },
        extra=Json(),  # later writers may add fields (written_by); they are only shown
    ),
    lambda m: m["n_canonical"] <= m["n_archs"],
    "n_canonical exceeds n_archs",
)


def read_manifest(f: h5py.File, path: Path) -> dict[str, Any]:
    """Parse and check the manifest of an open table file.

    Raises:
        NotATableError: no nasbench-suite ``format`` attribute, or another format.
        TableSchemaError: a newer or malformed format version, a missing or oversized
            manifest, or one that breaks :data:`MANIFEST` (the message names the field).
        TableCorruptError: the manifest is not JSON or fails its checksum.
    """
    fmt = _attribute(f, path, "format", 1 << 10)
    if fmt is None:
        raise NotATableError(path, "an HDF5 file without the nasbench-suite 'format' attribute")
    if fmt != layout.FORMAT_NAME:
        raise NotATableError(path, f"format is {str(fmt)[:100]!r}, not {layout.FORMAT_NAME!r}")
    version = _attribute(f, path, "format_version", 64)
    if not isinstance(version, (int, np.integer)) or isinstance(version, (bool, np.bool_)) or version < 1:
        raise TableSchemaError(path, f"format version {str(version)[:60]!r} is not a positive integer")
    if version > layout.FORMAT_VERSION:
        raise TableSchemaError(
            path,
            f"format version {version} is newer than this nasbench-suite reads ({layout.FORMAT_VERSION});"
            " upgrade nasbench-suite",
        )
    text = _attribute(f, path, "manifest", MAX_MANIFEST_BYTES)
    stored_checksum = _attribute(f, path, "manifest_checksum", 1 << 10)
    if not isinstance(text, str) or not isinstance(stored_checksum, str):
        raise TableSchemaError(path, "the 'manifest' or 'manifest_checksum' attribute is missing or not text")
    manifest = _checked_json(path, text, stored_checksum, MANIFEST, "manifest", "its checksum")
    for name, entry in manifest["datasets"].items():
        if layout.dataset_checksum(entry) != entry["checksum"]:
            raise TableCorruptError(path, f"dataset {name!r}: manifest entry does not match its checksum")
    return manifest


def read_table_manifest(f: h5py.File, path: Path, checksum: str) -> dict[str, Any]:
    """The table manifest (format 2) that the last part ``f`` holds, which the commit record
    says has ``checksum``; parsed with the same bounds as a part's manifest.

    Raises:
        TableCorruptError: it is missing, not JSON, or does not match ``checksum``.
        TableSchemaError: it breaks :data:`TABLE_MANIFEST` (the message names the field).
    """
    text = _attribute(f, path, "table", MAX_MANIFEST_BYTES)
    if not isinstance(text, str):
        raise TableCorruptError(path, "the last part holds no table manifest")
    return _checked_json(path, text, checksum, TABLE_MANIFEST, "table", "its commit record")


def _checked_json(path: Path, text: str, checksum: str, schema: Schema, what: str, against: str) -> dict:
    """``text`` parsed within the bounds, checked against ``checksum``, then against ``schema``."""
    label = "manifest" if what == "manifest" else f"{what} manifest"
    try:
        manifest = parse_json(text, max_bytes=MAX_MANIFEST_BYTES, max_depth=MAX_DEPTH)
    except SchemaViolation as exc:
        raise TableCorruptError(path, f"the {label} {exc.reason}") from None
    if not isinstance(manifest, dict) or layout.json_checksum(manifest) != checksum:
        raise TableCorruptError(path, f"the {label} does not match {against}")
    try:
        schema.check(manifest, what)
    except SchemaViolation as exc:
        raise TableSchemaError(path, str(exc)) from None
    return manifest


def _attribute(f: h5py.File, path: Path, name: str, max_bytes: int) -> Any:
    """A root attribute as str or scalar (None when absent), its size checked before it is read."""
    try:
        if name not in f.attrs:
            return None
        attr = h5py.h5a.open(f.id, name.encode())
        if attr.shape not in ((), (1,)) or attr.get_storage_size() > max_bytes:
            raise TableSchemaError(path, f"the {name!r} attribute is not a single value of bounded size")
        value = f.attrs[name]
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise TableCorruptError(path, f"cannot read the attribute {name!r}: {_short(exc)}") from None
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size == 1 else None
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise TableSchemaError(path, f"the {name!r} attribute is not UTF-8 text") from None
    return value


def check_structure(f: h5py.File, path: Path) -> None:
    """Refuse a file that is not self-contained, or holds more than :data:`MAX_LINKS` links.

    Walks the link table with h5py's low-level visitor (no object is opened: a few ms
    for a whole table); a dataset that keeps its data elsewhere (virtual, external
    storage) is refused by :func:`check_array` before any of it is read.

    Raises:
        TableSchemaError: naming the first soft or external link.
    """
    problem: list[str] = []
    count = 0

    def visit(raw_name: bytes, info: Any) -> int | None:
        nonlocal count
        count += 1
        name = raw_name.decode("utf-8", "replace")
        if count > MAX_LINKS:
            problem.append(f"holds more than {MAX_LINKS:,} links")
        elif info.type == h5l.TYPE_EXTERNAL:
            target = f.get(name, getlink=True)
            problem.append(f"/{name} is an external link (to {target.filename!r}); a table is self-contained")
        elif info.type == h5l.TYPE_SOFT:
            problem.append(f"/{name} is a soft link; a table holds only its own groups and arrays")
        elif info.type != h5l.TYPE_HARD:
            problem.append(f"/{name} is a link of an unknown kind")
        return 1 if problem else None

    try:
        f.id.links.visit(visit, info=True)
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        raise TableCorruptError(path, f"cannot walk the file's groups: {_short(exc)}") from None
    if problem:
        raise TableSchemaError(path, problem[0])


#: Expected dtype kinds and item sizes by array role.
DTYPES = {"float": ("f", 8), "bool": ("b", 1), "int": ("i", 8), "key": ("S", None)}


def check_array(dset: Any, path: Path, where: str, shape: tuple[int, ...], role: str) -> None:
    """Refuse to read ``dset`` unless it is a plain array of ``shape`` and the role's dtype,
    with only gzip/shuffle/fletcher32 filters, that stores enough bytes for what it declares.

    Raises:
        TableSchemaError: naming the array and what differs.
    """
    if not isinstance(dset, h5py.Dataset) or dset.shape != shape:
        got = getattr(dset, "shape", type(dset).__name__)
        raise TableSchemaError(path, f"array {where} has shape {got}, expected {shape}")
    kind, size = DTYPES[role]
    dtype = dset.dtype
    if dtype.kind != kind or dtype.fields is not None or (size is not None and dtype.itemsize != size):
        raise TableSchemaError(path, f"array {where} has dtype {dtype}, expected {role} values")
    if role == "key" and dtype.itemsize > MAX_KEY_BYTES:
        raise TableSchemaError(path, f"array {where} holds keys longer than {MAX_KEY_BYTES} bytes")
    if dset.is_virtual:
        raise TableSchemaError(path, f"array {where} is a virtual dataset; a table is self-contained")
    if dset.external:
        raise TableSchemaError(
            path, f"array {where} stores its data in an external file; a table is self-contained"
        )
    if dset.compression not in (None, "gzip") or dset.scaleoffset is not None:
        raise TableSchemaError(path, f"array {where} uses a filter tables do not use ({dset.compression})")
    declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    stored = dset.id.get_storage_size()
    if declared > MAX_EXPANSION * stored:
        raise TableSchemaError(
            path,
            f"array {where} declares {declared:,} bytes but the file stores {stored:,} for it "
            f"(more than {MAX_EXPANSION}:1); refusing to allocate it",
        )


def check_regular_file(path: Path) -> None:
    """Refuse what is not a regular file (a FIFO would block the reader, a device never ends).

    Raises:
        NotATableError: naming what the path is.
    """
    if path.is_dir():
        raise NotATableError(path, "is a directory, not a table file")
    if not path.is_file():
        raise NotATableError(path, "is not a regular file (a FIFO, device or socket), not a table file")


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
