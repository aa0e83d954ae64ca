"""Proxy-guided search: the runner measures and charges proxies; naswot, rea-zc, bananas-zc use them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_suite.cli import main
from nasbench_suite.experiments import RunConfig, run
from nasbench_suite.experiments.proxy_queries import DEFAULT_PROXY_COST_S, offered_proxies
from nasbench_suite.search import StrategyError
from nasbench_suite.tabular import MetricInfo, write_table
from tests.support import synthetic_table


def _proxy_table(path, timed: bool, nan_best: bool = False) -> str:
    """The 81-arch toy table with a per-arch ``zc_nwot`` (a fixed random score per arch) and,
    when ``timed``, a per-arch ``zc_time_s`` of 1..3 s; ``nan_best``: the best 40 without one."""
    data = synthetic_table(n_archs=81, seed=7)
    ds = data.datasets["toy"]
    rng = np.random.default_rng(3)
    nwot = rng.uniform(0, 100, 81)
    if nan_best:  # the best half has no proxy value (as NB201's dead-path archs have none published)
        nwot[np.argsort(-nwot)[:40]] = np.nan
    ds.per_arch["zc_nwot"] = nwot
    ds.metrics["zc_nwot"] = MetricInfo("", "nwot proxy")
    if timed:
        ds.per_arch["zc_time_s"] = rng.uniform(1, 3, 81)
        ds.metrics["zc_time_s"] = MetricInfo("s", "proxy compute time")
    write_table(path, data)
    return str(path)


@pytest.fixture(scope="module")
def timed(tmp_path_factory):
    return _proxy_table(tmp_path_factory.mktemp("zc") / "timed.h5", timed=True)


@pytest.fixture(scope="module")
def untimed(tmp_path_factory):
    return _proxy_table(tmp_path_factory.mktemp("zc") / "untimed.h5", timed=False)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    path = tmp_path_factory.mktemp("zc") / "plain.h5"
    write_table(path, synthetic_table(n_archs=81, seed=7))
    return str(path)


def _proxy_of(bench_path: str) -> tuple[dict[str, float], dict[str, float]]:
    from nasbench_suite.tabular import Table

    with Table(bench_path) as table:
        nwot = table.metric("toy", "zc_nwot", "per_arch")
        names = table.dataset("toy").per_arch
        time = table.metric("toy", "zc_time_s", "per_arch") if "zc_time_s" in names else None
        keys = table.keys
    values = {k: float(v) for k, v in zip(keys, nwot)}
    times = {k: float(t) for k, t in zip(keys, time)} if time is not None else {}
    return values, times


def _run(bench: str, strategy: str, seed: int = 0, **kw):
    options = kw.pop("options", {})
    return run(RunConfig(strategy, bench, "toy", seed=seed, strategy_options=options, **kw))


def test_the_benchmark_offers_its_zc_metrics_as_proxies(timed, plain):
    from nasbench_suite.bench import open_benchmark

    with open_benchmark(timed) as bench:
        assert offered_proxies(bench, "toy") == ("nwot",)  # zc_time_s is the cost, not a proxy
    with open_benchmark(plain) as bench:
        assert offered_proxies(bench, "toy") == ()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_naswot_trains_the_best_by_proxy_and_the_clock_is_charged_its_time(timed, seed):
    values, times = _proxy_of(timed)
    result = _run(timed, "naswot", seed, budget_evals=21, options={"n_sample": 20})
    t = result.trajectory
    scored, trained = t["arch"][:20].tolist(), t["arch"][20]
    assert (t["epoch"][:20] == 0).all() and t["epoch"][20] == -1
    assert trained == max(scored, key=lambda k: values[k])
    np.testing.assert_allclose(t["observed"][:20], [values[k] for k in scored])
    # Each proxy is charged the table's zc_time_s of its architecture, one after the other (W = 1).
    np.testing.assert_allclose(t["cost_s"][:20], [times[k] for k in scored])
    np.testing.assert_allclose(t["time_s"][:20], np.cumsum([times[k] for k in scored]))
    assert t["time_s"][20] == pytest.approx(t["time_s"][19] + t["cost_s"][20])
    # A proxy measurement is never an incumbent: only the training is.
    assert (t["incumbent"][:20] == "").all() and t["incumbent"][20] == trained


def test_without_a_recorded_time_each_proxy_costs_the_documented_default(untimed):
    t = _run(untimed, "naswot", budget_evals=11, options={"n_sample": 10}).trajectory
    np.testing.assert_allclose(t["cost_s"][:10], DEFAULT_PROXY_COST_S)


def test_a_time_budget_pays_for_the_proxies(untimed):
    # 10 proxies cost 53 s: a budget of 50 s ends before any training.
    result = _run(untimed, "naswot", budget_s=50.0, options={"n_sample": 10})
    assert (result.trajectory["epoch"] == 0).all()
    assert math.isnan(result.summary["final_report"])


def test_architectures_without_a_proxy_value_rank_last(tmp_path):
    bench = _proxy_table(tmp_path / "nan.h5", timed=False, nan_best=True)
    values, _ = _proxy_of(bench)
    t = _run(bench, "naswot", budget_evals=31, options={"n_sample": 30}).trajectory
    finite = [k for k in t["arch"][:30] if not math.isnan(values[k])]
    assert np.isnan(t["observed"][:30]).any() and finite  # both kinds were scored
    assert t["arch"][30] == max(finite, key=lambda k: values[k])


def test_rea_warm_start_is_the_best_by_proxy_of_its_pool(timed):
    values, _ = _proxy_of(timed)
    options = {"population_size": 5, "sample_size": 2, "warm_pool": 20}
    t = _run(timed, "rea-zc", budget_evals=40, options=options).trajectory
    pool = t["arch"][:20].tolist()
    assert (t["epoch"][:20] == 0).all() and (t["epoch"][20:] == -1).all()
    assert t["arch"][20:25].tolist() == sorted(pool, key=lambda k: -values[k])[:5]
    plain_rea = _run(timed, "rea", budget_evals=40, options={"population_size": 5, "sample_size": 2})
    assert plain_rea.trajectory["arch"][:5].tolist() != t["arch"][20:25].tolist()


def test_bananas_warm_start_is_the_best_by_proxy_of_its_pool(timed):
    values, _ = _proxy_of(timed)
    options = {"num_init": 4, "k": 2, "n_candidates": 10, "warm_pool": 16, "n_members": 2}
    t = _run(timed, "bananas-zc", budget_evals=24, options=options).trajectory
    pool = t["arch"][:16].tolist()
    best = list(dict.fromkeys(sorted(pool, key=lambda k: -values[k])))[:4]
    assert t["arch"][16:20].tolist() == best
    assert (t["epoch"][16:] == -1).all()
    assert len(set(t["arch"][16:].tolist())) == 8  # BANANAS never trains an architecture twice


def test_a_benchmark_without_the_proxy_is_refused(plain, timed):
    with pytest.raises(StrategyError, match="offers none"):
        _run(plain, "naswot", budget_evals=5)
    with pytest.raises(StrategyError, match=r"'synflow' is not offered.*nwot"):
        _run(timed, "rea-zc", budget_evals=5, options={"proxy": "synflow"})


@pytest.mark.parametrize(
    ("bench", "option", "needle"),
    [("plain", "proxy=nwot", "offers none"), ("timed", "proxy=nwott", "'nwott' is not offered")],
)
def test_cli_bad_proxy_is_one_line_and_exit_2(request, tmp_path, capsys, bench, option, needle):
    path = request.getfixturevalue(bench)
    argv = ["search", "--strategy", "naswot", "--bench", path, "--dataset", "toy", "--budget-evals", "3"]
    argv += ["--option", option, "--executor", "serial", "-o", str(tmp_path / "t.parquet")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_proxies_search_writes_the_sweep_beside_the_published_figures(timed, tmp_path, capsys):
    argv = ["proxies-search", "--bench", timed, "--datasets", "toy", "--n-sample", "5,20", "--seeds", "0-2"]
    assert main([*argv, "-o", str(tmp_path)]) == 0
    import json

    report = json.loads((tmp_path / "search.json").read_text())
    assert [(r["n_sample"], r["runs"]) for r in report["rows"]] == [(0, 3), (5, 3), (20, 3)]
    assert report["rows"][0]["proxy_s_mean"] == 0 and report["rows"][2]["proxy_s_mean"] > 20
    markdown = (tmp_path / "search.md").read_text()
    assert "Mellor et al. 2021" in markdown and "| toy | 20 |" in markdown
    assert main([*argv, "--proxy", "synflow", "-o", str(tmp_path)]) == 2
    assert "'synflow' is not offered" in capsys.readouterr().err
