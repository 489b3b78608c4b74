"""Hive DDL built from column declarations; identifiers are checked, never interpolated blindly."""

from __future__ import annotations

import pytest

from retailstream.stages.features.build import QUARANTINE_COLUMNS, feature_columns
from retailstream.stages.transfer.tables import transfer_table
from retailstream.warehouse import HiveColumn, create_table_sql, identifier


def test_partitioned_parquet_table_ddl():
    sales = transfer_table("sales")
    sql = create_table_sql("retail", "sales", sales.hive_columns, sales.partition, "RDS sales")
    assert sql.startswith("CREATE TABLE IF NOT EXISTS `retail`.`sales` (")
    assert "`weekly_sales` DOUBLE COMMENT 'USD, two decimals'" in sql
    assert "`updated_at` TIMESTAMP" in sql and "`is_holiday` BOOLEAN" in sql and "`week_date` DATE" in sql
    assert "PARTITIONED BY (`year` INT COMMENT 'year of week_date')" in sql
    assert sql.endswith("STORED AS PARQUET")
    assert "PARTITIONED" not in create_table_sql("retail", "stores", transfer_table("stores").hive_columns)


def test_features_table_columns_follow_the_contract():
    names = [column.name for column in feature_columns()]
    assert names[:2] == ["store", "week_date"] and names[-1] == "is_holiday" and len(names) == 12
    assert [c.name for c in QUARANTINE_COLUMNS] == ["source_file", "raw", "reason", "status"]


def test_comments_are_escaped_and_identifiers_checked():
    assert HiveColumn("a", "string", "it's").ddl() == "`a` STRING COMMENT 'it\\'s'"
    for bad in ("a b", "a`b", "1a", "", "x;drop"):
        with pytest.raises(ValueError):
            identifier(bad)
