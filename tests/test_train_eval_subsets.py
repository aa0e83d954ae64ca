"""Evaluation subsets of a protocol: fixed subsets before the last epoch, the whole split after it."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from nasbench_suite.train.data import synthetic_data  # noqa: E402
from nasbench_suite.train.networks import build_network  # noqa: E402
from nasbench_suite.train.protocols import load_protocol, protocol_from_dict  # noqa: E402
from nasbench_suite.train.specs import dataset_spec  # noqa: E402
from nasbench_suite.train.trainer import RunOptions, evaluate, prepare_data, train_run  # noqa: E402

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One thread, and the caller's count back afterwards (the suite's state guard checks it)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _setup(full: bool):
    protocol = dataclasses.replace(
        load_protocol("nb201-tiny"), valid_images=30, test_images=20, full_final_eval=full, epochs=2
    )
    raw = synthetic_data(n_train=64, n_valid=100, n_test=80)
    spec = dataset_spec("synthetic")
    return protocol, spec, prepare_data(raw, "nb201", spec, protocol, "cpu")


def test_subsets_are_fixed_and_the_whole_split_is_kept_only_for_a_full_final_eval():
    _, _, data = _setup(full=False)
    assert len(data.splits["valid"][1]) == 30 and len(data.splits["test"][1]) == 20 and not data.subsets
    _, _, full = _setup(full=True)
    assert len(full.splits["valid"][1]) == 100 and len(full.splits["test"][1]) == 80
    assert len(full.subsets["valid"]) == 30 and len(full.subsets["test"]) == 20
    # The same images either way: the subset is a fixed draw.
    assert torch.equal(full.splits["valid"][1][full.subsets["valid"]], data.splits["valid"][1])


def test_evaluate_uses_the_subset_unless_asked_for_the_whole_split():
    protocol, spec, data = _setup(full=True)
    model = build_network("nb201", ARCH, spec, protocol.network)
    fmt = torch.contiguous_format
    images, labels = data.splits["valid"]
    part = evaluate(model, data, "valid", fmt)
    whole = evaluate(model, data, "valid", fmt, whole=True)
    idx = data.subsets["valid"]
    data.splits["valid"] = (images[idx], labels[idx])
    data.subsets = {}
    assert part == pytest.approx(evaluate(model, data, "valid", fmt))
    data.splits["valid"] = (images, labels)
    assert whole == pytest.approx(evaluate(model, data, "valid", fmt))


def test_a_run_reports_its_last_epoch_on_the_whole_split():
    protocol, spec, data = _setup(full=True)
    result = train_run("nb201", ARCH, spec, 777, protocol, data, RunOptions(threads=1, deterministic=True))
    # 100 valid images: a percentage on the whole split is a multiple of 1; on 30 it is of 10/3.
    accs = result["curves"]["valid_acc"]
    assert result["final"]["valid_acc"] == accs[-1]
    assert all(abs(a * 30 / 100 - round(a * 30 / 100)) < 1e-6 for a in accs[:-1])


def test_the_new_fields_leave_earlier_protocols_hashes_alone():
    base = load_protocol("nb201-12").to_dict()
    body = {k: v for k, v in base.items() if k != "hash"}
    assert protocol_from_dict({**body, "full_final_eval": False}).hash == base["hash"] == "853fbdf7d38fbbea"
    assert protocol_from_dict({**body, "full_final_eval": True}).hash != base["hash"]
