"""The schema of a surrogate artefact's ``manifest.json`` (format version 1) and its bounds.

Checked by :func:`nasbench_suite.surrogates.artefact.read_manifest` before any field of the
manifest sizes an allocation or names a file (docs/surrogates.md, "Artefacts"): every
field's type and range, every path relative and inside the artefact. Each predictor's
``spec`` is further checked against its class's ``spec_schema`` when its model is loaded.
"""

from __future__ import annotations

from nasbench_suite._schema import (
    INT64,
    AnyOf,
    Check,
    Float,
    Int,
    Json,
    Map,
    Null,
    Obj,
    Schema,
    Seq,
    Str,
)

#: A manifest longer than this is refused before it is parsed.
MAX_MANIFEST_BYTES = 64 << 20
#: Deepest nesting of objects and lists a manifest may have.
MAX_DEPTH = 32
#: Largest model file an artefact may list (the shipped ones are under 2 MB each).
MAX_MODEL_FILE_BYTES = 1 << 30

CHECKSUM = Str(max_len=32, pattern=r"[0-9a-f]{32}")
NAME = Str(max_len=200, name=True)
#: A path inside the artefact: relative, '/'-separated, no '.' or '..' part, no backslash,
#: no control character.
RELATIVE_PATH = Str(
    max_len=1_000,
    pattern=r"(?!.*(?:^|/)\.{1,2}(?:/|$))[^/\\\x00-\x1f\x7f]+(?:/[^/\\\x00-\x1f\x7f]+)*",
)
#: Seeds of predictors (numpy's SeedSequence takes non-negative ints).
SEED = Int(0, INT64[1])
SCALER = Obj({"mean": Float(), "scale": Float(lo=1e-300)})

NOISE: Schema = Check(
    Obj(
        {
            "kind": Str(choices=("binned-std",)),
            "centres": Seq(Float(), min_len=1, max_len=100_000),
            "stds": Seq(Float(lo=0.0), min_len=1, max_len=100_000),
            "low": Float(),
            "high": Float(),
        },
        optional={"metric": NAME, "reference": NAME},
    ),
    lambda noise: len(noise["centres"]) == len(noise["stds"]),
    "centres and stds must have the same length",
)
SPEC = Obj(
    {
        "name": NAME,
        "seed": SEED,
        "params": Map(Json(), key=NAME, max_items=1_000),
        "files": Seq(RELATIVE_PATH, max_len=10_000),
        "state": Map(Json(), key=NAME, max_items=1_000),
    }
)
MODEL = Obj(
    {
        "directory": RELATIVE_PATH,
        "spec": SPEC,
        "checksums": Map(CHECKSUM, key=RELATIVE_PATH, max_items=10_000),
    }
)
TARGET = Obj(
    {
        "kind": Str(choices=("per_seed", "per_arch", "cost")),
        "transform": Str(choices=("identity", "log")),
        "model": MODEL,
    },
    optional={
        "unit": Str(max_len=200),
        "n_train": Int(0, INT64[1]),
        "arch_noise": AnyOf(Null(), NOISE),
        "evaluation": Map(Json(), key=NAME),
    },
    extra=Json(),
)
DATASET = Obj(
    {
        "seeds": Seq(Int(*INT64), max_len=100_000, unique=True),
        "metric": NAME,
        "targets": Map(TARGET, key=NAME, min_items=1, max_items=1_000),
    },
    optional={
        "final_epoch": AnyOf(Null(), Int(1, INT64[1])),
        "noise": AnyOf(Null(), NOISE),
        "roughness": AnyOf(Null(), NOISE),
        "reference_archs": AnyOf(
            Null(), Obj({"file": RELATIVE_PATH, "checksum": CHECKSUM}, optional={"n": Int(0, INT64[1])})
        ),
    },
    extra=Json(),
)
#: The schema of ``manifest.json`` (``format`` and ``format_version`` are checked first).
MANIFEST: Schema = Check(
    Obj(
        {
            "format": Str(),
            "format_version": Int(1, 1),
            "space": NAME,
            "space_config": Map(Json(), key=NAME),
            "libraries": Map(Str(max_len=100), key=Str(max_len=100)),
            "datasets": Map(DATASET, key=NAME, max_items=1_000),
            "manifest_checksum": CHECKSUM,
        },
        extra=Json(),  # description, model, encoding, training table: shown, never sized from
    ),
    lambda m: all(d["metric"] in d["targets"] for d in m["datasets"].values()),
    "each dataset's metric must be one of its targets",
)

#: A per-epoch figure list (held-out tau, RMSE, ceilings): numbers or null where undefined.
_FIGURES = Map(Json(), key=NAME, max_items=1_000)
CURVE_MODEL = Obj(
    {
        "layout": Str(choices=("per-epoch", "basis")),
        "models": Seq(MODEL, min_len=1, max_len=10_000),
        "basis": AnyOf(
            Null(),
            Obj(
                {
                    "mean": Seq(Float(), max_len=10_000),
                    "components": Seq(Seq(Float(), max_len=10_000), max_len=100),
                }
            ),
        ),
    },
    optional={"unit": Str(max_len=200), "n_train": Int(0, INT64[1]), "evaluation": AnyOf(Null(), _FIGURES)},
)
CURVE_NOISE = Obj(
    {
        "kind": Str(choices=("ar1-binned",)),
        "epochs": Seq(Int(1, INT64[1]), min_len=1, max_len=10_000),
        "metrics": Seq(NAME, min_len=1, max_len=100),
        "rho": Float(0.0, 1.0),
        "correlation": Map(Float(-1.0, 1.0), key=NAME, max_items=100),
        "per_epoch": Map(Seq(NOISE, max_len=10_000), key=NAME, max_items=100),
    },
    optional={"check": Json()},
)
CURVE_DATASET = Check(
    Obj(
        {
            "seeds": Seq(Int(*INT64), max_len=100_000, unique=True),
            "epochs": Seq(Int(1, INT64[1]), min_len=1, max_len=10_000, unique=True),
            "metric": NAME,
            "curves": Map(CURVE_MODEL, key=NAME, min_items=1, max_items=100),
            "cost": AnyOf(
                Null(),
                Obj(
                    {
                        "transform": Str(choices=("log",)),
                        "profile": Seq(Float(lo=0.0), min_len=1, max_len=10_000),
                        "cumulative": Seq(Float(lo=0.0), min_len=1, max_len=10_000),
                        "model": MODEL,
                    },
                    optional={"unit": Str(max_len=200), "n_train": Int(0, INT64[1]), "evaluation": Json()},
                ),
            ),
            "noise": AnyOf(Null(), CURVE_NOISE),
        },
        extra=Json(),  # layout, candidate layouts' figures, the noise check: shown, never sized from
    ),
    lambda d: (
        d["metric"] in d["curves"]
        and all(
            len(c["models"]) == len(d["epochs"]) for c in d["curves"].values() if c["layout"] == "per-epoch"
        )
        and (
            d["cost"] is None or len(d["cost"]["profile"]) == len(d["cost"]["cumulative"]) == len(d["epochs"])
        )
    ),
    "the metric must be one of the curves, with one model (and one profile entry) per epoch",
)
#: The schema of a learning-curve artefact's ``manifest.json`` (``kind`` "learning-curves").
CURVE_MANIFEST: Schema = Obj(
    {
        "format": Str(),
        "format_version": Int(1, 1),
        "kind": Str(choices=("learning-curves",)),
        "space": NAME,
        "space_config": Map(Json(), key=NAME),
        "libraries": Map(Str(max_len=100), key=Str(max_len=100)),
        "datasets": Map(CURVE_DATASET, key=NAME, max_items=1_000),
        "manifest_checksum": CHECKSUM,
    },
    extra=Json(),
)
