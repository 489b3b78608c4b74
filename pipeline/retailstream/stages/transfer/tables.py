"""What is transferred from RDS to Hive: the tables, their columns, keys, split columns and partitioning.

A Hive table has the contract's columns in contract types (the same types as ``retail.features``) plus
the lineage columns ``source_key`` (the S3 object stage 1 loaded the row from) and ``updated_at`` (the
RDS watermark column); ``sales`` and ``store_traffic`` are partitioned by ``year`` of ``week_date``.
"""

from __future__ import annotations

from dataclasses import dataclass

from retailstream.datasets.contract import contract
from retailstream.warehouse import HiveColumn

CHECK_COLUMN = "updated_at"
PARTITION = "year"
LINEAGE = (
    HiveColumn("source_key", "string", "S3 object the row was loaded from (stage 1)"),
    HiveColumn(CHECK_COLUMN, "timestamp", "when the row last changed in RDS (transfer watermark)"),
)


@dataclass(frozen=True)
class TransferTable:
    name: str  # the RDS table and the Hive table, before any test/bench suffix
    split_by: str  # Sqoop --split-by / Spark partitionColumn: the leading primary-key column
    partitioned: bool  # Hive table partitioned by year(week_date)
    parallel: bool = True  # read with several mappers/partitions (False: too small to be worth it)

    @property
    def kind(self) -> str:
        return self.name

    @property
    def key(self) -> tuple[str, ...]:
        return contract(self.kind).key

    @property
    def hive_columns(self) -> list[HiveColumn]:
        data = [HiveColumn(spec.name, spec.type, spec.description) for spec in contract(self.kind).columns]
        return data + list(LINEAGE)

    @property
    def columns(self) -> list[str]:
        """The columns read from RDS, in RDS table order (Sqoop's mysqldump path reads all of them)."""
        return [column.name for column in self.hive_columns]

    @property
    def partition(self) -> HiveColumn | None:
        return HiveColumn(PARTITION, "int", "year of week_date") if self.partitioned else None

    def parallelism(self, wanted: int) -> int:
        return wanted if self.parallel else 1


TABLES: dict[str, TransferTable] = {
    table.name: table
    for table in (
        TransferTable("stores", split_by="store", partitioned=False, parallel=False),
        TransferTable("sales", split_by="store", partitioned=True),
        TransferTable("store_traffic", split_by="store", partitioned=True),
    )
}


def transfer_table(name: str) -> TransferTable:
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"unknown table {name!r}; transferable: {', '.join(TABLES)}") from None
