"""``python -m nasbench_suite.cli``."""

import sys

from nasbench_suite.cli import main

sys.exit(main())
