"""The NB101 JSONL sample importer, and queries by any relabelling of a stored cell."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nasbench_suite
from nasbench_suite import importers
from nasbench_suite.errors import ImportSourceError
from nasbench_suite.tabular import write_table
from tests.support import data_path


def test_sample_imports_exactly_and_answers_isomorphic_cells(tmp_path):
    source = data_path("nb101")
    records = [json.loads(line) for line in (source / "nb101_sample_2500.jsonl").read_text().splitlines()]
    data = importers.import_table("nb101", source)
    assert len(data.keys) == 2500
    write_table(tmp_path / "nb101.h5", data)
    bench = nasbench_suite.open_benchmark(tmp_path / "nb101.h5")
    rng = np.random.default_rng(0)
    relabelled_count = 0
    for record in records[:200]:
        matrix, ops = np.array(record["adjacency"]), list(record["ops"])
        # Relabel the interior nodes by a random permutation that keeps the matrix upper-triangular.
        n = len(ops)
        for _ in range(200):
            perm = np.concatenate([[0], 1 + rng.permutation(n - 2), [n - 1]])
            relabelled = np.zeros_like(matrix)
            relabelled[np.ix_(perm, perm)] = matrix
            if not np.any(np.tril(relabelled)) and not np.array_equal(relabelled, matrix):
                relabelled_count += 1
                break
        else:
            relabelled, perm = matrix, np.arange(n)
        new_ops = [None] * n
        for old, new in enumerate(perm):
            new_ops[new] = ops[old]
        text = json.dumps({"adjacency": relabelled.tolist(), "ops": new_ops})
        r = bench.query(text, dataset="cifar10")
        assert r.metrics["test_acc_mean"] == 100.0 * record["accuracy"]
    assert relabelled_count > 50


def test_bad_lines_are_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"adjacency": [[0, 1], [0, 0]], "ops": ["input", "output"], "accuracy": 0.5}\nnot json\n')
    with pytest.raises(ImportSourceError, match="line 2"):
        importers.import_table("nb101", bad)
    with pytest.raises(ImportSourceError, match="no such file"):
        importers.import_table("nb101", tmp_path / "absent.jsonl")
