"""Stage ``transfer``: RDS ``stores``, ``sales``, ``store_traffic`` → HDFS staging → Hive, incrementally,
with real Apache Sqoop 1.4.7 or Spark's JDBC source (``settings.transfer_engine``).

Exports resolve on first use, so importing the package (e.g. by the CLI) stays light.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "transfer_tables": "retailstream.transfer.incremental",
    "TransferReport": "retailstream.transfer.incremental",
    "TransferError": "retailstream.transfer.incremental",
    "ENGINES": "retailstream.transfer.incremental",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
