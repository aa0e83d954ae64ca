"""Pick the NB201 architectures the project trains for its own tables (a recipe, reproducible).

One architecture per canonical class (the space's ``canonical_key``: isomorphic cells train to the
same network), spread over the published accuracy range: the classes are sorted by the published
200-epoch ``cifar10-valid`` seed-mean validation accuracy (the class's mean) and taken at evenly
spaced quantiles, and with ``--top-percent P`` the top P% of the classes are all taken first.
Classes flagged ``suspect`` by the importer (published size of another cell) are left out.
Within a class the first architecture in the table's order is used.

The architectures are printed in published-accuracy order; ``--every K`` prints every K-th of them
(the architectures that get a second seed: a subset spread over the same range); ``--shuffle-seed``
shuffles the order and ``--first FILE`` puts the architectures of FILE (as they are) first.

Usage:
    python tabular/select_nb201_archs.py NB201_TABLE.h5 --n 250 [--top-percent 1] [--every K] > archs.txt
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import pandas as pd

from nasbench_suite import open_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", help="the NB201 table imported from the published data")
    parser.add_argument("--n", type=int, required=True, help="how many architectures")
    parser.add_argument("--top-percent", type=float, default=0.0, help="take every class of the top P%%")
    parser.add_argument(
        "--every", type=int, default=1, help="print every K-th pick in accuracy order (a spread subset)"
    )
    parser.add_argument(
        "--shuffle-seed",
        type=int,
        help="print in a shuffled order (random.Random(S)), so that any prefix of a long training job "
        "is itself spread over the accuracy range",
    )
    parser.add_argument(
        "--first", help="a file of architectures (of the picks) printed first, shuffled on their own"
    )
    parser.add_argument("--skip", default="", help="a file of architectures to leave out (one a line)")
    args = parser.parse_args()
    bench = open_benchmark(args.table)
    frame = bench.query_batch(
        list(bench.table.keys), "cifar10-valid", seed="mean", metrics=["valid_acc", "suspect"]
    )
    frame = frame[frame["suspect"] == 0].dropna(subset=["valid_acc"])
    space = bench.space
    skip = set()
    if args.skip:
        with open(args.skip) as handle:
            skip = {space.canonical_key(line.strip()) for line in handle if line.strip()}
    frame = frame.assign(cls=[space.canonical_key(str(a)) for a in frame["arch"]])
    classes = frame.groupby("cls", sort=False).agg(arch=("arch", "first"), acc=("valid_acc", "mean"))
    threshold = np.percentile(classes["acc"], 100 - args.top_percent) if args.top_percent else np.inf
    top_classes = set(classes.index[classes["acc"] >= threshold])
    classes = classes[~classes.index.isin(skip)].sort_values("acc")
    top = classes[classes.index.isin(top_classes)]
    rest = classes[~classes.index.isin(top_classes)]
    need = args.n - len(top)
    if need < 0:
        raise SystemExit(f"the top {args.top_percent}% holds {len(top)} classes, more than --n {args.n}")
    picks = np.unique(np.round(np.linspace(0, len(rest) - 1, need)).astype(int))
    chosen = pd.concat([rest.iloc[picks], top]).sort_values("acc")["arch"]
    if args.every > 1:
        chosen = chosen.iloc[:: args.every]
    chosen = [str(a) for a in chosen]
    first: list[str] = []
    if args.first:
        with open(args.first) as handle:
            first = [line.strip() for line in handle if line.strip()]
        chosen = [a for a in chosen if a not in set(first)]
    if args.shuffle_seed is not None:
        # The --first architectures are taken as given (already in their final order).
        random.Random(args.shuffle_seed).shuffle(chosen)
    for arch in first + chosen:
        print(arch)


if __name__ == "__main__":
    main()
