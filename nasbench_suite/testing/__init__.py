"""Public conformance suites for search strategies, predictors and search spaces.

A plugin author runs the same checks on their class as the project runs on its
built-ins, outside this repository, with or without pytest (compare
``optuna.testing`` and scikit-learn's ``parametrize_with_checks``)::

    from nasbench_suite.testing import check_strategy, parametrize_strategy_checks

    check_strategy(MySearch)                   # raises one AssertionError listing every failure

    @parametrize_strategy_checks(MySearch)     # or: one pytest test per check
    def test_my_search(check):
        check()

The same three entry points exist for predictors (``check_predictor``,
``predictor_checks``, ``parametrize_predictor_checks``) and spaces (``check_space``,
``space_checks``, ``parametrize_space_checks``). Each ``*_checks`` function returns
``(name, check)`` pairs; each ``check()`` raises ``AssertionError`` with a message
that says what is wrong (never a bare ``assert``, so ``python -O`` cannot disable
it). The individual checks are the ``check_*`` functions of the submodules
:mod:`~nasbench_suite.testing.strategies`, :mod:`~nasbench_suite.testing.predictors`
and :mod:`~nasbench_suite.testing.spaces`.

Importing this package imports neither pytest nor torch.
"""

from nasbench_suite.testing._common import CheckNotApplicable, parametrize_checks, run_checks
from nasbench_suite.testing.driver import CURVE_CONTEXT, build, context_for, drive, objective, synthetic_prior
from nasbench_suite.testing.predictors import (
    TOY_ARCHS,
    TOY_SPACE,
    check_predictor,
    parametrize_predictor_checks,
    predictor_checks,
    toy_target,
)
from nasbench_suite.testing.spaces import check_space, parametrize_space_checks, space_checks
from nasbench_suite.testing.strategies import check_strategy, parametrize_strategy_checks, strategy_checks
from nasbench_suite.testing.toy import ToyChainSpace

__all__ = [
    "CURVE_CONTEXT",
    "TOY_ARCHS",
    "TOY_SPACE",
    "CheckNotApplicable",
    "ToyChainSpace",
    "build",
    "check_predictor",
    "check_space",
    "check_strategy",
    "context_for",
    "drive",
    "objective",
    "parametrize_checks",
    "parametrize_predictor_checks",
    "parametrize_space_checks",
    "parametrize_strategy_checks",
    "predictor_checks",
    "run_checks",
    "space_checks",
    "strategy_checks",
    "synthetic_prior",
    "toy_target",
]
