"""The conformance suite every search strategy passes.

Each ``check_*`` function takes a :class:`~nasbench_suite.search.Strategy` subclass,
a space (a :class:`SearchSpace` or a registered name; NB201 by default) and the
options to build it with, and raises ``AssertionError`` saying what is wrong. No
benchmark is involved: :func:`drive` plays the runner with W simulated asynchronous
workers on a synthetic objective.

    from nasbench_suite.testing import check_strategy
    check_strategy(MySearch)                       # all checks, one AssertionError listing failures

    @parametrize_strategy_checks(MySearch)         # one pytest test per check
    def test_my_search(check):
        check()
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nasbench_suite.errors import MalformedArchError
from nasbench_suite.search.base import Proposal, SearchContext, Strategy, StrategyError
from nasbench_suite.spaces.base import Arch
from nasbench_suite.testing._common import (
    Check,
    bind,
    child_environment,
    expect,
    global_random_untouched,
    import_path,
    load,
    parametrize_checks,
    run_checks,
)
from nasbench_suite.testing.driver import (
    CURVE_CONTEXT,
    MAX_EPOCH,
    Options,
    SpaceLike,
    build,
    drive,
    resolve_space,
)

#: Evaluations per driven run in the checks: enough to leave every built-in's start-up phase.
N_EVALS = 30


# --- the checks ---------------------------------------------------------------------------


def _drive_or_fail(
    what: str, strategy: Strategy, n_evals: int, **kwargs: Any
) -> list[tuple[Arch, int | None]]:
    """:func:`drive`, with any exception turned into a failed check that says what was run."""
    try:
        return drive(strategy, n_evals, **kwargs)
    except MalformedArchError as exc:
        raise AssertionError(f"{what}: proposed an architecture outside the space: {exc}") from exc
    except Exception as exc:
        raise AssertionError(f"{what}: raised {type(exc).__name__}: {exc}") from exc


def _refused(what: str, build_or_call: Callable[[], object], needle: str) -> None:
    """Fail unless ``build_or_call()`` raises ``StrategyError`` whose message contains ``needle``."""
    try:
        build_or_call()
    except StrategyError as exc:
        expect(needle in str(exc), f"{what} raised StrategyError without saying {needle!r}: {exc}")
    else:
        raise AssertionError(f"{what} was accepted; it must raise StrategyError ({needle!r})")


def check_declares_its_settings(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """``name``, ``defaults``, the capability flags and a docstring are declared."""
    expect(isinstance(cls.name, str) and cls.name, f"{cls.__qualname__}.name must be a non-empty string")
    expect(
        isinstance(cls.defaults, dict), f"{cls.__qualname__}.defaults must be a dict, not {cls.defaults!r}"
    )
    for flag in ("multi_fidelity", "multi_objective", "model_based"):
        value = getattr(cls, flag)
        expect(isinstance(value, bool), f"{cls.__qualname__}.{flag} must be a bool, not {value!r}")
    expect(cls.__doc__, f"{cls.__qualname__} needs a docstring (what it is, where it was published)")


def check_proposals_inside_the_space(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """Every proposal is an architecture of the space, at an epoch the context offers."""
    space = resolve_space(space)
    strategy = build(cls, space, seed=3, **dict(options or {}))
    proposals = _drive_or_fail(f"{N_EVALS} evaluations on {space.name}", strategy, N_EVALS)
    for _, epoch in proposals:
        if cls.multi_fidelity:
            expect(epoch in CURVE_CONTEXT.epochs, f"asked for epoch {epoch!r}, not one the context offers")
        else:
            expect(epoch is None, f"a single-fidelity strategy asked for epoch {epoch!r} (must be None)")


def check_same_seed_same_run(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """Same seed, same proposals (with 4 workers and failures); another seed, other proposals."""
    space = resolve_space(space)

    def one(seed: int) -> list:
        strategy = build(cls, space, seed=seed, **dict(options or {}))
        return _drive_or_fail(f"seed {seed}", strategy, N_EVALS, workers=4, fail_every=5)

    first = one(7)
    expect(one(7) == first, "two runs with seed 7 proposed different architectures")
    expect(one(8) != first, "seeds 7 and 8 proposed the same architectures: is the seed used?")


def check_tell_in_any_order(cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None) -> None:
    """Results told in three shuffled completion orders (4 workers) are all accepted."""
    for order_seed in (1, 2, 3):
        strategy = build(cls, space, seed=5, **dict(options or {}))
        _drive_or_fail(f"completion order {order_seed}", strategy, 20, workers=4, order_seed=order_seed)


def check_many_asks_before_any_tell(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """25 asks in a row (25 asynchronous workers), then tells in reverse, then asks again."""
    strategy = build(cls, space, seed=1, **dict(options or {}))
    proposals = [strategy.ask() for _ in range(25)]
    expect(len({p.trial_id for p in proposals}) == 25, "trial ids of pending proposals must be unique")
    expect(len(strategy.pending) == 25, f"pending lists {len(strategy.pending)} proposals, not 25")
    for p in reversed(proposals):
        strategy.tell(p, math.nan, cost_s=0.0, objectives=(math.nan, 1.0))
    expect(strategy.pending == [], "every proposal was told, yet some are still pending")
    strategy.space.validate(strategy.ask().arch)


def check_failed_trials_do_not_stop_the_search(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """Every result a failure (NaN): the strategy carries on proposing."""
    strategy = build(cls, space, seed=2, **dict(options or {}))
    _drive_or_fail("25 evaluations that all failed (NaN)", strategy, 25, workers=2, fail_every=1)


def check_keeps_proposing_past_the_budget_hint(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """Told the budget is 12 evaluations, it answers 24 asks: the runner, not the strategy,
    enforces budgets (W workers may ask for work as the budget runs out)."""
    strategy = build(cls, space, seed=4, budget=12, **dict(options or {}))
    _drive_or_fail("24 evaluations with a budget hint of 12", strategy, 24, workers=2)


def check_unknown_trial_is_refused(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """Telling a proposal twice, or one never asked for, raises ``StrategyError``."""
    strategy = build(cls, space, **dict(options or {}))
    proposal = strategy.ask()
    strategy.tell(proposal, 50.0, 1.0, objectives=(50.0, 1.0))
    for bad, what, needle in (
        (proposal, "telling a proposal twice", "already told"),
        (Proposal(10_000, proposal.arch), "telling an unknown trial", "not asked for"),
    ):
        _refused(what, lambda bad=bad: strategy.tell(bad, 50.0, 1.0, objectives=(50.0, 1.0)), needle)


def check_unknown_option_is_refused(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """An option that is not in ``defaults`` raises ``StrategyError`` naming it."""
    _refused(
        "option no_such_option",
        lambda: build(cls, space, **dict(options or {}), no_such_option=1),
        "no_such_option",
    )


def check_no_global_random_state(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """Building and running it never touches ``np.random``'s or ``random``'s global state."""
    space = resolve_space(space)

    def run() -> None:
        strategy = build(cls, space, seed=6, **dict(options or {}))
        _drive_or_fail(f"{N_EVALS} evaluations", strategy, N_EVALS, workers=3, fail_every=7)

    # Once unguarded first: importing a library may draw from `random` (xgboost does), and
    # what the strategy imports on first use is not the strategy drawing.
    run()
    with global_random_untouched(f"strategy {cls.name!r}"):
        run()


def check_multi_fidelity_needs_curves(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """A multi-fidelity strategy refuses a context without per-epoch results."""
    context = SearchContext(max_epoch=MAX_EPOCH)
    _refused(
        "a context without epochs",
        lambda: cls(resolve_space(space), context=context, **dict(options or {})),
        "per-epoch results",
    )


def check_multi_objective_needs_two_objectives(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """A multi-objective strategy refuses a context with one objective."""
    _refused(
        "a context with one objective",
        lambda: cls(resolve_space(space), context=SearchContext(), **dict(options or {})),
        "second objective",
    )


def check_proxy_guided_needs_its_proxy(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """A proxy-guided strategy refuses a context without proxies, and one without the proxy it
    is set to use."""
    _refused(
        "a context without proxies",
        lambda: cls(resolve_space(space), context=SearchContext(), **dict(options or {})),
        "proxies",
    )
    _refused(
        "a context without its proxy",
        lambda: cls(resolve_space(space), context=SearchContext(proxies=("other",)), **dict(options or {})),
        "not offered",
    )


def check_warm_start_uses_its_prior(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """A warm-started strategy refuses a context without a prior, and its first proposals are
    architectures of the prior (the source's knowledge, not random draws)."""
    space = resolve_space(space)
    _refused(
        "a context without a prior",
        lambda: cls(space, context=SearchContext(), **dict(options or {})),
        "prior",
    )
    strategy = build(cls, space, seed=9, **dict(options or {}))
    prior = set(strategy.context.prior.keys)
    first = [space.key(strategy.ask().arch) for _ in range(5)]
    expect(all(k in prior for k in first), f"its first 5 proposals are not all from the prior: {first}")


def runs_in_fresh_interpreters(
    classes: Sequence[type[Strategy]],
    space: SpaceLike = "nb201",
    options: Mapping[type[Strategy], Mapping[str, Any]] | None = None,
    hash_seed: str = "0",
) -> dict[str, list]:
    """Drive each class (seed 11, 20 evaluations, 3 workers, every 4th a failure) in a
    fresh interpreter with ``PYTHONHASHSEED=hash_seed``; proposals as text, by class path.

    Raises:
        CheckNotApplicable: a class or the space is not importable from a module.
        AssertionError: the interpreter failed (its stderr is in the message).
    """
    space = resolve_space(space)
    space_path = import_path(type(space))
    paths = [import_path(cls) for cls in classes]
    spec = {
        "space": [*space_path, space.config()],
        "strategies": [[*p, dict((options or {}).get(c, {}))] for p, c in zip(paths, classes, strict=True)],
    }
    code = "import sys; from nasbench_suite.testing.strategies import _child; _child(sys.argv[1])"
    env = child_environment(space_path[0], *(p[0] for p in paths), PYTHONHASHSEED=hash_seed)
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True, env=env, timeout=600
    )
    expect(proc.returncode == 0, f"the fresh interpreter failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(spec_json: str) -> None:
    """The fresh interpreter's side of :func:`runs_in_fresh_interpreters`."""
    spec = json.loads(spec_json)
    module, qualname, config = spec["space"]
    space = load(module, qualname)(**config)
    out = {}
    for module, qualname, options in spec["strategies"]:
        strategy = build(load(module, qualname), space, seed=11, **options)
        proposals = drive(strategy, 20, workers=3, fail_every=4)
        out[f"{module}:{qualname}"] = [[space.format(a), e] for a, e in proposals]
    print(json.dumps(out))


def check_same_run_under_different_hash_seeds(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Options = None
) -> None:
    """The same run in fresh interpreters with ``PYTHONHASHSEED`` 1 and 2 (no iteration over
    sets or dicts of strings decides a proposal). Not applicable to a class defined in
    ``__main__`` or in a function."""
    opts = {cls: dict(options or {})}
    runs = [runs_in_fresh_interpreters([cls], space, opts, hash_seed=h) for h in ("1", "2")]
    expect(runs[0] == runs[1], "proposals differ between PYTHONHASHSEED=1 and PYTHONHASHSEED=2")


#: Every check, in the order they run; the four context checks only for strategies that declare the flag.
CHECKS: tuple[Callable[..., None], ...] = (
    check_declares_its_settings,
    check_unknown_option_is_refused,
    check_proposals_inside_the_space,
    check_same_seed_same_run,
    check_tell_in_any_order,
    check_many_asks_before_any_tell,
    check_failed_trials_do_not_stop_the_search,
    check_keeps_proposing_past_the_budget_hint,
    check_unknown_trial_is_refused,
    check_no_global_random_state,
    check_multi_fidelity_needs_curves,
    check_multi_objective_needs_two_objectives,
    check_proxy_guided_needs_its_proxy,
    check_warm_start_uses_its_prior,
    check_same_run_under_different_hash_seeds,
)


def strategy_checks(
    cls: type[Strategy],
    space: SpaceLike = "nb201",
    options: Mapping[str, Any] | None = None,
    *,
    skip: Sequence[str] = (),
) -> list[Check]:
    """The checks that apply to ``cls``, as ``(name, check)`` pairs; ``check()`` runs one.

    Args:
        cls: the Strategy subclass.
        space: where to search (a space or a registered name).
        options: settings to build it with (must be names of ``cls.defaults``).
        skip: names of checks to leave out (e.g. the subprocess one, to batch it).
    """
    chosen = []
    for check in CHECKS:
        if check is check_multi_fidelity_needs_curves and not cls.multi_fidelity:
            continue
        if check is check_multi_objective_needs_two_objectives and not cls.multi_objective:
            continue
        if check is check_proxy_guided_needs_its_proxy and not cls.proxy_guided:
            continue
        if check is check_warm_start_uses_its_prior and not cls.warm_started:
            continue
        if check.__name__ not in skip:
            chosen.append((check.__name__, bind(check, cls, space, options)))
    return chosen


def check_strategy(
    cls: type[Strategy], space: SpaceLike = "nb201", options: Mapping[str, Any] | None = None
) -> list[str]:
    """Run every strategy check on ``cls``.

    Returns:
        The names of the checks that did not apply (e.g. the fresh-interpreter check on a
        class defined in ``__main__``); every other check passed.

    Raises:
        AssertionError: listing every check that failed and why.
    """
    return run_checks(strategy_checks(cls, space, options))


def parametrize_strategy_checks(
    *classes: type[Strategy],
    space: SpaceLike = "nb201",
    options: Mapping[str, Any] | None = None,
    skip: Sequence[str] = (),
) -> Any:
    """A ``pytest.mark.parametrize`` decorator giving a test one ``check`` per (class, check).

    Usage::

        @parametrize_strategy_checks(MySearch)
        def test_my_search(check):
            check()
    """
    checks = [
        (f"{cls.__name__}-{name}", check)
        for cls in classes
        for name, check in strategy_checks(cls, space, options, skip=skip)
    ]
    return parametrize_checks(checks)
