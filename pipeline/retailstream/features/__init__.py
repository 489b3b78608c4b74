"""Stage 2: the feature files into HDFS (``upload_features``) and into Hive (``build_features_table``).

Exports resolve on first use, so importing the package (e.g. by the CLI) loads neither Spark nor pandas.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "upload_features": "retailstream.features.upload",
    "UploadReport": "retailstream.features.upload",
    "build_features_table": "retailstream.features.build",
    "FeaturesReport": "retailstream.features.build",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
