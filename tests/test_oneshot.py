"""One-shot NAS: the supernet against the standalone network, the methods' steps, the command."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from nasbench_suite.cli import main  # noqa: E402
from nasbench_suite.oneshot import load_oneshot_protocol  # noqa: E402
from nasbench_suite.oneshot.search import _Run, run_search, search_data  # noqa: E402
from nasbench_suite.oneshot.supernet import MixedEdge, Supernet  # noqa: E402
from nasbench_suite.spaces import get  # noqa: E402
from nasbench_suite.train.data import synthetic_data  # noqa: E402
from nasbench_suite.train.nb201_net import NB201Network  # noqa: E402
from nasbench_suite.train.specs import dataset_spec  # noqa: E402
from tests.support import toy_table_file  # noqa: E402

SPEC = dataset_spec("synthetic")
NETWORK = {"width": 4, "cells_per_stage": 1, "input_size": 8}
ARCH = ("nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "none")


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _supernet(seed: int = 0) -> Supernet:
    torch.manual_seed(seed)
    return Supernet("nb201", SPEC, NETWORK)


def _standalone_from(net: Supernet, arch: tuple[str, ...]) -> NB201Network:
    """The standalone network of ``arch`` holding the supernet's weights of the chosen ops."""
    model = NB201Network(arch, SPEC, net_config())
    ops = net.layout.ops
    state = model.state_dict()
    source = net.state_dict()
    for key in state:
        parts = key.split(".")
        if parts[0] == "cells" and parts[2] == "edges":
            edge = parts[3]
            index = ops.index(arch[net.layout.edges.index(tuple(int(n) for n in edge.split("_")))])
            mapped = ".".join([*parts[:4], "ops", str(index), *parts[4:]])
        else:
            mapped = key
        if mapped in source:
            state[key] = source[mapped].clone()
    model.load_state_dict(state)
    return model


def net_config():
    from nasbench_suite.train.counting import NB201NetConfig

    return NB201NetConfig(**NETWORK)


def test_one_hot_alphas_compute_the_standalone_network():
    net = _supernet()
    codes = [net.layout.ops.index(op) for op in ARCH]
    one_hot = torch.full_like(net.alphas, float("-inf"))
    one_hot[range(6), codes] = 0.0
    with torch.no_grad():
        net.alphas.copy_(one_hot)  # softmax of these logits is exactly one-hot
    model = _standalone_from(net, ARCH)
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    # Train mode: every batch norm normalises with the batch's statistics, as the search cells do.
    net.train(), model.train()
    expected = model(x)
    got = net(x, weights=torch.softmax(net.alphas, dim=1))
    assert torch.equal(got, expected)
    assert torch.equal(net(x, index=codes), expected)


def test_search_cells_batch_norm_follows_the_published_runs():
    net = _supernet()
    norms = [m for cell in net.cells if hasattr(cell, "edges") for m in cell.modules()]
    norms = [m for m in norms if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(not m.affine and not m.track_running_stats for m in norms)


def test_gdas_forward_runs_one_op_per_edge_and_alphas_get_a_gradient():
    protocol = load_oneshot_protocol("nb201-oneshot-tiny")
    settings = protocol.settings("gdas")
    data = search_data(synthetic_data(n_train=32, n_valid=32, size=8), settings, SPEC, "cpu")
    run = _Run("gdas", settings, _supernet(), None, data, torch.Generator().manual_seed(0))
    calls = {"n": 0}
    edges = [m for m in run.net.modules() if isinstance(m, MixedEdge)]
    for edge in edges:
        for op in edge.ops:
            op.register_forward_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
    x, y = run.train.next()
    loss = torch.nn.functional.cross_entropy(run._forward(x), y)
    assert calls["n"] == len(edges)  # one op per edge, in every cell
    loss.backward()
    assert run.net.alphas.grad is not None and run.net.alphas.grad.abs().sum() > 0


@pytest.mark.parametrize("method", ["darts", "darts2", "gdas"])
def test_alphas_change_only_in_the_arch_step_and_weights_only_in_the_weight_step(method, monkeypatch):
    settings = load_oneshot_protocol("nb201-oneshot-tiny").settings(method)
    data = search_data(synthetic_data(n_train=16, n_valid=16, size=8), settings, SPEC, "cpu")
    run = _Run(method, settings, _supernet(), None, data, torch.Generator().manual_seed(0))
    net = run.net
    snapshots = []

    def snap(label):
        snapshots.append((label, net.alphas.detach().clone(), [w.detach().clone() for w in net.weights()]))

    w_step, a_step = run.w_opt.step, run.a_opt.step

    def weight_step(*a, **k):
        snap("before weight step")
        out = w_step(*a, **k)
        snap("after weight step")
        return out

    def arch_step(*a, **k):
        snap("before arch step")
        out = a_step(*a, **k)
        snap("after arch step")
        return out

    monkeypatch.setattr(run.w_opt, "step", weight_step)
    monkeypatch.setattr(run.a_opt, "step", arch_step)
    run.epoch(1)
    labels = [s[0] for s in snapshots]
    assert labels == ["before weight step", "after weight step", "before arch step", "after arch step"]
    (_, a0, w0), (_, a1, w1), (_, a2, w2), (_, a3, w3) = snapshots
    assert torch.equal(a0, a1) and any(not torch.equal(x, y) for x, y in zip(w0, w1))
    assert not torch.equal(a2, a3) and all(torch.equal(x, y) for x, y in zip(w2, w3))
    # nothing moves between the two steps: darts2's virtual step puts the weights back exactly
    assert torch.equal(a1, a2) and all(torch.equal(x, y) for x, y in zip(w1, w2))


def test_derived_genotype_round_trips_to_the_space_string():
    space = get("nb201")
    net = _supernet(3)
    arch = net.argmax_arch()
    assert space.parse(space.format(arch)) == arch


@pytest.mark.parametrize("method", ["darts", "gdas", "rsps", "enas"])
def test_same_seed_same_run(method):
    settings = load_oneshot_protocol("nb201-oneshot-tiny").settings(method)
    data = search_data(synthetic_data(n_train=32, n_valid=32, size=8), settings, SPEC, "cpu")
    a, b = (run_search(method, settings, data, SPEC, seed=5) for _ in range(2))
    strip = ("epoch_time_s", "epoch_cpu_s")
    assert [{k: v for k, v in e.items() if k not in strip} for e in a["epochs"]] == [
        {k: v for k, v in e.items() if k not in strip} for e in b["epochs"]
    ]
    other = run_search(method, settings, data, SPEC, seed=6)
    assert [e["train_loss"] for e in other["epochs"]] != [e["train_loss"] for e in a["epochs"]]


def _cli(tmp_path, *extra):
    out = tmp_path / "out.json"
    argv = ["oneshot", "--bench", "nb201", "--dataset", "synthetic", "--data", "synthetic:32"]
    argv += ["--bench-dataset", "cifar10-valid", "--protocol", "nb201-oneshot-tiny", "-o", str(out)]
    return main([*argv, *extra]), out


@pytest.fixture(scope="module")
def rsps_result(tmp_path_factory):
    torch.set_num_threads(1)
    code, out = _cli(tmp_path_factory.mktemp("oneshot"), "--method", "rsps", "--seeds", "0,1")
    assert code == 0
    return out


def test_command_writes_a_scored_trajectory_and_the_report(rsps_result, tmp_path):
    result = json.loads(rsps_result.read_text())
    assert [r["seed"] for r in result["runs"]] == [0, 1]
    epochs = result["runs"][0]["epochs"]
    assert len(epochs) == 2 and all(0 < e["acc"] < 100 and e["regret"] >= 0 for e in epochs)
    assert result["scoring"]["best_acc"] >= max(e["acc"] for e in epochs)
    assert main(["oneshot-report", str(rsps_result), "-o", str(tmp_path / "rep")]) == 0
    text = (tmp_path / "rep" / "oneshot.md").read_text()
    assert "| rsps | nb201-oneshot-tiny | 2 |" in text and "RSPS: 84.16" in text


def test_report_rescoring_in_a_benchmark_of_another_space_is_one_line(rsps_result, tmp_path, capsys):
    from nasbench_suite.tabular import write_table
    from tests.support import synthetic_table

    toy = tmp_path / "toy.h5"
    write_table(toy, synthetic_table())
    argv = ["oneshot-report", str(rsps_result), "-o", str(tmp_path / "rep"), "--bench", str(toy)]
    assert main([*argv, "--bench-dataset", "toy"]) == 2
    err = capsys.readouterr().err
    assert "the benchmark holds the 'test-chain' space" in err and err.count("\n") == 1


def test_leaderboard_shows_the_one_shot_section(rsps_result, tmp_path_factory, tmp_path, capsys):
    argv = ["leaderboard", "--bench", "nb201", "--datasets", "cifar10-valid", "--seeds", "0"]
    argv += ["--strategies", "random", "--budget-evals", "5", "--executor", "serial"]
    assert main([*argv, "--out", str(tmp_path), "--oneshot", str(rsps_result)]) == 0
    md = (tmp_path / "leaderboard.md").read_text()
    section = md.split("## One-shot (weight-sharing) methods", 1)[1].split("## Provenance", 1)[0]
    assert "| rsps | nb201-oneshot-tiny | 2 |" in section and "scored in `nb201`" in section
    assert "<h2>One-shot (weight-sharing) methods</h2>" in (tmp_path / "leaderboard.html").read_text()
    # The section is scored in the board's benchmark: one of another space cannot score it.
    toy = toy_table_file(tmp_path_factory, "board")
    toy_argv = ["leaderboard", "--bench", toy, "--seeds", "0", "--strategies", "random"]
    assert main([*toy_argv, "--out", str(tmp_path / "toy"), "--oneshot", str(rsps_result)]) == 2
    err = capsys.readouterr().err
    assert "test-chain" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--method", "bogus"], "unknown one-shot method 'bogus'"),
        (["--method", "darts", "--space", "nb101"], "space 'nb101' has no supernet"),
        (["--method", "darts", "--bench", "TOY"], "the benchmark holds the 'test-chain' space"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, tmp_path_factory, capsys, extra, message):
    if "TOY" in extra:
        extra = [toy_table_file(tmp_path_factory, "oneshot") if e == "TOY" else e for e in extra]
    code, out = _cli(tmp_path, *extra)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out.exists()
