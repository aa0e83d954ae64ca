"""Zero-cost proxies on the trainer's networks: grad_norm, snip, grasp, fisher, jacob_cov,
synflow, nwot, params and flops (docs/proxies.md).

``settings`` (torch-free) names the proxies and every convention; ``measures`` and
``compute`` (torch) compute them, sharing one network build and one batch across
proxies; ``jobs`` writes them to a table through the trainer's journal and the
table's writer; ``report`` compares them with published values and accuracies.
"""

from nasbench_suite.proxies.settings import PROXIES, ProxyConfigError, ProxySettings

__all__ = ["PROXIES", "ProxyConfigError", "ProxySettings"]
