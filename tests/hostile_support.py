"""Hostile inputs for the readers' tests: an isolated runner with bounded memory and time,
crafted files (tables with valid checksums, NATS and CIFAR pickles, artefacts), and the
values an adversary puts into them.

:func:`run_isolated` runs a reader in a forked child under ``RLIMIT_AS`` (the child's current
address space plus :data:`MEMORY_HEADROOM`) and a wall-clock bound, and says how it ended:
``ok`` (returned), ``named`` (raised a :class:`NasbenchError`), or a failure: ``other``
(any other exception, with its last traceback line), ``timeout``, ``signal`` (killed, e.g.
by a segmentation fault) or ``memory`` (MemoryError: the bound was hit).
"""

from __future__ import annotations

import bz2
import hashlib
import json
import pickle
import resource
import struct
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench_suite.errors import NasbenchError
from nasbench_suite.tabular import layout

#: Address space a reader may add to what the child holds when it starts.
MEMORY_HEADROOM = 1 << 30
#: Wall-clock bound of one case, in seconds (generous: the machine is shared).
CASE_SECONDS = 60.0

OK_OUTCOMES = ("ok", "named")


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(conn: Any, fn: Callable[..., Any], args: tuple) -> None:
    limit = _vm_size() + MEMORY_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        fn(*args)
        outcome, detail = "ok", ""
    except NasbenchError as exc:
        outcome, detail = "named", str(exc)
    except MemoryError:
        outcome, detail = "memory", traceback.format_exc(limit=-3)
    except BaseException as exc:  # every other end is what this looks for
        outcome, detail = "other", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-4)}"
    conn.send((outcome, detail[:4000]))
    conn.close()


#: Imported once by the server that forks the children, so that a case does not pay for them.
_PRELOAD = [
    "pytest", "pandas", "h5py", "xgboost", "scipy.special", "tests.support", "tests.hostile_support",
    "nasbench_suite.tabular", "nasbench_suite.importers", "nasbench_suite.bench.surrogate",
    "nasbench_suite.surrogates.fitting",
]  # fmt: skip


def _context() -> Any:
    import multiprocessing

    # A fresh server process forks the children: forking the test process itself would copy
    # threads' locks (OpenMP after an XGBoost fit) that no thread of the child ever releases.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def run_isolated(fn: Callable[..., Any], *args: Any, seconds: float = CASE_SECONDS) -> tuple[str, str]:
    """Run ``fn(*args)`` (picklable: a module-level function) in a child process with bounded
    memory and time; returns (outcome, detail)."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, fn, args))
    process.start()
    send.close()
    try:
        if not receive.poll(seconds):
            process.kill()
            process.join()
            return "timeout", f"still running after {seconds} s"
        try:
            outcome, detail = receive.recv()
        except EOFError:
            process.join()
            return "signal", f"child ended with exit code {process.exitcode}"
    finally:
        receive.close()
    process.join()
    return outcome, detail


def assert_handled(outcome: tuple[str, str], what: str = "") -> None:
    """Fail unless the reader returned or raised a named error."""
    assert outcome[0] in OK_OUTCOMES, f"{what}: {outcome[0]}: {outcome[1]}"


# --- hostile values --------------------------------------------------------------------

HOSTILE_VALUES: list[Any] = [
    -1, -5, 0, 2**31, 2**63, 2**70, -(2**70), True, False, None, 1.5, 1e30, -1e30,
    float("nan"), float("inf"), float("-inf"), "", "-5", "5", "\x00", "a/b", "../x", "/etc/passwd",
    "x" * 5000, "\u00ff", [], {}, [1, "a"], {"a": 1}, [[[[[]]]]], "nan", "1e999",
]  # fmt: skip


def deep(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


def json_paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys and indexes) of a JSON-like value, the root included."""
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += json_paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:20]):
            out += json_paths(v, (*prefix, i))
    return out


def mutate(obj: Any, path: tuple, action: str, value: Any) -> Any:
    """``obj`` with the value at ``path`` replaced (``set``), removed (``del``) or given a
    new sibling key (``add``); the root itself is replaced for an empty path."""
    if not path:
        return value
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "del":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[f"{last}_extra"] = value
    else:
        parent[last] = value
    return obj


# --- surrogate artefacts --------------------------------------------------------------


def fit_toy_artefact(tmp_path_factory: Any, name: str) -> Path:
    """A small XGBoost artefact fitted on an 81-arch synthetic table (a module fixture's body)."""
    from nasbench_suite.surrogates.fitting import fit_surrogate
    from nasbench_suite.tabular import write_table
    from tests.support import synthetic_table

    table = tmp_path_factory.mktemp(f"{name}-table") / "toy.h5"
    write_table(table, synthetic_table(n_archs=81, missing_fraction=0.1))
    out = tmp_path_factory.mktemp(f"{name}-artefact") / "toy"
    return fit_surrogate(table, out, params={"n_estimators": 5}, cv_folds=2, description="toy")


def edit_manifest(root: Path, change: Callable[[dict], Any], *, sign: bool = True) -> None:
    """Change an artefact's manifest; ``sign`` recomputes its checksum, as a crafted one would."""
    from nasbench_suite.surrogates import artefact

    path = root / artefact.MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    if sign:
        manifest["manifest_checksum"] = artefact.manifest_checksum(manifest)
    path.write_text(json.dumps(manifest))


# --- tables ----------------------------------------------------------------------------


#: Stands for a list nested 100,000 deep in a manifest (:func:`sign_manifest` writes it).
DEEP = "<deep>"


def sign_manifest(f: h5py.File, manifest: Any) -> None:
    """Write ``manifest`` with valid dataset and manifest checksums (NaN allowed in the text;
    :data:`DEEP` becomes a deep list, whose manifest no checksum is computed for)."""
    datasets = manifest.get("datasets") if isinstance(manifest, dict) else None
    for entry in datasets.values() if isinstance(datasets, dict) else ():
        if isinstance(entry, dict):
            entry["checksum"] = _checksum({k: v for k, v in entry.items() if k != "checksum"})
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    f.attrs["manifest"] = text.replace(json.dumps(DEEP), "[" * 100_000 + "]" * 100_000)
    f.attrs["manifest_checksum"] = _checksum(manifest)


def _checksum(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def replace_array(f: h5py.File, path: str, manifest: dict, data: Any = None, **create: Any) -> None:
    """Replace the array at ``path`` (``create``: h5py options) and record its checksum."""
    del f[path]
    dset = f.create_dataset(path, data=data, **create)
    if data is not None and path.startswith("/datasets/") and path.count("/") == 4:
        _, _, ds, kind, metric = path.split("/")
        try:
            manifest["datasets"][ds][kind][metric]["checksum"] = layout.array_checksum(np.asarray(dset[()]))
        except (KeyError, TypeError, OSError):
            pass


# --- pickles ---------------------------------------------------------------------------


def dag_pickle(levels: int, as_key: bool = True) -> bytes:
    """A protocol-4 pickle of a tuple DAG ``t = (t, t)`` ``levels`` deep (a few hundred bytes;
    hashing it visits 2**levels tuples), as the key of a dict (or as a plain value)."""
    ops = [b"\x80\x04", b"}" if as_key else b"", b")\x94"]  # EMPTY_DICT, EMPTY_TUPLE MEMOIZE
    for i in range(levels):
        ops.append(b"j" + struct.pack("<I", i) + b"j" + struct.pack("<I", i) + b"\x86\x94")  # TUPLE2 MEMOIZE
    ops.append(b"Ns." if as_key else b".")  # NONE SETITEM STOP
    return b"".join(ops)


class Reduce:
    """Pickles as ``fn(*args)`` followed by ``BUILD(state)``: crafted numpy scalars, dtypes, arrays."""

    def __init__(self, fn: Any, args: tuple, state: Any = None):
        self.fn, self.args, self.state = fn, args, state

    def __reduce__(self) -> tuple:
        return (self.fn, self.args) if self.state is None else (self.fn, self.args, self.state)


def crafted_scalar(dtype_name: str, data: bytes, flags: int = 0) -> Reduce:
    """A numpy scalar pickled as the official files do, with any dtype name, bytes and flags."""
    from numpy._core.multiarray import scalar

    dtype = Reduce(np.dtype, (dtype_name, False, True), (3, "<", None, None, None, -1, -1, flags))
    return Reduce(scalar, (dtype, data))


def crafted_array(shape: Any, dtype_name: str, raw: Any, flags: int = 0) -> Reduce:
    """A numpy array pickled as the CIFAR batches do, with any shape, dtype and payload."""
    from numpy._core.multiarray import _reconstruct

    dtype = Reduce(np.dtype, (dtype_name, False, True), (3, "<", None, None, None, -1, -1, flags))
    return Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, shape, dtype, False, raw))


def bz2_bomb(n_bytes: int, streams: int = 1) -> bytes:
    """``streams`` concatenated bz2 streams, each decompressing to ``n_bytes`` zeros."""
    one = bz2.compress(b"\0" * n_bytes, 9)
    return one * streams


def pbz2(obj: Any) -> bytes:
    return bz2.compress(pickle.dumps(obj, protocol=4))


def write_nats_folder(folder: Path, arch_bytes: bytes, meta_bytes: bytes | None = None) -> Path:
    """A NATS 'simple' folder with one architecture file (index 0) of ``arch_bytes``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.pickle.pbz2").write_bytes(meta_bytes or pbz2({"meta_archs": [NATS_ARCH]}))
    (folder / "000000.pickle.pbz2").write_bytes(arch_bytes)
    return folder


NATS_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def nats_record(epochs: int = 3, seed: int = 777) -> dict:
    """A valid architecture file's contents: one 200-epoch-budget run of cifar10 (``epochs`` long)."""
    run = {
        "name": "cifar10",
        "epochs": epochs,
        "train_acc1es": {i: 50.0 + i for i in range(epochs)},
        "train_losses": {i: 1.0 for i in range(epochs)},
        "train_times": {i: 10.0 for i in range(epochs)},
        "eval_names": ["ori-test"],
        "eval_acc1es": {f"ori-test@{i}": 60.0 for i in range(epochs)},
        "eval_losses": {f"ori-test@{i}": 1.2 for i in range(epochs)},
        "eval_times": {f"ori-test@{i}": 1.0 for i in range(epochs)},
        "params": 1.5,
        "flop": 200.0,
        "latency": [0.01, 0.02],
        "seed": seed,
    }
    return {"200": {"arch_index": 0, "arch_str": NATS_ARCH, "all_results": {("cifar10", seed): run}}}
