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
import io
import pickle
import struct
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


def _reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct as fn  # type: ignore[attr-defined]
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct as fn  # type: ignore[attr-defined,no-redef]
    return fn


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
            import numpy as np

            # _reconstruct only allocates an empty array of a numpy type; its bytes
            # then come from ndarray.__setstate__, which runs no code from the file.
            return np.ndarray if name == "ndarray" else _reconstruct()
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                self._source,
                f"pickle references the global {module}.{name}, which the restricted unpickler "
                "does not admit (only OrderedDict and numpy scalars/dtypes); refusing to load it",
            )
        if module == "collections":
            from collections import OrderedDict

            return OrderedDict
        import numpy as np

        if name == "dtype":
            return np.dtype
        # Resolve whichever of numpy.core / numpy._core this numpy provides,
        # without importing the deprecated alias (it warns under numpy 2).
        try:
            from numpy._core.multiarray import scalar  # type: ignore[attr-defined]
        except ImportError:  # numpy < 2
            from numpy.core.multiarray import scalar  # type: ignore[attr-defined,no-redef]
        return scalar

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(self._source, "pickle uses persistent ids, which are not admitted")


def loads(data: bytes, source: object = "<pickle>") -> Any:
    """Unpickle ``data`` with :class:`SafeUnpickler`.

    Raises:
        UnsafePickleError: the pickle names a global outside the allow-list.
        ImportSourceError: the bytes are not a valid pickle.
    """
    return _load(SafeUnpickler(io.BytesIO(data), source), source)


def loads_arrays(data: bytes, source: object = "<pickle>") -> Any:
    """Unpickle a Python 2 pickle of plain containers and numpy arrays (the CIFAR batches).

    Strings come back as ``bytes`` (the archives were written by Python 2).

    Raises:
        UnsafePickleError: the pickle names any other global.
        ImportSourceError: the bytes are not a valid pickle.
    """
    return _load(SafeUnpickler(io.BytesIO(data), source, arrays=True, encoding="bytes"), source)


# What a malformed (not malicious) pickle makes the unpickler raise.
_MALFORMED = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    MemoryError,
    RecursionError,
    OverflowError,
    struct.error,
)


def _load(unpickler: SafeUnpickler, source: object) -> Any:
    """Run ``unpickler``: a malformed pickle becomes ImportSourceError; UnsafePickleError passes."""
    try:
        return unpickler.load()
    except UnsafePickleError:
        raise
    except _MALFORMED as exc:
        raise ImportSourceError(source, f"not a valid pickle ({type(exc).__name__}: {exc})") from None


def load_pbz2(path: Path) -> Any:
    """Read a bz2-compressed pickle (``*.pickle.pbz2``) with the restricted unpickler.

    Args:
        path: the ``.pbz2`` file.

    Raises:
        ImportSourceError: the file is missing, not bz2, or not a valid pickle.
        UnsafePickleError: the pickle names a global outside the allow-list.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportSourceError(path, "no such file") from None
    except OSError as exc:
        raise ImportSourceError(path, f"cannot read file ({exc.strerror or exc})") from None
    try:
        data = bz2.decompress(raw)
    except (OSError, ValueError, EOFError) as exc:
        raise ImportSourceError(path, f"not a bz2-compressed pickle ({exc})") from None
    return loads(data, path)
