"""Namespaces: a complete, separate set of the pipeline's data locations on the shared lab.

``Settings`` moved into a namespace (``settings.namespaced_values``) name their own buckets, queues,
Glue catalog, RDS databases, Hive database, HDFS folders and metrics label. ``provision`` creates them
the way ``lab up`` creates the default ones; ``destroy`` removes every trace. The end-to-end tests run
whole pipelines in namespaces, so they never touch the data a user's `make demo` produced.
"""

from __future__ import annotations

import contextlib

from botocore.exceptions import ClientError

from retailstream import clients
from retailstream.deploy.aws_resources import ensure_aws_resources
from retailstream.lab import bootstrap
from retailstream.layout import LabLayout
from retailstream.monitoring.metrics import delete_pushed_metrics
from retailstream.rds.schema import ensure_schema
from retailstream.settings import NAMESPACE_DATABASE_PREFIX, Settings


def _require_namespace(s: Settings) -> None:
    if not s.rds_database.startswith(NAMESPACE_DATABASE_PREFIX):
        raise ValueError(f"{s.rds_database} is not a namespace database: refusing to provision or destroy it")


def provision(s: Settings) -> None:
    _require_namespace(s)
    ensure_aws_resources(s)
    with clients.rds_cursor("pipeline", database="", settings=s) as cur:
        for database in (s.rds_database, s.rds_reports_database):
            cur.execute(
                f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
    ensure_schema(s)
    layout = LabLayout.of(s)
    bootstrap.hdfs_directories(s, layout)
    bootstrap.hive_database(s, layout)
    for path in (s.datasets_dir, s.reports_dir):
        path.mkdir(parents=True, exist_ok=True)


def destroy(s: Settings) -> None:
    """Remove everything the namespace holds; tolerant of parts that were never created."""
    _require_namespace(s)
    s3 = clients.aws_client("s3", s)
    for bucket in (s.raw_bucket, s.curated_bucket, s.quarantine_bucket):
        with contextlib.suppress(ClientError):
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                objects = [
                    {"Key": o["Key"], "VersionId": o["VersionId"]}
                    for o in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if objects:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            s3.delete_bucket(Bucket=bucket)
    sqs = clients.aws_client("sqs", s)
    for queue in (s.events_queue, s.events_dlq):
        with contextlib.suppress(ClientError):
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"])
    glue = clients.aws_client("glue", s)
    with contextlib.suppress(ClientError):
        glue.delete_trigger(Name=s.glue_trigger_name)
    with contextlib.suppress(ClientError):
        glue.delete_job(JobName=s.glue_job_name)
    for crawler in (s.glue_raw_crawler, s.glue_curated_crawler):
        with contextlib.suppress(ClientError):
            glue.delete_crawler(Name=crawler)
    for database in (s.glue_raw_database, s.glue_curated_database):
        with contextlib.suppress(ClientError):
            glue.delete_database(Name=database)
    with contextlib.suppress(ClientError):
        clients.aws_client("lambda", s).delete_function(FunctionName=s.lambda_function_name)
    with contextlib.suppress(ClientError):
        clients.aws_client("secretsmanager", s).delete_secret(
            SecretId=s.rds_loader_secret_id, ForceDeleteWithoutRecovery=True
        )
    with clients.rds_cursor("pipeline", database="", settings=s) as cur:
        for database in (s.rds_database, s.rds_reports_database):
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
    conn = clients.hive_connect(s)
    try:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {s.hive_database} CASCADE")
    finally:
        conn.close()
    hdfs = clients.hdfs_client(s)
    root = s.hdfs_warehouse_dir.split("/retail/")[0]
    if root.startswith("/namespaces/"):
        hdfs.delete(root, recursive=True)
    delete_pushed_metrics(s)
