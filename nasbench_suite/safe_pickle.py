"""The project's only unpickler: a restricted one, for the published files that are pickles.

Plain ``pickle.load`` runs whatever a file asks for: any global a pickle names is
imported and may be called. :class:`SafeUnpickler` admits a fixed list of globals and
refuses everything else *before* anything is called (``find_class`` runs when the
global is looked up, ahead of the ``REDUCE`` that would call it); persistent ids are
refused too. What it admits:

- :func:`loads` and :func:`load_pbz2` (the official NATS-Bench "simple" files, read by
  ``importers/nats_tss.py``): plain containers, ``collections.OrderedDict``,
  ``numpy.dtype`` and numpy scalars (:data:`ALLOWED_GLOBALS`);
- :func:`loads_arrays` (the official CIFAR python batches, read by ``train/cifar.py``):
  the same plus whole numpy arrays (:data:`ARRAY_GLOBALS`), whose bytes are set by
  ``ndarray.__setstate__``, which runs no code from the file.

Ground floor: it imports only the standard library, numpy and ``nasbench_suite.errors``.
"""

from __future__ import annotations

import bz2
import functools
import io
import pickle
import pickletools
from pathlib import Path
from typing import Any

from nasbench_suite.errors import ImportSourceError, UnsafePickleError

# (module, name) pairs a NATS-Bench pickle may reference. numpy 2 renamed
# numpy.core to numpy._core; files written by either version name one of them.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("collections", "OrderedDict"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }
)


# Further globals admitted by ``loads_arrays``: whole numpy arrays (the CIFAR python batches).
ARRAY_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


#: numpy dtypes a pickle may name: booleans, integers and floats of at most 8 bytes.
PLAIN_DTYPES = frozenset(f"{k}{n}" for k, sizes in (("b", (1,)), ("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8)),
                                                  ("f", (2, 4, 8))) for n in sizes)  # fmt: skip


def _plain_dtype(name: Any, align: Any = False, copy: Any = True) -> Any:
    """``numpy.dtype`` for the names in :data:`PLAIN_DTYPES` only, always a fresh copy (a
    pickle's BUILD then sets the state of that copy, never of numpy's shared dtype)."""
    import numpy as np

    text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
    if not isinstance(text, str) or text not in PLAIN_DTYPES:
        raise pickle.UnpicklingError(f"dtype {str(name)[:40]!r} is not a plain number type")
    return np.dtype(text, False, True)


def _plain_scalar(dtype: Any, data: Any = None) -> Any:
    """``numpy.core.multiarray.scalar`` for plain number dtypes and exactly their bytes."""
    import numpy as np

    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf" or dtype.fields is not None:
        raise pickle.UnpicklingError("a numpy scalar of a dtype that is not a plain number type")
    if isinstance(data, str):  # Python 2 pickles read with encoding="latin1"
        data = data.encode("latin1")
    clean = np.dtype(dtype.str)  # drops whatever a BUILD set besides byte order and size
    if not isinstance(data, bytes) or len(data) != clean.itemsize:
        raise pickle.UnpicklingError(f"a numpy {clean} scalar needs {clean.itemsize} bytes")
    return np.frombuffer(data, dtype=clean)[0]


@functools.lru_cache(maxsize=1)
def _checked_array_type() -> type:
    import numpy as np

    class CheckedArray(np.ndarray):
        """An ndarray whose pickled state must be plain: C or Fortran bytes of a plain number
        dtype, exactly as many as its shape needs (never objects, never a crafted dtype)."""

        def __setstate__(self, state: Any) -> None:
            if not (isinstance(state, tuple) and len(state) == 5):
                raise pickle.UnpicklingError("array state is not (version, shape, dtype, fortran, bytes)")
            version, shape, dtype, fortran, raw = state
            if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf" or dtype.fields is not None:
                raise pickle.UnpicklingError("an array of a dtype that is not a plain number type")
            clean = np.dtype(dtype.str)
            if (
                not isinstance(shape, tuple)
                or len(shape) > 32
                or not all(isinstance(n, int) and 0 <= n <= 2**40 for n in shape)
            ):
                raise pickle.UnpicklingError(f"array shape {str(shape)[:60]} is not a tuple of sizes")
            if isinstance(raw, str):
                raw = raw.encode("latin1")
            size = 1
            for n in shape:
                size *= n
            if not isinstance(raw, bytes) or len(raw) != size * clean.itemsize:
                raise pickle.UnpicklingError(f"array of shape {shape} and dtype {clean}: wrong byte count")
            super().__setstate__((version, shape, clean, bool(fortran), raw))

    return CheckedArray


def _empty_array(cls: Any, shape: Any = (0,), typecode: Any = b"b") -> Any:
    """``numpy.core.multiarray._reconstruct``: an empty array, of the checked type only."""
    checked = _checked_array_type()
    if not (isinstance(cls, type) and issubclass(cls, checked.__mro__[1])):
        raise pickle.UnpicklingError("array reconstruction of a type that is not numpy.ndarray")
    return checked((0,), dtype="b")


class SafeUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only the globals in :data:`ALLOWED_GLOBALS`.

    Args:
        file: a binary file object holding one pickle.
        source: path or label shown in error messages.
    """

    def __init__(
        self,
        file: io.BufferedIOBase | io.BytesIO,
        source: object = "<pickle>",
        *,
        arrays: bool = False,
        encoding: str = "ASCII",
    ):
        super().__init__(file, encoding=encoding)
        self._source = source
        self._arrays = arrays

    def find_class(self, module: str, name: str) -> Any:
        if self._arrays and (module, name) in ARRAY_GLOBALS:
            # _reconstruct only allocates an empty array; its bytes then come from
            # __setstate__, which here admits plain number dtypes and exact byte counts only.
            return _checked_array_type() if name == "ndarray" else _empty_array
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                self._source,
                f"pickle references the global {module}.{name}, which the restricted unpickler "
                "does not admit (only OrderedDict and numpy scalars/dtypes); refusing to load it",
            )
        if module == "collections":
            from collections import OrderedDict

            return OrderedDict
        return _plain_dtype if name == "dtype" else _plain_scalar

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(self._source, "pickle uses persistent ids, which are not admitted")


def loads(data: bytes, source: object = "<pickle>") -> Any:
    """Unpickle ``data`` with :class:`SafeUnpickler`.

    Raises:
        UnsafePickleError: the pickle names a global outside the allow-list.
        ImportSourceError: the bytes are not a valid pickle.
    """
    check_structure(data, source)
    return _load(SafeUnpickler(io.BytesIO(data), source), source)


def loads_arrays(data: bytes, source: object = "<pickle>") -> Any:
    """Unpickle a Python 2 pickle of plain containers and numpy arrays (the CIFAR batches).

    Strings come back as ``bytes`` (the archives were written by Python 2).

    Raises:
        UnsafePickleError: the pickle names any other global.
        ImportSourceError: the bytes are not a valid pickle.
    """
    check_structure(data, source)
    return _load(SafeUnpickler(io.BytesIO(data), source, arrays=True, encoding="bytes"), source)


#: Deepest nesting of containers a pickle may build (NATS-Bench files nest 7 deep).
MAX_DEPTH = 32
#: Most values (counted through shared references) a tuple or frozenset may hold in all:
#: hashing one visits every one of them, so a few shared references nest to billions.
MAX_HASHED_VALUES = 256
#: Longest decompressed pickle :func:`load_pbz2` reads (NATS-Bench files are under 2 MB).
MAX_DECOMPRESSED_BYTES = 64 << 20

_HASHED = {"TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "FROZENSET"}
_FROM_MARK = {"TUPLE", "LIST", "DICT", "FROZENSET", "INST", "OBJ"}
_INTO_BELOW_MARK = {"APPENDS", "SETITEMS", "ADDITEMS"}


def check_structure(data: bytes, source: object = "<pickle>") -> None:
    """Walk the opcodes of ``data`` without building anything and refuse a pickle that nests
    containers deeper than :data:`MAX_DEPTH` or builds a tuple or frozenset of more than
    :data:`MAX_HASHED_VALUES` values (shared references counted every time they occur).

    Raises:
        ImportSourceError: naming the bound exceeded, or opcodes that are not a pickle.
    """
    # Each stack entry is [values, depth]; a memo entry shares it, so that a container
    # grown after being memoised (APPENDS into a memoised list) is seen everywhere.
    stack: list = []
    marks: list[int] = []
    memo: dict = {}
    try:
        for op, arg, _ in pickletools.genops(data):
            name = op.name
            if name == "MARK":
                marks.append(len(stack))
                continue
            if name in _FROM_MARK:
                base = marks.pop()
                items, stack[base:] = stack[base:], []
                entry = [1 + sum(i[0] for i in items) if name in ("TUPLE", "FROZENSET") else 1,
                         1 + max((i[1] for i in items), default=0)]  # fmt: skip
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                items, stack[len(stack) - n :] = stack[len(stack) - n :], []
                entry = [1 + sum(i[0] for i in items), 1 + max(i[1] for i in items)]
            elif name in _INTO_BELOW_MARK or name in ("APPEND", "SETITEM", "BUILD"):
                pops = 2 if name == "SETITEM" else 1
                base = marks.pop() if name in _INTO_BELOW_MARK else len(stack) - pops
                items, stack[base:] = stack[base:], []
                target = stack[-1]
                target[1] = max(target[1], 1 + max((i[1] for i in items), default=0))
                _bound(target, source)
                continue
            elif name in ("POP", "POP_MARK"):
                base = marks.pop() if name == "POP_MARK" else len(stack) - 1
                del stack[base:]
                continue
            elif name == "DUP":
                entry = stack[-1]
            elif name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
                continue
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                entry = memo[arg]
            elif name in ("REDUCE", "NEWOBJ", "NEWOBJ_EX", "STACK_GLOBAL"):
                n = {"REDUCE": 2, "NEWOBJ": 2, "NEWOBJ_EX": 3, "STACK_GLOBAL": 2}[name]
                items, stack[len(stack) - n :] = stack[len(stack) - n :], []
                entry = [1, max(i[1] for i in items)]
            elif name in ("PROTO", "FRAME", "STOP", "PERSID", "BINPERSID"):
                if name == "BINPERSID":
                    stack.pop()
                continue
            else:  # an opcode that pushes one plain value (a number, a string, a global, an empty container)
                entry = [1, 0]
            _bound(entry, source)
            stack.append(entry)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ImportSourceError(source, f"not a valid pickle ({type(exc).__name__}: {exc})") from None


def _bound(entry: list, source: object) -> None:
    if entry[1] > MAX_DEPTH:
        raise ImportSourceError(source, f"pickle nests containers deeper than the limit of {MAX_DEPTH}")
    if entry[0] > MAX_HASHED_VALUES:
        raise ImportSourceError(
            source, f"pickle builds a tuple of more than {MAX_HASHED_VALUES} values (shared ones counted)"
        )


def _load(unpickler: SafeUnpickler, source: object) -> Any:
    """Run ``unpickler``: a malformed pickle becomes ImportSourceError; UnsafePickleError passes."""
    try:
        return unpickler.load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # any failure of the restricted unpickler on bytes from elsewhere
        raise ImportSourceError(source, f"not a valid pickle ({type(exc).__name__}: {exc})") from None


def load_pbz2(path: Path) -> Any:
    """Read a bz2-compressed pickle (``*.pickle.pbz2``) with the restricted unpickler.

    Args:
        path: the ``.pbz2`` file.

    Raises:
        ImportSourceError: the file is missing, not bz2, or not a valid pickle.
        UnsafePickleError: the pickle names a global outside the allow-list.
    """
    path = Path(path)
    if not path.is_file():
        what = "no such file" if not path.exists() else "not a regular file"
        raise ImportSourceError(path, what)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportSourceError(path, f"cannot read file ({exc.strerror or exc})") from None
    return loads(decompress_bz2(raw, path), path)


def decompress_bz2(raw: bytes, source: object, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Decompress ``raw`` (one bz2 stream or several concatenated, like ``bz2.decompress``),
    never holding more than ``limit`` bytes of output.

    Raises:
        ImportSourceError: not bz2, truncated, or more than ``limit`` bytes decompressed.
    """
    out = bytearray()
    rest = raw
    try:
        while True:
            decompressor = bz2.BZ2Decompressor()
            chunk = decompressor.decompress(rest, max_length=limit + 1 - len(out))
            while True:
                out += chunk
                if len(out) > limit:
                    raise ImportSourceError(
                        source, f"decompresses to more than the limit of {limit:,} bytes; refusing it"
                    )
                if decompressor.eof or decompressor.needs_input:
                    break
                chunk = decompressor.decompress(b"", max_length=limit + 1 - len(out))
            if not decompressor.eof:
                raise ImportSourceError(source, "the bz2 stream is truncated")
            rest = decompressor.unused_data
            if not rest:
                return bytes(out)
    except (OSError, ValueError, EOFError) as exc:
        raise ImportSourceError(source, f"not a bz2-compressed pickle ({exc})") from None
