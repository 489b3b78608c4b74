"""Package the loader as a Lambda deployment zip and register it with ``CreateFunction``.

The zip holds the ``retailstream`` package (without the lab, benchmark and CLI code) and ``pymysql``
(pure Python); pandas and pyarrow come from a layer on real AWS (the AWS SDK for pandas layer).
Entries carry a fixed timestamp, so the same code gives the same zip and the same ``CodeSha256``:
deploying unchanged code is a no-op. Emulators cannot run the function; the lab's events-runner
imports the function's configured handler — this same module path — and calls it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import zipfile
from pathlib import Path

from retailstream import clients
from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)

HANDLER = "retailstream.loading.handler.handler"
RUNTIME = "python3.11"
TIMEOUT_SECONDS = 120  # the queue's visibility timeout is 120 s too
MEMORY_MB = 1024
_EXCLUDED = {"lab", "bench", "__pycache__"}
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def _package_root(module) -> Path:
    return Path(module.__file__).parent


def build_zip() -> bytes:
    """The deployment package, byte-identical for identical sources."""
    import pymysql

    import retailstream

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for module in (retailstream, pymysql):
            root = _package_root(module)
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root.parent)
                if path.is_dir() or _EXCLUDED & set(relative.parts) or path.name.endswith("cli.py"):
                    continue
                if path.suffix not in (".py", ".sql"):
                    continue
                info = zipfile.ZipInfo(relative.as_posix(), date_time=_FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def function_environment(s: Settings) -> dict[str, str]:
    """Where the function finds RDS; the password comes from the secret store, never from here."""
    return {
        "RETAILSTREAM_RDS_HOST": s.rds_host,
        "RETAILSTREAM_RDS_PORT": str(s.rds_port),
        "RETAILSTREAM_RDS_DATABASE": s.rds_database,
        "RETAILSTREAM_CURATED_BUCKET": s.curated_bucket,
    }


def deploy_function(settings: Settings | None = None) -> dict:
    """Create the function, or update its code when the zip changed; returns its configuration."""
    s = settings or get_settings()
    lam = clients.aws_client("lambda", s)
    code = build_zip()
    sha = base64.b64encode(hashlib.sha256(code).digest()).decode()
    config = {
        "Runtime": RUNTIME,
        "Role": s.lambda_role_arn,
        "Handler": HANDLER,
        "Timeout": TIMEOUT_SECONDS,
        "MemorySize": MEMORY_MB,
        "Environment": {"Variables": function_environment(s)},
        "Description": "Loads curated S3 objects into RDS (stores, sales, store_traffic)",
    }
    try:
        current = lam.get_function(FunctionName=s.lambda_function_name)["Configuration"]
    except lam.exceptions.ResourceNotFoundException:
        created = lam.create_function(
            FunctionName=s.lambda_function_name, Code={"ZipFile": code}, Publish=True, **config
        )
        log.info("lambda.created name=%s sha256=%s bytes=%d", s.lambda_function_name, sha, len(code))
        return created
    if current.get("CodeSha256") != sha:
        lam.update_function_code(FunctionName=s.lambda_function_name, ZipFile=code, Publish=True)
        log.info("lambda.updated name=%s sha256=%s bytes=%d", s.lambda_function_name, sha, len(code))
    if any(current.get(k) != v for k, v in config.items() if k not in ("Environment", "Role")):
        lam.update_function_configuration(FunctionName=s.lambda_function_name, **config)
    return lam.get_function(FunctionName=s.lambda_function_name)["Configuration"]


def configured_handler(settings: Settings | None = None) -> str:
    """The handler the registered function names (the event-source runner calls exactly that)."""
    s = settings or get_settings()
    lam = clients.aws_client("lambda", s)
    return lam.get_function(FunctionName=s.lambda_function_name)["Configuration"]["Handler"]
