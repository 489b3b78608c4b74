"""The ``spark-jdbc`` engine: Spark's JDBC source reads one window of an RDS table into HDFS staging.

Same window and staging contract as the Sqoop engine (``transfer.window``): a subquery selects the
window's rows; ``partitionColumn`` (the table's split column) with the window's MIN/MAX as bounds and
``numPartitions`` splits the read like Sqoop's ``--split-by``/``-m``, and ``fetchsize`` streams rows in
batches like ``--fetch-size``. The URL is ``jdbc:mysql://`` with the MariaDB driver: a ``jdbc:mariadb:``
URL makes Spark pick a generic dialect that double-quotes identifiers and silently reads no rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retailstream import clients
from retailstream.settings import Settings
from retailstream.stages.transfer.tables import CHECK_COLUMN, TransferTable
from retailstream.stages.transfer.window import Window
from retailstream.warehouse import identifier

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MARIADB_DRIVER = "org.mariadb.jdbc.Driver"


def window_reader(
    spark: SparkSession,
    settings: Settings,
    table: TransferTable,
    rds_table: str,
    window: Window,
    bounds: tuple[int, int],
    partitions: int,
    fetch_size: int,
) -> DataFrame:
    """The window's rows of ``rds_table`` as a DataFrame read through JDBC (lazily)."""
    user, password = clients.rds_credentials("analyst", settings)
    columns = ", ".join(identifier(column) for column in table.columns)
    query = (
        f"(SELECT {columns} FROM {identifier(rds_table)} "
        f"WHERE {window.literal_condition(CHECK_COLUMN)}) AS window_rows"
    )
    reader = (
        spark.read.format("jdbc")
        .option("url", settings.jdbc_url())
        .option("driver", MARIADB_DRIVER)
        .option("user", user)
        .option("password", password)
        .option("dbtable", query)
        .option("fetchsize", fetch_size)
    )
    low, high = bounds
    if partitions > 1 and high > low:
        reader = (
            reader.option("partitionColumn", table.split_by)
            .option("lowerBound", low)
            .option("upperBound", high + 1)
            .option("numPartitions", partitions)
        )
    return reader.load()


def extract(
    spark: SparkSession,
    settings: Settings,
    table: TransferTable,
    rds_table: str,
    window: Window,
    bounds: tuple[int, int],
    partitions: int,
    fetch_size: int,
    target_dir: str,
) -> int:
    """Write the window's rows to ``target_dir`` (Parquet); return how many were written."""
    window_reader(spark, settings, table, rds_table, window, bounds, partitions, fetch_size).write.mode(
        "overwrite"
    ).parquet(target_dir)
    return spark.read.parquet(target_dir).count()
