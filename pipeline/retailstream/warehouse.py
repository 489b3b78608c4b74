"""The Hive warehouse as the stages that publish tables see it: databases, table DDL, partitions.

Tables are Hive-format (``STORED AS PARQUET``) in the shared metastore, so Spark jobs, the HiveServer2
endpoint (Spark Thrift Server) and any Hive client read the same definition. A HiveServer2 session
caches file listings: a session opened before a table was rewritten needs ``REFRESH TABLE db.t``;
new sessions see the new data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from retailstream import clients
from retailstream.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Contract logical types (retailstream.datasets.contract) plus the lineage types, as Hive column types.
HIVE_TYPES = {
    "int": "INT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "string": "STRING",
    "timestamp": "TIMESTAMP",
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def identifier(name: str) -> str:
    """``name`` quoted for SQL, refused unless it is a plain identifier (names are never parameters)."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f"`{name}`"


def qualified(database: str, table: str) -> str:
    return f"{identifier(database)}.{identifier(table)}"


@dataclass(frozen=True)
class HiveColumn:
    name: str
    type: str  # a HIVE_TYPES key
    comment: str = ""

    def ddl(self) -> str:
        comment = self.comment.replace("\\", "\\\\").replace("'", "\\'")
        return f"{identifier(self.name)} {HIVE_TYPES[self.type]}" + (
            f" COMMENT '{comment}'" if comment else ""
        )


def create_table_sql(
    database: str,
    table: str,
    columns: Sequence[HiveColumn],
    partition: HiveColumn | None = None,
    comment: str = "",
) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for a Parquet Hive table, optionally partitioned by one column."""
    body = ",\n  ".join(column.ddl() for column in columns)
    parts = [f"CREATE TABLE IF NOT EXISTS {qualified(database, table)} (\n  {body}\n)"]
    if comment:
        parts.append("COMMENT '{}'".format(comment.replace("'", "\\'")))
    if partition is not None:
        parts.append(f"PARTITIONED BY ({partition.ddl()})")
    parts.append("STORED AS PARQUET")
    return "\n".join(parts)


def ensure_database(spark: SparkSession, database: str, settings: Settings | None = None) -> None:
    if spark.catalog.databaseExists(database):
        return
    s = settings or get_settings()
    location = f"{s.hdfs_url}{s.hdfs_warehouse_dir}/{database}.db"
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {identifier(database)} LOCATION '{location}'")


def table_exists(spark: SparkSession, database: str, table: str) -> bool:
    return spark.catalog.tableExists(f"{database}.{table}")


def hive_table_exists(settings: Settings, database: str, table: str) -> bool:
    """Whether the table exists, asked through HiveServer2 (no Spark driver needed)."""
    conn = clients.hive_connect(settings)
    try:
        cur = conn.cursor()
        identifier(table)  # validates: the pattern below takes the bare name
        cur.execute(f"SHOW TABLES IN {identifier(database)} LIKE '{table}'")
        return bool(cur.fetchall())
    finally:
        conn.close()


def empty_table(settings: Settings, database: str, table: str, partition_column: str | None = None) -> None:
    """Remove every row of a table, and its partitions when it is partitioned by ``partition_column``,
    through HiveServer2 (no Spark driver needed)."""
    target = qualified(database, table)
    conn = clients.hive_connect(settings)
    try:
        cur = conn.cursor()
        if partition_column:
            cur.execute(f"SHOW PARTITIONS {target}")
            for (spec,) in cur.fetchall():
                value = int(spec.split("=", 1)[1])
                cur.execute(
                    f"ALTER TABLE {target} DROP IF EXISTS PARTITION ({identifier(partition_column)}={value})"
                )
        cur.execute(f"TRUNCATE TABLE {target}")
    finally:
        conn.close()


def hive_row_count(settings: Settings, database: str, table: str) -> int:
    """Rows of a Hive table as HiveServer2 reads it now (its file listing refreshed first)."""
    target = qualified(database, table)
    conn = clients.hive_connect(settings)
    try:
        cur = conn.cursor()
        cur.execute(f"REFRESH TABLE {target}")
        cur.execute(f"SELECT COUNT(*) FROM {target}")
        return int(cur.fetchone()[0])
    finally:
        conn.close()


def partition_values(spark: SparkSession, database: str, table: str) -> set[str]:
    """The values of a single-column partitioned table's partitions (``year=2010`` → ``"2010"``)."""
    rows = spark.sql(f"SHOW PARTITIONS {qualified(database, table)}").collect()
    return {row[0].split("=", 1)[1] for row in rows}


def drop_partitions(spark: SparkSession, database: str, table: str, column: str, values: set[str]) -> None:
    if not values:
        return
    specs = ", ".join(f"PARTITION ({identifier(column)}={int(value)})" for value in sorted(values))
    spark.sql(f"ALTER TABLE {qualified(database, table)} DROP IF EXISTS {specs}")
