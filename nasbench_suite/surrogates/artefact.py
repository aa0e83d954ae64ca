"""Surrogate artefacts on disk: a directory of model files beside one JSON manifest.

Layout of an artefact directory (docs/surrogates.md, "Artefacts")::

    NAME/
      manifest.json               what this is, what it was fitted on, checksums
      MODEL_CARD.md               for people (optional)
      <dataset>/<target>/...      one predictor per (dataset, target), in its library's
                                  own format (XGBoost UBJ, torch state_dict), never pickle

Loading reads the manifest, checks its format version, the search space, and the
BLAKE2b checksum of every model file before any model file is parsed, so a
tampered or truncated file is reported by name instead of giving wrong answers.
A different *major* version of a library the models were saved with gives a
:class:`SurrogateVersionWarning` (the formats used are stable across minor
versions; across majors the predictions should be re-checked), not an error.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import warnings
from pathlib import Path
from typing import Any

from nasbench_suite._schema import SchemaViolation, Seq, Str, parse_json
from nasbench_suite.errors import NasbenchError, SurrogateArtefactError
from nasbench_suite.provenance import installed_version
from nasbench_suite.spaces.base import SearchSpace
from nasbench_suite.surrogates import artefact_schema
from nasbench_suite.tabular.layout import json_checksum

FORMAT = "nasbench-suite-surrogate"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Libraries whose versions a manifest records (``torch`` only when a model used it).
LIBRARIES = ("numpy", "scipy", "scikit-learn", "xgboost", "torch")
#: Short names of the artefacts the package ships as data (``open_benchmark("nb201")``); others
#: present under :func:`shipped_root` (the learning-curve ``nb201-cpu-lc``) are found by name too.
SHIPPED = ("nb201",)
#: ``kind`` of a learning-curve artefact's manifest (final-result artefacts have none).
CURVES = "learning-curves"


class SurrogateVersionWarning(UserWarning):
    """A library's installed major version differs from the one an artefact was saved with."""


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """BLAKE2b-128 of the canonical JSON of ``manifest`` without its ``manifest_checksum``."""
    return json_checksum({k: v for k, v in manifest.items() if k != "manifest_checksum"})


def file_checksum(path: str | Path) -> str:
    """BLAKE2b-128 of a file's bytes, as hex."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def library_versions(uses_torch: bool = False) -> dict[str, str]:
    """Installed versions of :data:`LIBRARIES` and nasbench-suite.

    torch is recorded only for models that use it (``uses_torch``): whether some other
    code in the process happened to import it says nothing about the artefact.
    """
    from nasbench_suite._version import __version__

    out = {"nasbench-suite": __version__}
    for name in LIBRARIES:
        if name == "torch" and not uses_torch:
            continue
        try:
            out[name] = installed_version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def save_predictor(predictor: Any, root: Path, relative: str) -> dict[str, Any]:
    """Save a fitted predictor under ``root / relative``; returns its manifest entry.

    The entry holds the predictor's spec (name, seed, params, state, files) and the
    checksum of each file, keyed by its path relative to ``root``.
    """
    directory = root / relative
    spec = predictor.save(directory)
    checksums = {f"{relative}/{name}": file_checksum(directory / name) for name in spec["files"]}
    return {"directory": relative, "spec": spec, "checksums": checksums}


def load_predictor(space: SearchSpace, root: Path, entry: dict[str, Any]) -> Any:
    """Rebuild the predictor of a manifest entry written by :func:`save_predictor`.

    Raises:
        SurrogateArtefactError: a listed file is missing or fails its checksum, or the
            predictor cannot be rebuilt (unknown name or parameter).
    """
    from nasbench_suite.surrogates import predictors

    directory = inside(root, entry["directory"])
    listed = {f"{entry['directory']}/{name}" for name in entry["spec"]["files"]}
    if listed != set(entry["checksums"]):
        raise SurrogateArtefactError(
            directory, "the model's files and the files the manifest has checksums of differ"
        )
    verify_files(root, entry["checksums"])
    try:
        return predictors.load_predictor(space, directory, entry["spec"])
    except (NasbenchError, ValueError, KeyError, OSError, TypeError) as exc:
        raise SurrogateArtefactError(root / entry["directory"], f"cannot load the model: {exc}") from None


def verify_files(root: Path, checksums: dict[str, str]) -> None:
    """Check each ``relative path -> checksum`` under ``root``.

    Raises:
        SurrogateArtefactError: naming the first missing or changed file.
    """
    for relative, expected in sorted(checksums.items()):
        path = inside(root, relative)
        if not path.is_file():
            raise SurrogateArtefactError(path, "model file listed in the manifest is missing")
        if path.stat().st_size > artefact_schema.MAX_MODEL_FILE_BYTES:
            raise SurrogateArtefactError(
                path, f"model file is larger than the limit of {artefact_schema.MAX_MODEL_FILE_BYTES:,} bytes"
            )
        actual = file_checksum(path)
        if actual != expected:
            raise SurrogateArtefactError(
                path,
                f"model file does not match its manifest checksum (expected {expected}, found {actual}): "
                "it was changed or damaged after it was saved",
            )


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it resolves inside ``root`` (symbolic links followed).

    Raises:
        SurrogateArtefactError: the path leaves the artefact.
    """
    path = root / relative
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        raise SurrogateArtefactError(path, "leaves the artefact directory; refusing to read it") from None
    return path


def read_reference_archs(root: Path, ref: dict[str, str]) -> list[str]:
    """The architecture keys of a manifest's ``reference_archs`` entry (file checked first).

    Raises:
        SurrogateArtefactError: the file is missing, changed, or not a JSON list of keys.
    """
    verify_files(root, {ref["file"]: ref["checksum"]})
    path = inside(root, ref["file"])
    try:
        keys = parse_json(path.read_bytes(), max_bytes=artefact_schema.MAX_MODEL_FILE_BYTES, max_depth=1)
        Seq(Str(max_len=100_000), max_len=10**9).check(keys, ref["file"])
    except SchemaViolation as exc:
        raise SurrogateArtefactError(path, f"not a list of architecture keys: {exc}") from None
    return keys


def write_manifest(root: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest`` (format, version and checksum added) as ``root/manifest.json``."""
    root.mkdir(parents=True, exist_ok=True)
    full = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest}
    full["manifest_checksum"] = manifest_checksum(full)
    path = root / MANIFEST
    path.write_text(json.dumps(full, indent=1, allow_nan=False) + "\n")
    return path


def read_manifest(root: str | Path) -> dict[str, Any]:
    """Read and check an artefact's manifest (not yet its model files).

    Checks: the file is a regular file of bounded size holding JSON of bounded depth;
    ``format`` and ``format_version``; the manifest's checksum; every field against
    :data:`~nasbench_suite.surrogates.artefact_schema.MANIFEST`; the search space is
    registered; library major versions (warns).

    Raises:
        SurrogateArtefactError: naming the path and what does not match.
    """
    from nasbench_suite import spaces

    root = Path(root)
    path = root / MANIFEST
    if not path.is_file():
        what = "no such directory" if not root.exists() else f"no {MANIFEST} in it"
        raise SurrogateArtefactError(root, f"not a surrogate artefact: {what}")
    try:
        if path.stat().st_size > artefact_schema.MAX_MANIFEST_BYTES:
            raise SurrogateArtefactError(
                path, f"larger than the limit of {artefact_schema.MAX_MANIFEST_BYTES:,} bytes"
            )
        limits = {"max_bytes": artefact_schema.MAX_MANIFEST_BYTES, "max_depth": artefact_schema.MAX_DEPTH}
        manifest = parse_json(path.read_bytes(), **limits)
    except SchemaViolation as exc:
        raise SurrogateArtefactError(path, f"not a readable manifest: it {exc.reason}") from None
    except OSError as exc:
        raise SurrogateArtefactError(path, f"cannot read it ({exc.strerror or exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise SurrogateArtefactError(path, f"format is {found!r}, not {FORMAT!r}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise SurrogateArtefactError(
            path, f"format version {version!r} is not the supported version {FORMAT_VERSION}"
        )
    if "manifest_checksum" not in manifest:
        raise SurrogateArtefactError(
            path, "the manifest has no manifest_checksum (written before checksums): refit the artefact"
        )
    if manifest_checksum(manifest) != manifest["manifest_checksum"]:
        raise SurrogateArtefactError(
            path, "the manifest does not match its checksum: it was changed or damaged after it was saved"
        )
    # A learning-curve artefact has its own dataset entries (curves, not final targets).
    schema = artefact_schema.CURVE_MANIFEST if manifest.get("kind") == CURVES else artefact_schema.MANIFEST
    try:
        schema.check(manifest, "manifest")
    except SchemaViolation as exc:
        raise SurrogateArtefactError(path, str(exc)) from None
    if manifest["space"] not in spaces.available():
        raise SurrogateArtefactError(
            path,
            f"search space {manifest['space']!r} is not registered (known: {', '.join(spaces.available())}); "
            "import the module that registers it (--plugin)",
        )
    check_library_versions(path, manifest["libraries"])
    return manifest


def check_library_versions(path: Path, saved: dict[str, str]) -> None:
    """Warn (:class:`SurrogateVersionWarning`) for each library whose installed major version
    differs from the saved one; libraries not installed are left to the model loader."""
    for name, version in sorted(saved.items()):
        if name == "nasbench-suite" or name not in LIBRARIES:
            continue
        try:
            installed = installed_version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if _major(installed) != _major(version):
            warnings.warn(
                f"{path}: saved with {name} {version}, installed {name} {installed} (major version "
                "differs); check its predictions against the table before relying on them",
                SurrogateVersionWarning,
                stacklevel=3,
            )


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def check_space(path: Path, manifest: dict[str, Any], space: SearchSpace) -> None:
    """Raise SurrogateArtefactError unless ``space`` is the manifest's space and config."""
    if space.name != manifest["space"] or space.config() != manifest["space_config"]:
        raise SurrogateArtefactError(
            path,
            f"fitted for space {manifest['space']!r} {manifest['space_config']}, "
            f"not {space.name!r} {space.config()}",
        )


def shipped_root() -> Path:
    """The folder of the shipped artefacts: package data of ``nasbench_suite`` (``data/surrogates``),
    installed by any ``pip install`` or wheel, found through :mod:`importlib.resources`."""
    from importlib import resources

    return Path(str(resources.files("nasbench_suite").joinpath("data", "surrogates")))


def shipped_artefact(name: str) -> Path:
    """Path of the shipped artefact ``name`` (e.g. ``"nb201"``).

    Raises:
        SurrogateArtefactError: the directory or its manifest is absent (naming the path).
    """
    path = shipped_root() / name
    if not (path / MANIFEST).is_file():
        raise SurrogateArtefactError(
            path,
            f"the shipped surrogate {name!r} is missing from the installed package (package data "
            "nasbench_suite/data/surrogates); reinstall nasbench-suite, or fit one with "
            f"`nasbench surrogate fit TABLE.h5 -o {name}`",
        )
    return path


def shipped_path(name: str) -> Path | None:
    """The shipped artefact called ``name``, or None when no shipped artefact has that name.

    Raises:
        SurrogateArtefactError: ``name`` is a shipped name but its directory is incomplete.
    """
    return shipped_artefact(name) if name in {*SHIPPED, *shipped_names()} else None


def shipped_names() -> list[str]:
    """Names of the shipped artefacts present in :func:`shipped_root`, sorted."""
    root = shipped_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST).is_file())
