"""The table store: one self-describing HDF5 file per table.

- :class:`Table` opens a file lazily and reads checksum-verified arrays;
- :func:`write_table`, :func:`append_table` and :func:`compact_table` are the one (crash-safe)
  writer; an append adds a part to the file instead of rewriting it (docs/table-format.md);
- :func:`verify_table` checks every byte against the manifest's checksums.

The layout is documented in :mod:`nasbench_suite.tabular.layout` and
docs/table-format.md.
"""

from nasbench_suite.tabular.merge import TableMergeError, merge_tables
from nasbench_suite.tabular.model import DatasetData, MetricInfo, TableData, TableDataError
from nasbench_suite.tabular.reader import DatasetInfo, Table, read_table
from nasbench_suite.tabular.verify import verify_table
from nasbench_suite.tabular.writer import append_table, compact_table, write_table

__all__ = [
    "DatasetData",
    "DatasetInfo",
    "MetricInfo",
    "Table",
    "TableData",
    "TableDataError",
    "TableMergeError",
    "append_table",
    "compact_table",
    "merge_tables",
    "read_table",
    "verify_table",
    "write_table",
]
