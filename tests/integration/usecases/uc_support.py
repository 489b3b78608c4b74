"""Helpers of the use-case tests (imported by their conftest and test modules)."""

from __future__ import annotations

from pathlib import Path

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
