"""Stage ``consolidate`` against the lab's MariaDB: planted defects are found, counted and recorded."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from retailstream import clients
from retailstream.rds import sandbox
from retailstream.rds.schema import ensure_schema
from retailstream.stages.consolidate.report import ConsolidationError, consolidate

FRIDAY, NEXT_FRIDAY, SATURDAY = date(2011, 11, 25), date(2011, 12, 2), date(2011, 11, 26)


@pytest.fixture
def suffix(lab, settings):
    ensure_schema(settings)
    name = f"_t{uuid.uuid4().hex[:10]}"
    sandbox.create_copies(name, settings)
    yield name
    sandbox.drop_copies(name, settings)
    with clients.rds_cursor("pipeline") as cur:
        cur.execute(
            "DELETE r FROM consolidation_runs r JOIN consolidation_report c USING (run_id) "
            "WHERE c.table_name LIKE %s",
            (f"%{name}",),
        )
        cur.execute("DELETE FROM consolidation_report WHERE table_name LIKE %s", (f"%{name}",))


def _insert(suffix: str, stores, sales, traffic=(), *, relaxed: bool = False) -> None:
    with clients.rds_cursor("pipeline") as cur:
        if relaxed:  # plant values the table's CHECK constraints would refuse
            cur.execute("SET SESSION check_constraint_checks = 0")
        cur.executemany(
            f"INSERT INTO stores{suffix} (store, store_type, size, source_key) VALUES (%s, %s, %s, 'test')",
            stores,
        )
        cur.executemany(
            f"INSERT INTO sales{suffix} (store, dept, week_date, weekly_sales, is_holiday, source_key) "
            "VALUES (%s, %s, %s, %s, %s, 'test')",
            sales,
        )
        cur.executemany(
            f"INSERT INTO store_traffic{suffix} (store, week_date, customers, source_key) "
            "VALUES (%s, %s, %s, 'test')",
            traffic,
        )


def test_clean_tables_pass(suffix, settings):
    _insert(
        suffix,
        stores=[(1, "A", 150_000), (2, "B", 60_000)],
        sales=[(1, 1, FRIDAY, 10.0, True), (2, 1, FRIDAY, -3.5, True), (1, 1, NEXT_FRIDAY, 7.0, False)],
        traffic=[(1, FRIDAY, 900), (2, FRIDAY, 400)],
    )
    report = consolidate(settings, suffix=suffix, fail_on_error=True)
    assert report.ok
    assert all(r.rows_flagged == 0 for r in report.results)
    assert {r.table: r.rows_checked for r in report.results} == {
        f"stores{suffix}": 2,
        f"sales{suffix}": 3,
        f"store_traffic{suffix}": 2,
    }


def test_unchanged_tables_reuse_the_last_runs_findings(suffix, settings):
    _insert(suffix, stores=[(1, "A", 150_000)], sales=[(1, 1, FRIDAY, 10.0, True)])
    first = consolidate(settings, suffix=suffix)
    again = consolidate(settings, suffix=suffix)
    assert not first.reused and again.reused
    assert (again.run_id, again.results) == (first.run_id, sorted(first.results, key=_order))

    # Any change to a checked table, here one value of one row, makes the next run scan again.
    with clients.rds_cursor("pipeline") as cur:
        cur.execute(f"UPDATE sales{suffix} SET weekly_sales = 11.0 WHERE store = 1")
    changed = consolidate(settings, suffix=suffix)
    assert not changed.reused and changed.run_id != first.run_id
    with clients.rds_cursor("analyst") as cur:
        cur.execute(
            "SELECT COUNT(DISTINCT run_id) FROM consolidation_report WHERE table_name = %s",
            (f"sales{suffix}",),
        )
        assert cur.fetchone()[0] == 2


def _order(result):
    return result.table, result.check


def test_planted_defects_are_reported_per_check(suffix, settings):
    with clients.rds_cursor("pipeline") as cur:  # so that duplicate keys can exist at all
        cur.execute(f"ALTER TABLE sales{suffix} DROP PRIMARY KEY")
    _insert(
        suffix,
        stores=[(1, "A", 150_000), (2, "D", 60_000), (3, "C", 40_000)],
        sales=[
            (1, 1, FRIDAY, 10.0, True),
            (1, 1, FRIDAY, 11.0, True),  # duplicate key
            (1, 2, FRIDAY, 5.0, False),  # holiday flag disagrees with the week's other rows
            (1, 120, NEXT_FRIDAY, 5.0, False),  # dept out of range
            (1, 3, SATURDAY, 5.0, False),  # not a Friday
            (9, 1, NEXT_FRIDAY, 5.0, False),  # orphan: no store 9
        ],
        traffic=[(9, FRIDAY, 10), (1, FRIDAY, 900)],
        relaxed=True,
    )
    with clients.rds_cursor("pipeline") as cur:
        cur.execute(f"UPDATE stores{suffix} SET updated_at = NOW(3) + INTERVAL 1 DAY WHERE store = 1")

    report = consolidate(settings, suffix=suffix)
    stores, sales, traffic = (f"{table}{suffix}" for table in ("stores", "sales", "store_traffic"))
    flagged = {(r.table, r.check): r.rows_flagged for r in report.results if r.rows_flagged}
    assert flagged == {
        (stores, "store_type_allowed"): 1,
        (stores, "updated_at_in_future"): 1,
        (stores, "stores_without_sales"): 2,
        (sales, "duplicate_key"): 1,
        (sales, "dept_maximum"): 1,
        (sales, "week_date_friday"): 1,
        (sales, "orphan_store"): 1,
        (sales, "holiday_flag_mixed"): 3,
        (traffic, "orphan_store"): 1,
    }
    samples = {(r.table, r.check): r.sample for r in report.results if r.rows_flagged}
    assert samples[(sales, "orphan_store")] == [{"store": 9, "dept": 1, "week_date": "2011-12-02"}]
    assert samples[(stores, "store_type_allowed")] == [{"store": 2}]
    assert {e.check for e in report.errors} == {
        "store_type_allowed",
        "updated_at_in_future",
        "duplicate_key",
        "dept_maximum",
        "week_date_friday",
        "orphan_store",
    }

    # Recorded for analysts, one row per check, readable by the read-only user.
    with clients.rds_cursor("analyst") as cur:
        cur.execute(
            "SELECT table_name, check_name, severity, rows_flagged, sample FROM v_consolidation_latest "
            "WHERE table_name IN (%s, %s, %s) AND rows_flagged > 0",
            (stores, sales, traffic),
        )
        rows = {(t, c): (severity, n, sample) for t, c, severity, n, sample in cur.fetchall()}
    assert {key: n for key, (_, n, _) in rows.items()} == flagged
    assert rows[(sales, "holiday_flag_mixed")][0] == "warning"
    assert json.loads(rows[(sales, "dept_maximum")][2]) == [
        {"store": 1, "dept": 120, "week_date": "2011-12-02"}
    ]

    with pytest.raises(ConsolidationError, match="orphan_store"):
        consolidate(settings, suffix=suffix, fail_on_error=True)
