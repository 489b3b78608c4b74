"""Publish a staged window into its Hive table: merge by key, rewriting only the affected partitions.

The same step for both engines. The staged rows are cast to the Hive types; the target's rows in the
partitions the window touches are read, and per key the staged row wins (ties between staged rows: the
newest ``updated_at``, then the row's values — deterministic). The merged partitions are written to
staging first (a durable copy, and a table is never read and overwritten by the same job), then
inserted with dynamic partition overwrite, so untouched partitions keep their files. ``replace``
rebuilds the whole table from the staged rows (a full re-import, which also drops rows deleted in RDS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retailstream.settings import Settings
from retailstream.stages.transfer.tables import CHECK_COLUMN, PARTITION, TransferTable
from retailstream.warehouse import (
    HIVE_TYPES,
    create_table_sql,
    drop_partitions,
    ensure_database,
    partition_values,
    qualified,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def read_sqoop_text(spark: SparkSession, path: str, table: TransferTable) -> DataFrame:
    """Sqoop's text output (\\001-separated, ``\\N`` for NULL) as string columns; a malformed line fails."""
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(name, T.StringType()) for name in table.columns])
    return (
        spark.read.schema(schema)
        .option("sep", "\x01")
        .option("nullValue", "\\N")
        .option("quote", "\u0000")  # Sqoop did not enclose fields: no character is a quote
        .option("mode", "FAILFAST")
        .csv(path)
    )


def typed(delta: DataFrame, table: TransferTable) -> DataFrame:
    """The staged rows in the Hive table's types (ANSI casts: a value that does not fit fails the job)."""
    from pyspark.sql import functions as F

    columns = [F.col(c.name).cast(HIVE_TYPES[c.type]).alias(c.name) for c in table.hive_columns]
    result = delta.select(*columns)
    if table.partitioned:
        result = result.withColumn(PARTITION, F.year("week_date"))
    return result


def create_table(spark: SparkSession, table: TransferTable, database: str, hive_table: str, settings) -> None:
    ensure_database(spark, database, settings)
    spark.sql(
        create_table_sql(
            database,
            hive_table,
            table.hive_columns,
            table.partition,
            f"RDS {table.name}, transferred incrementally on {CHECK_COLUMN}",
        )
    )


def publish(
    spark: SparkSession,
    table: TransferTable,
    delta: DataFrame,
    database: str,
    hive_table: str,
    work_dir: str,
    settings: Settings,
    *,
    replace: bool = False,
) -> list[int]:
    """Merge ``delta`` into ``database.hive_table``; return the partitions (years) rewritten."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    target = qualified(database, hive_table)
    create_table(spark, table, database, hive_table, settings)
    staged = typed(delta, table)
    years = (
        sorted(row[0] for row in staged.select(PARTITION).distinct().collect()) if table.partitioned else []
    )
    incoming = staged.withColumn("_staged", F.lit(True))
    if not replace:
        existing = spark.table(target)
        if table.partitioned:
            existing = existing.where(F.col(PARTITION).isin(years))
        incoming = incoming.unionByName(existing.withColumn("_staged", F.lit(False)))
    others = [c.name for c in table.hive_columns if c.name not in table.key and c.name != CHECK_COLUMN]
    winner_first = Window.partitionBy(*table.key).orderBy(
        F.col("_staged").desc(), F.col(CHECK_COLUMN).desc(), *others
    )
    merged = (
        incoming.withColumn("_rank", F.row_number().over(winner_first))
        .where(F.col("_rank") == 1)
        .drop("_rank", "_staged")
    )
    merged_dir = f"{work_dir}/merged"
    layout = merged.repartition(PARTITION) if table.partitioned else merged.coalesce(1)
    layout.write.mode("overwrite").parquet(merged_dir)  # one file per partition

    columns = [c.name for c in table.hive_columns] + ([PARTITION] if table.partitioned else [])
    spark.read.parquet(merged_dir).select(*columns).write.insertInto(target, overwrite=True)
    if replace and table.partitioned:
        stale = partition_values(spark, database, hive_table) - {str(year) for year in years}
        drop_partitions(spark, database, hive_table, PARTITION, stale)
    spark.catalog.refreshTable(target)
    return years
