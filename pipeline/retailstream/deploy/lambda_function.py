"""The loader Lambda ``retail-load-rds``: its deployment zip, its configuration, ``CreateFunction``.

The zip holds the ``retailstream`` package (``packaging.build_zip``) and ``pymysql`` (pure Python); pandas
and pyarrow come from a layer on real AWS (the AWS SDK for pandas layer). The function's environment says
where RDS is and names the Secrets Manager secret holding the loader's credentials — never a password.
Emulators cannot run the function; the lab's events-runner imports the function's configured handler —
this same module path — and calls it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging

from retailstream import clients
from retailstream.deploy.packaging import build_zip
from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)

HANDLER = "retailstream.stages.load.handler.handler"
RUNTIME = "python3.11"
TIMEOUT_SECONDS = 120  # the queue's visibility timeout is 120 s too
MEMORY_MB = 1024


def function_zip() -> bytes:
    import pymysql

    return build_zip(pymysql)


def loader_secret(s: Settings) -> dict[str, str]:
    """The secret's value in the shape RDS-managed secrets have (username, password, host, port, dbname)."""
    return {
        "engine": "mariadb",
        "username": s.rds_loader_user,
        "password": s.secret("rds_loader_password"),
        "host": s.rds_host,
        "port": str(s.rds_port),
        "dbname": s.rds_database,
    }


def ensure_loader_secret(s: Settings) -> None:
    """Create the loader's secret in Secrets Manager, or update it when its value changed."""
    sm = clients.aws_client("secretsmanager", s)
    value = json.dumps(loader_secret(s))
    try:
        sm.create_secret(
            Name=s.rds_loader_secret_id, Description="The loader Lambda's RDS credentials", SecretString=value
        )
    except sm.exceptions.ResourceExistsException:
        if sm.get_secret_value(SecretId=s.rds_loader_secret_id)["SecretString"] != value:
            sm.put_secret_value(SecretId=s.rds_loader_secret_id, SecretString=value)


def function_environment(s: Settings) -> dict[str, str]:
    """What the handler's settings need: where RDS and the buckets are, the secret's *name* (the
    handler reads the credentials from Secrets Manager), and the AWS endpoint where one is set (an
    emulator). Never a password."""
    variables = {
        "RETAILSTREAM_RDS_HOST": s.rds_host,
        "RETAILSTREAM_RDS_PORT": str(s.rds_port),
        "RETAILSTREAM_RDS_DATABASE": s.rds_database,
        "RETAILSTREAM_RDS_LOADER_SECRET_ID": s.rds_loader_secret_id,
        "RETAILSTREAM_CURATED_BUCKET": s.curated_bucket,
    }
    if s.aws_endpoint_url:
        variables["RETAILSTREAM_AWS_ENDPOINT_URL"] = s.aws_endpoint_url
    return variables


def deploy_function(settings: Settings | None = None) -> dict:
    """Create the function, or update its code when the zip changed; returns its configuration."""
    s = settings or get_settings()
    lam = clients.aws_client("lambda", s)
    ensure_loader_secret(s)
    code = function_zip()
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
    if any(current.get(k) != v for k, v in config.items() if k != "Role"):
        lam.update_function_configuration(FunctionName=s.lambda_function_name, **config)
    return lam.get_function(FunctionName=s.lambda_function_name)["Configuration"]


def configured_handler(settings: Settings | None = None) -> str:
    """The handler the registered function names (the event-source runner calls exactly that)."""
    s = settings or get_settings()
    lam = clients.aws_client("lambda", s)
    return lam.get_function(FunctionName=s.lambda_function_name)["Configuration"]["Handler"]
