"""The use cases' inputs: the Hive tables ``<database>.sales|stores|features|store_traffic``.

Each table is read with the contract's columns, cast to the contract's types (so a table written by
Sqoop, Spark-JDBC or a test reads the same); extra columns such as ``source_key`` or partition columns
are ignored. ``store_traffic`` is optional — the real Kaggle data has no customer visits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from retailstream.datasets.contract import spark_schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

REQUIRED = ("sales", "stores", "features")
OPTIONAL = ("store_traffic",)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class MissingInputError(RuntimeError):
    """A required input table or column is not there; the message names it and who creates it."""


@dataclass(frozen=True)
class Inputs:
    sales: DataFrame
    stores: DataFrame
    features: DataFrame
    store_traffic: DataFrame | None

    def as_args(self) -> tuple:
        return self.sales, self.stores, self.features, self.store_traffic

    def by_kind(self) -> dict[str, DataFrame | None]:
        return dict(zip(REQUIRED + OPTIONAL, self.as_args(), strict=True))

    def persisted(self) -> Inputs:
        return Inputs(*(None if frame is None else frame.persist() for frame in self.as_args()))

    def unpersist(self) -> None:
        for frame in self.as_args():
            if frame is not None:
                frame.unpersist()


def checked_identifier(name: str, what: str = "database") -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"invalid {what} name {name!r}: letters, digits and underscores only")
    return name


def read_table(spark: SparkSession, database: str, kind: str) -> DataFrame:
    from pyspark.sql import functions as F

    table = f"{checked_identifier(database)}.{kind}"
    frame = spark.table(table)
    present = {name.lower() for name in frame.columns}
    schema = spark_schema(kind)
    missing = [field.name for field in schema.fields if field.name not in present]
    if missing:
        raise MissingInputError(f"Hive table {table} lacks column(s) {', '.join(missing)}")
    return frame.select([F.col(field.name).cast(field.dataType).alias(field.name) for field in schema.fields])


def read_inputs(spark: SparkSession, database: str) -> Inputs:
    """The four inputs of ``database``; ``store_traffic`` is None when that table does not exist."""
    checked_identifier(database)
    absent = [kind for kind in REQUIRED if not spark.catalog.tableExists(f"{database}.{kind}")]
    if absent:
        raise MissingInputError(
            f"Hive table(s) {', '.join(f'{database}.{kind}' for kind in absent)} not found: "
            "stages 2-3 (features job, RDS → Hive transfer) create them"
        )
    frames = {kind: read_table(spark, database, kind) for kind in REQUIRED}
    traffic = (
        read_table(spark, database, "store_traffic")
        if spark.catalog.tableExists(f"{database}.store_traffic")
        else None
    )
    return Inputs(**frames, store_traffic=traffic)
