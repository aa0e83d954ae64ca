"""The long fuzzing run of issue 17: 1,000 cases per parser (``NASBENCH_FUZZ_CASES``), each
in a child process under RLIMIT_AS and a time bound. Skipped unless asked for:

    NASBENCH_FUZZ_CASES=1000 python -m pytest -q -p no:randomly tests/benchmarks/test_fuzz_readers_long.py -s

Each parser prints its cases and wall time; figures go to docs/table-format.md ("Limits").
"""

from __future__ import annotations

import os
import platform
import time

import pytest

from tests import fuzz_readers
from tests.test_fuzz_readers import base_artefact  # noqa: F401 - the fixture

CASES = int(os.environ.get("NASBENCH_FUZZ_CASES", "0"))

pytestmark = pytest.mark.skipif(not CASES, reason="set NASBENCH_FUZZ_CASES to run the long fuzzing")


@pytest.mark.parametrize("parser", ["nats", "cifar", "csv", "tables", "tfrecord", "artefacts"])
def test_fuzz_long(parser, tmp_path, request):
    start = time.monotonic()
    before = len(fuzz_readers.FAILURES)
    try:
        if parser == "artefacts":
            fuzz_readers.check_artefacts(CASES, tmp_path, request.getfixturevalue("base_artefact"))
        else:
            getattr(fuzz_readers, f"check_{parser}")(CASES, tmp_path)
    finally:
        failures = fuzz_readers.FAILURES[before:]
        print(f"\nfuzz {parser}: {CASES} cases, {len(failures)} failing, {time.monotonic() - start:.0f} s "
              f"on {platform.node()} ({os.cpu_count()} CPUs)")  # fmt: skip
        for name, detail in failures[:5]:
            print(f"  {name}: {detail}")
