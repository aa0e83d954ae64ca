"""Brief fuzzing of every reader of untrusted files (a few cases each; the long run is
tests/benchmarks/test_fuzz_readers_long.py). See tests/fuzz_readers.py."""

from __future__ import annotations

import pytest

from tests import fuzz_readers, hostile_support

#: Cases per parser in the fast suite.
CASES = 6


@pytest.fixture(scope="module")
def base_artefact(tmp_path_factory):
    return hostile_support.fit_toy_artefact(tmp_path_factory, "fuzz")


@pytest.mark.parametrize("parser", ["nats", "cifar", "csv", "tables", "tfrecord"])
def test_fuzz_parser(parser, tmp_path):
    getattr(fuzz_readers, f"check_{parser}")(CASES, tmp_path)


def test_fuzz_artefacts(base_artefact, tmp_path):
    fuzz_readers.check_artefacts(CASES, tmp_path, base_artefact)
