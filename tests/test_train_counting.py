"""Parameter and FLOP counts: the published ground truth, closed form vs torch, ``nasbench netstats``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasbench_suite import spaces
from nasbench_suite.cli import main
from nasbench_suite.errors import MalformedArchError
from nasbench_suite.train.counting import NB201NetConfig, nb201_stats
from nasbench_suite.train.errors import TrainConfigError
from nasbench_suite.train.specs import dataset_spec
from tests.support import data_path

NB201 = spaces.get("nb201")


def test_params_equal_the_published_count_for_every_arch_and_dataset():
    """46,425 of the 46,875 published counts equal ours exactly. The other 450 (150 archs x 3
    datasets) are the count of another member of the arch's isomorphism class (the authors'
    key): the benchmark reports, for those archs, the size of an equivalent smaller or larger
    cell, not of the network its string describes. We count the network as the string builds it."""
    from nasbench_suite.spaces.nb201 import authors_key

    frame = pd.read_csv(
        data_path("nb201", "nb201_per_seed.csv"), usecols=["arch", "dataset", "params_mb"]
    ).drop_duplicates(["arch", "dataset"])
    assert len(frame) == 3 * 15_625
    ours = np.array(
        [nb201_stats(NB201.parse(a), dataset_spec(d)).params_m for a, d in zip(frame.arch, frame.dataset)]
    )
    published = frame.params_mb.to_numpy()
    exact = np.abs(ours - published) <= 1e-6
    assert int((~exact).sum()) == 450
    assert frame.arch[~exact].nunique() == 150
    counts_by_class: dict[tuple[str, str], set[float]] = {}
    for arch, dataset, value in zip(frame.arch, frame.dataset, ours):
        counts_by_class.setdefault((authors_key(NB201.parse(arch)), dataset), set()).add(round(value, 6))
    for arch, dataset, value in zip(frame.arch[~exact], frame.dataset[~exact], published[~exact]):
        assert round(value, 6) in counts_by_class[(authors_key(NB201.parse(arch)), dataset)], arch


def test_flops_and_params_equal_the_official_nats_bench_files():
    """Every result of every real file (3 archs x 2 budgets x 4 datasets x seeds): FLOPs and params."""
    from nasbench_suite.safe_pickle import load_pbz2

    folder = data_path("nats-tss-simple-sample", "NATS-tss-v1_0-3ffb9-simple")
    files = sorted(p for p in folder.glob("*.pickle.pbz2") if p.name != "meta.pickle.pbz2")
    seen = set()
    for path in files:
        for budget in load_pbz2(path).values():
            arch = NB201.parse(budget["arch_str"])
            for (dataset, _seed), result in budget["all_results"].items():
                stats = nb201_stats(arch, dataset_spec(dataset))
                assert stats.flops_m == pytest.approx(result["flop"], abs=1e-6), (dataset, budget["arch_str"])
                assert stats.params_m == pytest.approx(result["params"], abs=1e-6)
                seen.add((path.name, dataset))
    datasets = {"cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"}
    assert len(files) == 3
    assert seen == {(f.name, d) for f in files for d in datasets}


@pytest.mark.parametrize(
    ("dataset", "config"),
    [
        ("cifar10", NB201NetConfig()),
        ("ImageNet16-120", NB201NetConfig()),
        ("cifar100", NB201NetConfig(8, 2, 16)),
    ],
)
def test_closed_form_equals_the_torch_model(dataset, config, torch_one_thread):
    torch = torch_one_thread
    from nasbench_suite.train.nb201_net import NB201Network
    from nasbench_suite.train.torch_stats import measure_stats

    rng = np.random.default_rng(3)
    spec = dataset_spec(dataset)
    side = config.input_size or spec.input_size
    archs = [NB201.sample(rng) for _ in range(4)] + [("none",) * 6, ("avg_pool_3x3",) * 6]
    for arch in archs:
        model = NB201Network(arch, spec, config)
        assert measure_stats(model, (3, side, side)) == nb201_stats(arch, spec, config), arch
        assert model(torch.zeros(2, 3, side, side)).shape == (2, spec.num_classes)


def test_nb101_network_params_equal_the_published_count():
    pytest.importorskip("torch")
    from nasbench_suite.spaces.nb101 import cell_from_lists
    from nasbench_suite.train.networks import network_stats

    raw = json.loads(data_path("nb101", "nb101_zero_cost_500.json").read_text())["nasbench101"]["cifar10"]
    # NASLib's op codes in these keys: 0 input, 1 output, 2 maxpool, 3 conv1x1, 4 conv3x3.
    names = {0: "input", 1: "output", 2: "maxpool3x3", 3: "conv1x1-bn-relu", 4: "conv3x3-bn-relu"}
    for key, entry in list(raw.items())[:12]:
        codes = [int(x) for x in key.strip("()").split(",")]
        matrix = np.array(codes[:49]).reshape(7, 7).tolist()
        cell = cell_from_lists(matrix, [names[c] for c in codes[49:]])
        stats = network_stats("nb101", cell, dataset_spec("cifar10"))
        assert stats.params_m == pytest.approx(entry["params"], abs=1e-6)


def test_reduced_nb101_network_runs(torch_one_thread):
    torch = torch_one_thread
    from nasbench_suite.train.nb101_config import NB101NetConfig
    from nasbench_suite.train.nb101_net import NB101Network, vertex_channels

    cell = spaces.get("nb101").sample(np.random.default_rng(0))
    model = NB101Network(cell, dataset_spec("cifar10"), NB101NetConfig(stem_channels=8, modules_per_stack=1))
    assert model(torch.zeros(2, 3, 8, 8)).shape == (2, 10)
    # The published rule: output channels split among the vertices that feed the output.
    matrix = ((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert vertex_channels(16, 33, matrix) == [16, 17, 16, 33]


def test_bad_sizes_and_archs_are_named_errors():
    with pytest.raises(TrainConfigError, match="multiple of 4"):
        nb201_stats(("none",) * 6, dataset_spec("cifar10"), NB201NetConfig(input_size=10))
    with pytest.raises(MalformedArchError):
        nb201_stats(("conv",) * 6, dataset_spec("cifar10"))
    with pytest.raises(TrainConfigError, match="unknown dataset"):
        dataset_spec("mnist")


def test_netstats_command(capsys, tmp_path: Path):
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    assert main(["netstats", "--space", "nb201", "--dataset", "cifar100", "--arch", arch, "--csv"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    # Without a source of the official index, the column says it is the project's enumeration.
    assert header == "enum_index,arch,params_m,flops_m"
    assert row.split(",")[1:] == [arch, "0.808276", "113.95722"]

    assert main(["netstats", "--space", "nb201", "--dataset", "ImageNet16-120", "--all", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 15_625
    index, key, _, _ = lines[1 + 15_624].split(",")
    assert (int(index), key) == (15_624, NB201.key(("avg_pool_3x3",) * 6))

    assert main(["netstats", "--space", "nb201", "--dataset", "mnist", "--arch", arch]) == 2
    assert "unknown dataset" in capsys.readouterr().err


@pytest.mark.parametrize("source", ["folder", "meta"])
def test_netstats_prints_the_official_nats_index(capsys, source):
    """The index joins with the benchmark's own files: every (index, arch) pair of the per-seed file."""
    folder = data_path("nb201")
    meta = data_path("nats-tss-simple-sample", "NATS-tss-v1_0-3ffb9-simple", "meta.pickle.pbz2")
    given = folder if source == "folder" else meta
    args = ["netstats", "--space", "nb201", "--dataset", "cifar10-valid", "--all", "--csv"]
    assert main([*args, "--index-from", str(given)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "index,arch,params_m,flops_m"
    printed = {int(line.split(",")[0]): line.split(",")[1] for line in lines[1:]}
    pairs = pd.read_csv(folder / "nb201_per_seed.csv", usecols=["index", "arch"]).drop_duplicates()
    assert len(pairs) == len(printed) == 15_625
    assert all(printed[i] == NB201.key(a) for i, a in zip(pairs["index"], pairs["arch"]))
    assert main([*args, "--index-from", "/nonexistent"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_netstats_index_from_a_file_of_another_kind_is_one_line(capsys, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    args = ["netstats", "--space", "nb201", "--dataset", "cifar10-valid", "--all", "--csv"]
    assert main([*args, "--index-from", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected a NATS meta.pickle.pbz2" in err


def test_the_torch_free_parts_never_load_torch():
    """Protocols, journal, entries, data, the closed-form counter, netstats for NB201 and validate
    work without torch: none of them imports it."""
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io; "
        "import nasbench_suite.train, nasbench_suite.train.protocols, nasbench_suite.train.journal, "
        "nasbench_suite.train.entries, nasbench_suite.train.data, nasbench_suite.train.counting, "
        "nasbench_suite.train.networks, nasbench_suite.train.jobs, nasbench_suite.checks.validation, "
        "nasbench_suite.train.cifar; "
        "from nasbench_suite.cli import main; "
        "out = io.StringIO(); "
        "with_ = contextlib.redirect_stdout(out); with_.__enter__(); "
        "rc = main(['netstats', '--space', 'nb201', '--dataset', 'cifar10', '--all', '--csv']); "
        "with_.__exit__(None, None, None); "
        "print(rc, len(out.getvalue().splitlines()), sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "15626", "[]"]
