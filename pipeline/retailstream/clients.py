"""Connections to every service, built from the settings object only.

Stages ask here for a client instead of knowing where they run (native lab, compose or AWS).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from retailstream.settings import Settings, get_settings

RdsUser = Literal["root", "pipeline", "loader", "analyst", "hive"]


_aws_clients: dict[tuple, object] = {}
_aws_clients_lock = threading.Lock()


def aws_client(service: str, settings: Settings | None = None):
    """One client per service and endpoint for the process: building one parses the service's model
    (a tenth of a second or more), and clients are thread-safe. Keyed by process id as well: a forked
    child builds its own."""
    import boto3

    s = settings or get_settings()
    kwargs = s.boto3_kwargs()
    key = (os.getpid(), service, *sorted(kwargs.items()))
    with _aws_clients_lock:
        if key not in _aws_clients:
            _aws_clients[key] = boto3.session.Session().client(service, **kwargs)
        return _aws_clients[key]


def rds_credentials(user: RdsUser, settings: Settings | None = None) -> tuple[str, str]:
    s = settings or get_settings()
    if user == "root":
        return "root", s.secret("rds_root_password")
    if user == "loader" and not s.rds_loader_password.get_secret_value() and s.rds_loader_secret_id:
        return _secret_credentials(s.rds_loader_secret_id, s)
    return getattr(s, f"rds_{user}_user"), s.secret(f"rds_{user}_password")


_secrets: dict[tuple, tuple[str, str]] = {}


def _secret_credentials(secret_id: str, s: Settings) -> tuple[str, str]:
    """A deployed function's credentials, from Secrets Manager, kept for the process as a warm Lambda
    keeps them (per secret store: a namespace or another lab is another one)."""
    key = (secret_id, s.aws_endpoint_url, s.aws_region)
    if key not in _secrets:
        response = aws_client("secretsmanager", s).get_secret_value(SecretId=secret_id)
        secret = json.loads(response["SecretString"])
        _secrets[key] = secret["username"], secret["password"]
    return _secrets[key]


def rds_connect(
    user: RdsUser = "pipeline",
    database: str | None = None,
    settings: Settings | None = None,
    **kwargs,
):
    """A PyMySQL connection over TCP; ``database=""`` connects without selecting one."""
    import pymysql

    s = settings or get_settings()
    name, password = rds_credentials(user, s)
    return pymysql.connect(
        host=s.rds_host,
        port=s.rds_port,
        user=name,
        password=password,
        database=s.rds_database if database is None else (database or None),
        charset="utf8mb4",
        **{"connect_timeout": 5, **kwargs},
    )


def airflow_db_connect(settings: Settings | None = None, database: str | None = None):
    """A psycopg2 connection over TCP as Airflow's metadata user, to its database (or ``database``)."""
    import psycopg2

    s = settings or get_settings()
    return psycopg2.connect(
        host=s.airflow_db_host,
        port=s.airflow_db_port,
        user=s.airflow_db_user,
        password=s.secret("airflow_db_password"),
        dbname=database or s.airflow_db_name,
        connect_timeout=5,
    )


@contextmanager
def rds_cursor(user: RdsUser = "pipeline", database: str | None = None, **kwargs) -> Iterator:
    conn = rds_connect(user, database, **kwargs)
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    finally:
        conn.close()


def hdfs_client(settings: Settings | None = None):
    """HdfsCLI over WebHDFS (follows the DataNode redirect itself)."""
    from hdfs import InsecureClient

    s = settings or get_settings()
    return InsecureClient(s.webhdfs_url, user=s.hdfs_user, timeout=30)


def hive_connect(settings: Settings | None = None, database: str = "default"):
    """A HiveServer2 (Thrift) connection to the lab's SQL endpoint, through PyHive."""
    from pyhive import hive

    s = settings or get_settings()
    return hive.connect(
        host=s.hiveserver2_host, port=s.hiveserver2_port, username=s.hdfs_user, database=database
    )
