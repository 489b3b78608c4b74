"""The consolidation checks' SQL, derived from the data contract."""

from __future__ import annotations

from datetime import date

import pytest

from retailstream.datasets.contract import RowRule, row_rules
from retailstream.stages.consolidate.checks import (
    QueryCheck,
    query_checks,
    row_checks,
    row_sample_sql,
    row_scan_sql,
    rule_condition,
)

NAMES = {"stores": "stores_t1", "sales": "sales_t1", "store_traffic": "store_traffic_t1"}


@pytest.mark.parametrize(
    ("rule", "sql", "params"),
    [
        (RowRule("dept", "not_null", "is missing"), "`dept` IS NULL", ()),
        (RowRule("dept", "minimum", "must be >= 1", 1), "`dept` < %s", (1,)),
        (RowRule("size", "minimum", "must be > 0", 0, exclusive=True), "`size` <= %s", (0,)),
        (RowRule("dept", "maximum", "must be <= 99", 99), "`dept` > %s", (99,)),
        (
            RowRule("store_type", "allowed", "must be one of A, B, C", ("A", "B", "C")),
            "`store_type` NOT IN (%s, %s, %s)",
            ("A", "B", "C"),
        ),
        (RowRule("week_date", "friday", "must be a Friday"), "DAYOFWEEK(`week_date`) <> 6", ()),
        (
            RowRule("week_date", "maximum", "must be <= 2099-12-31", date(2099, 12, 31)),
            "`week_date` > %s",
            (date(2099, 12, 31),),
        ),
    ],
)
def test_rule_conditions(rule, sql, params):
    assert rule_condition(rule) == (sql, params)


@pytest.mark.parametrize("kind", ["stores", "sales", "store_traffic"])
def test_every_contract_rule_is_checked_once_in_one_scan(kind):
    checks = row_checks(kind)
    names = [check.name for check in checks]
    assert names[:-1] == [f"{rule.column}_{rule.check}" for rule in row_rules(kind)]
    assert names[-1] == "updated_at_in_future"
    sql, params = row_scan_sql(NAMES[kind], checks)
    assert sql.startswith("SELECT COUNT(*), ") and sql.endswith(f"FROM `{NAMES[kind]}`")
    assert sql.count("%s") == len(params)
    sample = row_sample_sql(NAMES[kind], kind, checks[0])
    assert "LIMIT 5" in sample and f"FROM `{NAMES[kind]}` WHERE" in sample


def test_query_checks_per_table():
    by_kind = {kind: {c.name: c for c in query_checks(kind, NAMES)} for kind in NAMES}
    assert set(by_kind["stores"]) == {"duplicate_key", "stores_without_sales"}
    assert set(by_kind["sales"]) == {"duplicate_key", "orphan_store", "holiday_flag_mixed"}
    assert set(by_kind["store_traffic"]) == {"duplicate_key", "orphan_store"}
    orphan: QueryCheck = by_kind["sales"]["orphan_store"]
    assert "LEFT JOIN `stores_t1` s" in orphan.count_sql and "FROM `sales_t1` x" in orphan.count_sql
    assert "GROUP BY `store`, `dept`, `week_date`" in by_kind["sales"]["duplicate_key"].count_sql
    assert "FROM `sales_t1` x" in by_kind["stores"]["stores_without_sales"].count_sql
    with pytest.raises(ValueError, match="identifier"):
        query_checks("sales", {**NAMES, "sales": "sales; DROP TABLE stores"})
