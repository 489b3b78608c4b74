"""Stage ``consolidate``: contract, key, orphan and consistency checks of the RDS tables, reported.

Exports resolve on first use, so importing the package (e.g. by the CLI) stays light.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "consolidate": "retailstream.consolidation.report",
    "ConsolidationReport": "retailstream.consolidation.report",
    "ConsolidationError": "retailstream.consolidation.report",
    "CheckResult": "retailstream.consolidation.report",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
