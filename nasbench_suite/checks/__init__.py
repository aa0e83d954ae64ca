"""Checks: one benchmark held against another, or against real training.

- :mod:`~nasbench_suite.checks.agreement`: search strategies run on a surrogate and
  on the table it was fitted on, their final regrets compared (``agreement.json``,
  the model card's agreement section);
- :mod:`~nasbench_suite.checks.validation`: a benchmark's predictions against a
  table of trained runs (``nasbench validate``).

Floor: above ``experiments`` (the agreement check runs strategies with the experiment
runner) and below ``cli``. Below it, the model card (``surrogates/card.py``) only
renders the figures these checks compute, and ``train/`` never sees a benchmark.
"""
