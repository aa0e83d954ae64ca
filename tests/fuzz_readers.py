"""Fuzzing of every reader of untrusted files (issue 17): hypothesis draws hostile variants of
a valid file, and each is read in a child process under RLIMIT_AS and a time bound
(tests/hostile_support.py). A case passes when the reader returns or raises a named error;
any other exception, a hang, a crash or a MemoryError fails it.

``check_<parser>(cases, tmp)`` runs one parser's fuzzing with ``cases`` examples; the fast
suite (tests/test_fuzz_readers.py) runs a few, tests/benchmarks/test_fuzz_readers_long.py
1,000 each (``NASBENCH_FUZZ_CASES``).
"""

from __future__ import annotations

import bz2
import copy
import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasbench_suite import importers, open_benchmark
from nasbench_suite.safe_pickle import loads_arrays
from nasbench_suite.surrogates import artefact
from nasbench_suite.tabular import read_table, verify_table
from tests import hostile_support as hs
from tests.support import synthetic_table

ACTIONS = st.sampled_from(["set", "set", "del", "add"])
VALUES = st.one_of(
    st.sampled_from(hs.HOSTILE_VALUES),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
FAILURES: list[tuple[str, str]] = []


def _settings(cases: int) -> Any:
    return settings(
        max_examples=cases,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )


def _run(parser: str, fn: Any, *args: Any) -> None:
    outcome = hs.run_isolated(fn, *args, seconds=hs.CASE_SECONDS)
    if outcome[0] not in hs.OK_OUTCOMES:
        FAILURES.append((parser, f"{outcome[0]}: {outcome[1][:300]}"))
    hs.assert_handled(outcome, parser)


def _mutated(base: Any, data: Any) -> Any:
    obj = copy.deepcopy(base)
    paths = hs.json_paths(obj)
    path = data.draw(st.sampled_from(paths))
    return hs.mutate(obj, path, data.draw(ACTIONS), data.draw(VALUES))


# --- NATS pickles ----------------------------------------------------------------------


def _nats_paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _nats_paths(v, (*prefix, k))
    return out


def import_nats(folder: Path) -> None:
    importers.import_table("nats-tss", folder)


def check_nats(cases: int, tmp: Path) -> None:
    @_settings(cases)
    @given(st.data())
    def case(data: Any) -> None:
        record = hs.nats_record(epochs=data.draw(st.integers(1, 5)))
        kind = data.draw(st.sampled_from(["value", "value", "scalar", "dag", "bomb", "bytes"]))
        if kind in ("value", "scalar"):
            path = data.draw(st.sampled_from(_nats_paths(record)[1:]))
            value = data.draw(VALUES)
            if kind == "scalar":
                name = data.draw(
                    st.sampled_from(["f8", "i8", "u1", "b1", "O", "V8", "U1", "f16", "c16", "M8"])
                )
                value = hs.crafted_scalar(
                    name, data.draw(st.binary(max_size=16)), data.draw(st.integers(0, 255))
                )
            raw = hs.pbz2(hs.mutate(record, path, data.draw(ACTIONS), value))
        elif kind == "dag":
            raw = bz2.compress(hs.dag_pickle(data.draw(st.integers(1, 64)), as_key=data.draw(st.booleans())))
        elif kind == "bomb":
            raw = hs.bz2_bomb(data.draw(st.integers(1, 16)) << 20, streams=data.draw(st.integers(1, 8)))
        else:
            pickled = bytearray(pickle.dumps(record, protocol=4))
            for _ in range(data.draw(st.integers(1, 8))):
                pickled[data.draw(st.integers(0, len(pickled) - 1))] = data.draw(st.integers(0, 255))
            raw = bz2.compress(bytes(pickled))
        folder = tmp / "nats"
        shutil.rmtree(folder, ignore_errors=True)
        _run("nats", import_nats, hs.write_nats_folder(folder, raw))

    case()


# --- CIFAR batches ---------------------------------------------------------------------


def check_cifar(cases: int, tmp: Path) -> None:
    @_settings(cases)
    @given(st.data())
    def case(data: Any) -> None:
        shapes = [st.tuples(st.integers(-2, 2**40)), st.tuples(st.integers(0, 4), st.integers(0, 4))]
        shape = data.draw(st.one_of(*shapes, st.sampled_from(["x", None, (2**62, 2**62), (1,) * 40])))
        dtype = data.draw(st.sampled_from(["u1", "f8", "O", "V4", "i8", "b1", "U2", "c8"]))
        payload = data.draw(
            st.one_of(st.binary(max_size=64), st.lists(st.integers(), max_size=4), st.text(max_size=4))
        )
        array = hs.crafted_array(shape, dtype, payload, data.draw(st.integers(0, 255)))
        batch = {
            b"data": array,
            b"labels": data.draw(st.sampled_from([[0], [0, 1], [-1], [2**70], "x", None])),
        }
        if data.draw(st.booleans()):
            raw = hs.dag_pickle(data.draw(st.integers(1, 64)))
        else:
            raw = bytearray(pickle.dumps(batch, protocol=data.draw(st.sampled_from([3, 4]))))
            for _ in range(data.draw(st.integers(0, 4))):
                raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        _run("cifar", loads_arrays, bytes(raw))

    case()


# --- CSV / Parquet ---------------------------------------------------------------------

CELLS = st.one_of(
    st.sampled_from(
        [1e30, 2**63, float("inf"), float("-inf"), float("nan"), "", "\x00", "a/b", "nan", "x" * 300, -1]
    ),
    st.integers(-(2**70), 2**70),
    st.text(max_size=10),
)


def import_csv(path: Path) -> None:
    data = importers.import_table("csv", path, space="nb201")
    from nasbench_suite.tabular import write_table

    write_table(path.with_suffix(".h5"), data, overwrite=True)
    read_table(path.with_suffix(".h5"))


def check_csv(cases: int, tmp: Path) -> None:
    from nasbench_suite import spaces

    space = spaces.get("nb201")
    archs = [space.format(a) for a in list(space.enumerate())[:4]]

    @_settings(cases)
    @given(st.data())
    def case(data: Any) -> None:
        rows = [[a, "c10", s, 1 + e, 50.0 + e] for a in archs[:2] for s in (0, 1) for e in range(2)]
        columns = ["arch", "dataset", "seed", "epoch", "valid_acc"]
        frame = pd.DataFrame(rows, columns=columns).astype(object)
        for _ in range(data.draw(st.integers(1, 4))):
            frame.iat[data.draw(st.integers(0, len(frame) - 1)), data.draw(st.integers(0, 4))] = data.draw(
                CELLS
            )
        if data.draw(st.booleans()):
            names = list(frame.columns)
            names[data.draw(st.integers(0, 4))] = data.draw(
                st.sampled_from(["_row", "", "a/b", "\x00", "arch", "seed"])
            )
            frame.columns = names
        path = tmp / ("t.parquet" if data.draw(st.booleans()) else "t.csv")
        try:
            frame.to_parquet(path) if path.suffix == ".parquet" else frame.to_csv(path, index=False)
        except Exception:
            path = tmp / "t.csv"
            frame.to_csv(path, index=False)
        _run("csv", import_csv, path)

    case()


# --- tables ----------------------------------------------------------------------------


def read_everything(path: Path) -> None:
    verify_table(path)
    data = read_table(path)
    open_benchmark(path).query(data.keys[0], dataset="toy", seed="mean")


def check_tables(cases: int, tmp: Path) -> None:
    from nasbench_suite.tabular import write_table

    base = tmp / "base.h5"
    write_table(base, synthetic_table(epochs=2))
    with h5py.File(base, "r") as f:
        manifest = json.loads(f.attrs["manifest"])
        arrays: list[str] = []
        f.visititems(lambda name, obj: arrays.append("/" + name) if isinstance(obj, h5py.Dataset) else None)

    @_settings(cases)
    @given(st.data())
    def case(data: Any) -> None:
        path = tmp / "t.h5"
        shutil.copy(base, path)
        changed = _mutated(manifest, data)
        with h5py.File(path, "r+") as f:
            kind = data.draw(st.sampled_from(["manifest", "manifest", "array", "attr"]))
            if kind == "array":
                target = data.draw(st.sampled_from(arrays))
                options = data.draw(st.sampled_from(["dtype", "shape", "huge", "external", "link"]))
                changed = manifest
                if options == "dtype":
                    value = np.zeros(
                        f[target].shape, dtype=data.draw(st.sampled_from(["S3", "i4", "f4", "c8", "u1"]))
                    )
                    hs.replace_array(f, target, changed, value)
                elif options == "shape":
                    hs.replace_array(f, target, changed, np.zeros(data.draw(st.integers(0, 50))))
                elif options == "huge":
                    hs.replace_array(f, target, changed, None, shape=(2**40,), dtype="f8", chunks=(1 << 16,))
                elif options == "external":
                    hs.replace_array(f, target, changed, None, shape=(20,), dtype="f8",
                                     external=[("/etc/passwd", 0, 160)])  # fmt: skip
                else:
                    del f[target]
                    f[target] = h5py.ExternalLink("/etc/passwd", "/x")
            elif kind == "attr":
                name = data.draw(st.sampled_from(["format_version", "format", "manifest_checksum"]))
                f.attrs[name] = data.draw(
                    st.sampled_from(["one", 1.5, True, -1, 2**40, b"\xff", np.zeros(3)])
                )
            hs.sign_manifest(f, changed)
        _run("tables", read_everything, path)

    case()


# --- surrogate artefacts ---------------------------------------------------------------


def query_artefact(root: Path) -> None:
    bench = open_benchmark(root)
    for dataset in bench.datasets:
        bench.query(synthetic_table().keys[0], dataset=dataset, seed="mean")


def check_artefacts(cases: int, tmp: Path, base: Path) -> None:
    manifest = json.loads((base / artefact.MANIFEST).read_text())

    @_settings(cases)
    @given(st.data())
    def case(data: Any) -> None:
        root = tmp / "art"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(base, root)
        changed = _mutated(manifest, data)
        if isinstance(changed, dict) and data.draw(st.integers(0, 9)):
            try:
                changed["manifest_checksum"] = artefact.manifest_checksum(changed)
            except ValueError:  # NaN: no checksum can be computed, the reader refuses it unparsed
                pass
        if data.draw(st.integers(0, 4)) == 0:
            model = next(p for p in root.rglob("model.ubj"))
            model.write_bytes(data.draw(st.binary(max_size=64)))
        (root / artefact.MANIFEST).write_text(json.dumps(changed))
        _run("artefacts", query_artefact, root)

    case()


# --- NB101 official tfrecord files -----------------------------------------------------


def import_nb101_official(path: Path) -> None:
    importers.import_table("nb101-official", path)


def _tfrecord_rows() -> list[list[Any]]:
    from tests import nb101_official_support as nb

    cells = nb.sampled_cells(2, seed=1)
    return [json.loads(data) for *_, data in nb.records(cells, budgets=(4, 108), repeats=3)]


def check_tfrecord(cases: int, tmp: Path) -> None:
    """Hostile official NB101 files: the JSON rows and the metrics messages changed under valid
    checksums (so the parser behind the framing is reached), and raw bytes flipped, cut or
    appended (so the framing itself is attacked)."""
    import base64

    from nasbench_suite.importers._tfrecord import frame

    rows = _tfrecord_rows()

    @_settings(cases)
    @given(st.data())
    def case(data: Any) -> None:
        changed = copy.deepcopy(rows)
        kind = data.draw(st.sampled_from(["row", "row", "metrics", "bytes", "cut"]))
        i = data.draw(st.integers(0, len(changed) - 1))
        if kind == "row":
            changed[i] = _mutated(changed[i], data)
        elif kind == "metrics":
            raw = bytearray(base64.b64decode(changed[i][4]))
            for _ in range(data.draw(st.integers(1, 6))):
                raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
            if data.draw(st.booleans()):
                raw += data.draw(st.binary(max_size=16))
            changed[i][4] = base64.b64encode(bytes(raw)).decode()
        blob = bytearray(b"".join(frame(json.dumps(row).encode()) for row in changed))
        if kind == "bytes":
            for _ in range(data.draw(st.integers(1, 6))):
                blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            blob = blob[: data.draw(st.integers(0, len(blob) - 1))] + data.draw(st.binary(max_size=24))
        path = tmp / "nasbench_only108.tfrecord"
        path.write_bytes(bytes(blob))
        _run("tfrecord", import_nb101_official, path)

    case()
