"""Helpers of the use-case tests (imported by their conftest and test modules)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa

from retailstream import clients
from retailstream.datasets.contract import arrow_schema
from retailstream.datasets.loader import load
from retailstream.settings import Settings

PATTERNS = {
    "sales": "sales/*/*.csv",
    "stores": "stores/*.csv",
    "features": "features/*.csv",
    "store_traffic": "store_traffic/*.csv",
}


def write_hive_table(spark, database: str, kind: str, frame: pd.DataFrame) -> None:
    """A canonical frame as the Hive table ``<database>.<kind>`` (Parquet on HDFS), contract types."""
    table = pa.Table.from_pandas(frame, schema=arrow_schema(kind), preserve_index=False)
    spark.createDataFrame(table).write.mode("overwrite").format("parquet").saveAsTable(f"{database}.{kind}")


def drop_hive_database(spark, database: str) -> None:
    """Drop a test database, its tables and its warehouse folder.

    The lab's metastore fails in its drop-database event listener (Hive 2.3 AcidEventListener needs the
    BoneCP pool, absent from the classpath) after the database is already gone: the client then sees an
    error, so tables go first, the database error is tolerated when the database is gone, and the
    folder the failed listener left behind is removed over WebHDFS.
    """
    from pyspark.errors import AnalysisException

    location = (
        spark.sql(f"DESCRIBE DATABASE {database}").where("info_name = 'Location'").first()["info_value"]
    )
    for table in spark.catalog.listTables(database):
        spark.sql(f"DROP TABLE IF EXISTS {database}.{table.name}")
    try:
        spark.sql(f"DROP DATABASE IF EXISTS {database}")
    except AnalysisException:
        if spark.catalog.databaseExists(database):
            raise
    clients.hdfs_client().delete(urlparse(location).path, recursive=True)


def load_incoming(incoming: Path) -> dict[str, pd.DataFrame]:
    """Canonical frames of a generated ``incoming/`` tree, through the project's loader."""
    return {
        kind: pd.concat([load(path) for path in sorted(incoming.glob(pattern))], ignore_index=True)
        for kind, pattern in PATTERNS.items()
    }


def read_rds_table(settings: Settings, table: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows (sorted) of a reporting table, read as the read-only analyst."""
    with clients.rds_cursor("analyst", settings.rds_reports_database) as cursor:
        cursor.execute(f"SELECT * FROM `{table}`")
        columns = [d[0] for d in cursor.description]
        rows = sorted(cursor.fetchall(), key=repr)
    return columns, rows


def rds_table_comment(settings: Settings, table: str) -> str:
    with clients.rds_cursor("analyst", settings.rds_reports_database) as cursor:
        cursor.execute(
            "SELECT table_comment FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (settings.rds_reports_database, table),
        )
        return cursor.fetchone()[0]
