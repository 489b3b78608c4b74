"""Helpers shared by the stage 2–3 integration tests: throw-away Hive databases."""

from __future__ import annotations

import uuid


def new_hive_database(spark, settings) -> str:
    from retailstream.warehouse import ensure_database

    name = f"retail_t{uuid.uuid4().hex[:10]}"
    ensure_database(spark, name, settings)
    return name


def drop_hive_database(spark, name: str) -> None:
    """Drop a test database. The lab's Hive 2.3 metastore runs its ACID cleanup listener after every
    DROP DATABASE, and that listener fails (no BoneCP on its classpath, no transaction tables in its
    schema) after the drop was committed: the client then sees an error for a database that is gone."""
    try:
        spark.sql(f"DROP DATABASE IF EXISTS {name} CASCADE")
    except Exception:
        if spark.catalog.databaseExists(name):
            raise
