"""Stage 1, load: curated S3 objects → RDS through the Lambda handler and its SQS event source.

Public entry points (imported lazily: the handler pulls in pandas and pyarrow):
``handler(event, context)``, ``drain(timeout, settings=None)``, ``deploy_function(settings=None)``.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "handler": "retailstream.loading.handler",
    "drain": "retailstream.loading.events",
    "DrainReport": "retailstream.loading.events",
    "deploy_function": "retailstream.loading.package",
    "load_object": "retailstream.loading.rds_loader",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = list(_EXPORTS)
