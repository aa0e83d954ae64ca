"""Weight-sharing (one-shot) NAS on the trainer's operations (docs/oneshot.md).

``settings`` (torch-free) names the methods and reads the one-shot protocols;
``supernet`` (torch) is the NB201 supernet built from the space's cell layout;
``controller`` is ENAS's LSTM policy; ``search`` runs DARTS (first and second
order), GDAS, RSPS and ENAS and derives an architecture after every supernet
epoch. Scoring the derived architectures in a benchmark happens above this floor
(``experiments.oneshot_report``), so that this package never sees a table.
"""

from nasbench_suite.oneshot.settings import (
    METHODS,
    OneShotConfigError,
    OneShotProtocol,
    OneShotSettings,
    load_oneshot_protocol,
    supernet_spaces,
)

__all__ = [
    "METHODS",
    "OneShotConfigError",
    "OneShotProtocol",
    "OneShotSettings",
    "load_oneshot_protocol",
    "supernet_spaces",
]
