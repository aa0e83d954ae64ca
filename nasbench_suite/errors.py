"""Named exceptions of nasbench-suite.

Every error caused by bad input derives from :class:`NasbenchError`, carries the
offending value, and has a one-line message a person can act on. The CLI prints
that line and exits 2 (1 for ``verify`` finding corruption); it never shows a
traceback for these.

``UnknownArchError`` and its relatives also derive from ``LookupError`` (and the
format errors from ``ValueError``) so that generic handlers keep working, but
code should catch the named class.
"""

from __future__ import annotations


class NasbenchError(Exception):
    """Base class of every error nasbench-suite raises on bad input."""


# --- architectures and spaces -------------------------------------------------


class UnknownSpaceError(NasbenchError, LookupError):
    """No search space is registered under this name."""

    def __init__(self, name: str, known: list[str] | tuple[str, ...] = ()):
        self.name = name
        hint = f"; known spaces: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"unknown search space {name!r}{hint}")


class SpaceConfigError(NasbenchError, ValueError):
    """A space's config (from a caller or a file's manifest) is not one the space accepts."""

    def __init__(self, space: str, config: object, reason: str):
        self.space = space
        self.config = config
        shown = repr(config)
        super().__init__(f"search space {space!r} does not accept the config {shown[:200]}: {reason}")


class MalformedArchError(NasbenchError, ValueError):
    """An architecture string or object does not describe an architecture of the space."""

    def __init__(self, space: str, text: object, reason: str):
        self.space = space
        self.text = text
        self.reason = reason
        shown = text if isinstance(text, str) else repr(text)
        if len(shown) > 200:
            shown = shown[:197] + "..."
        super().__init__(f"malformed {space} architecture {shown!r}: {reason}")


class InvalidArchError(MalformedArchError):
    """Well-formed but violates a constraint of the space (too many edges, no path...)."""


# --- tables -------------------------------------------------------------------


class TableError(NasbenchError):
    """Base class of errors about a table file."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class TableNotFoundError(TableError, FileNotFoundError):
    """The table file does not exist."""

    def __init__(self, path: object, reason: str = "no such file"):
        super().__init__(path, reason)


class NotATableError(TableError):
    """The file exists but is not a nasbench-suite table (not HDF5, or another format)."""


class TableSchemaError(TableError):
    """The file is a nasbench-suite table whose layout breaks the schema; the message names what."""


class TableCorruptError(TableError):
    """Stored bytes do not match their checksum, or HDF5 cannot read them."""


class TableLockedError(TableError):
    """Another process is appending to the table."""


# --- queries ------------------------------------------------------------------


class QueryError(NasbenchError, LookupError):
    """Base class of errors raised by ``Benchmark.query`` for something not stored."""


class UnknownArchError(QueryError):
    """The architecture is valid in the space but not stored in the table."""

    def __init__(self, arch: str, where: str = "the table"):
        self.arch = arch
        super().__init__(f"architecture {arch!r} is not in {where}")


class UnknownDatasetError(QueryError):
    def __init__(self, dataset: str, known: list[str] | tuple[str, ...]):
        self.dataset = dataset
        self.known = tuple(known)
        super().__init__(f"unknown dataset {dataset!r}; known datasets: {', '.join(known)}")


class UnknownSeedError(QueryError):
    def __init__(self, seed: object, known: list[int] | tuple[int, ...], detail: str = ""):
        self.seed = seed
        self.known = tuple(known)
        extra = f" {detail}" if detail else ""
        super().__init__(
            f"seed {seed!r} is not stored{extra}; stored seeds: "
            f"{', '.join(str(s) for s in known)}; or use 'mean' or 'sample'"
        )


class UnknownEpochError(QueryError):
    def __init__(self, epoch: object, detail: str):
        self.epoch = epoch
        super().__init__(f"epoch {epoch!r} is not stored: {detail}")


class UnknownMetricError(QueryError):
    def __init__(self, metric: str, known: list[str] | tuple[str, ...]):
        self.metric = metric
        self.known = tuple(known)
        super().__init__(f"unknown metric {metric!r}; stored metrics: {', '.join(known)}")


class MissingValueError(QueryError):
    """The entry exists but the asked value was not measured (NaN in the table)."""


# --- importers ----------------------------------------------------------------


class ImportSourceError(NasbenchError, ValueError):
    """An importer's source folder or file is missing or does not have the expected layout."""

    def __init__(self, source: object, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class UnsafePickleError(ImportSourceError):
    """A pickle referenced a global outside the restricted unpickler's allow-list."""


# --- surrogates -----------------------------------------------------------------


class SurrogateArtefactError(NasbenchError, ValueError):
    """A surrogate artefact directory is missing, incomplete, tampered with, or does not match
    what its manifest (or the caller) expects; the message names the path and what differs."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


# --- outputs ----------------------------------------------------------------------


class OutputError(NasbenchError, OSError):
    """A file or folder the project writes cannot be written (a full disk, no permission, a
    FIFO or device where a file belongs); the message names the path, the reason and the errno.
    Whatever was there before is left as it was, and nothing is left beside it."""

    def __init__(self, path: object, reason: str, errno: int | None = None):
        self.path = str(path)
        self.reason = reason
        OSError.__init__(self, errno, reason)
        self.filename = self.path

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


# --- plugins ----------------------------------------------------------------------


class PluginError(NasbenchError, ImportError):
    """An installed plugin (an entry point of a ``nasbench_suite.*`` group) failed to load,
    or loaded something that is not what its group registers; the message names it."""

    def __init__(self, group: str, name: str, target: str, reason: str):
        self.group = group
        self.plugin = name
        self.target = target
        self.reason = reason
        super().__init__(f"plugin {name!r} ({target}, entry-point group {group}) failed to load: {reason}")
