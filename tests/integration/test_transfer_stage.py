"""Stage 3 against the lab: RDS copies → real Sqoop 1.4.7 and Spark JDBC → HDFS staging → Hive tables.

Both engines publish into their own tables of one throw-away Hive database and are compared row by row.
"""

from __future__ import annotations

import time
import uuid

import pytest
from stage23_support import drop_hive_database, new_hive_database
from yarn_support import run_on_yarn, yarn_application

from retailstream import clients
from retailstream.datasets.generator import GenerationRequest, generate
from retailstream.rds import sandbox
from retailstream.rds.schema import ensure_schema
from retailstream.stages.transfer.incremental import transfer_tables
from retailstream.stages.transfer.window import forget_watermarks

TABLES = ("stores", "sales", "store_traffic")
ENGINES = {"spark-jdbc": "_jdbc", "sqoop": "_sqoop"}
ON_YARN = "_yarn"  # the spark-jdbc engine's tables written by Spark on YARN


@pytest.fixture(scope="module")
def quick(settings):
    # No lag: the tests change rows and transfer them at once (they wait for the next second instead).
    return settings.model_copy(update={"transfer_lag_seconds": 0})


@pytest.fixture(scope="module")
def source(lab, quick, tmp_path_factory):
    ensure_schema(quick)
    suffix = f"_t{uuid.uuid4().hex[:10]}"
    out = tmp_path_factory.mktemp("transfer")
    generate(out, GenerationRequest(stores=3))
    sandbox.create_copies(suffix, quick)
    sandbox.load_incoming(out / "incoming", suffix, quick)
    yield suffix
    sandbox.drop_copies(suffix, quick)
    client = clients.hdfs_client()
    for table in TABLES:
        client.delete(f"{quick.hdfs_staging_dir}/{table}{suffix}", recursive=True)


@pytest.fixture(scope="module")
def hive_db(spark, quick, source):
    name = new_hive_database(spark, quick)
    yield name
    with clients.rds_cursor("pipeline") as cur:
        tags = [*ENGINES.values(), ON_YARN]
        forget_watermarks(cur, [f"{name}.{table}{tag}" for table in TABLES for tag in tags])
    drop_hive_database(spark, name)


def _wait_for_next_second() -> None:
    """Rows stamped now fall inside the next window (its end is whole seconds of the RDS clock)."""
    with clients.rds_cursor("analyst") as cur:
        cur.execute("SELECT MICROSECOND(NOW(6))")
        fraction = cur.fetchone()[0] / 1e6
    time.sleep(1.05 - fraction)


def _transfer_both(spark, quick, source, hive_db, **kwargs):
    return {
        engine: transfer_tables(
            quick,
            engine,
            TABLES,
            spark,
            source_suffix=source,
            hive_database=hive_db,
            target_suffix=tag,
            **kwargs.get(engine, {}),
        )
        for engine, tag in ENGINES.items()
    }


@pytest.fixture(scope="module")
def initial(spark, quick, source, hive_db):
    _wait_for_next_second()
    return _transfer_both(spark, quick, source, hive_db)


def _rds_count(table: str) -> int:
    with clients.rds_cursor("analyst") as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{table}`")
        return cur.fetchone()[0]


def _assert_engines_identical(spark, hive_db):
    for table in TABLES:
        jdbc, sqoop = (spark.table(f"{hive_db}.{table}{tag}") for tag in ENGINES.values())
        assert jdbc.exceptAll(sqoop).count() == 0, f"{table}: rows only the spark-jdbc engine has"
        assert sqoop.exceptAll(jdbc).count() == 0, f"{table}: rows only the sqoop engine has"


def _partition_files(spark, table: str) -> dict[int, set[str]]:
    rows = spark.sql(f"SELECT DISTINCT year, input_file_name() AS file FROM {table}").collect()
    files: dict[int, set[str]] = {}
    for row in rows:
        files.setdefault(row.year, set()).add(row.file)
    return files


def test_initial_transfer_publishes_identical_typed_tables(spark, initial, source, hive_db):
    for engine, report in initial.items():
        for table in TABLES:
            moved = report.table(table)
            assert moved.rows_moved == _rds_count(f"{table}{source}"), (engine, table)
            assert moved.window.lower is None  # first import: everything before the window's end

    for tag in ENGINES.values():
        sales = {c.name: c for c in spark.catalog.listColumns(f"{hive_db}.sales{tag}")}
        assert {n: c.dataType for n, c in sales.items()} == {
            "store": "int",
            "dept": "int",
            "week_date": "date",
            "weekly_sales": "double",
            "is_holiday": "boolean",
            "source_key": "string",
            "updated_at": "timestamp",
            "year": "int",
        }
        assert [n for n, c in sales.items() if c.isPartition] == ["year"]
        stores = {c.name: c.dataType for c in spark.catalog.listColumns(f"{hive_db}.stores{tag}")}
        assert stores == {
            "store": "int",
            "store_type": "string",
            "size": "int",
            "source_key": "string",
            "updated_at": "timestamp",
        }
        for table in ("sales", "store_traffic"):
            partitions = spark.sql(f"SHOW PARTITIONS {hive_db}.{table}{tag}").collect()
            assert [p[0] for p in partitions] == ["year=2010", "year=2011", "year=2012"]
        for table in TABLES:
            assert spark.table(f"{hive_db}.{table}{tag}").count() == _rds_count(f"{table}{source}")
    _assert_engines_identical(spark, hive_db)

    # Values, not only counts: per year, the Hive sums equal the RDS sums.
    with clients.rds_cursor("analyst") as cur:
        cur.execute(
            f"SELECT YEAR(week_date), COUNT(*), SUM(weekly_sales), SUM(is_holiday) FROM `sales{source}` "
            "GROUP BY YEAR(week_date) ORDER BY 1"
        )
        expected = [(y, n, round(float(total), 2), int(holidays)) for y, n, total, holidays in cur.fetchall()]
    hive = spark.sql(
        f"SELECT year, COUNT(*), ROUND(SUM(weekly_sales), 2), SUM(CAST(is_holiday AS INT)) "
        f"FROM {hive_db}.sales_sqoop GROUP BY year ORDER BY year"
    ).collect()
    assert [tuple(row) for row in hive] == expected


def test_sqoop_imports_run_as_mapreduce_jobs_on_yarn(initial, source, settings):
    """Each table's Sqoop import was a MapReduce application of the ResourceManager that succeeded."""
    import requests

    if settings.mapreduce_framework != "yarn":
        pytest.skip("RETAILSTREAM_MAPREDUCE_FRAMEWORK=local: Sqoop runs its jobs in one JVM")
    response = requests.get(
        f"{settings.yarn_resourcemanager_url}/ws/v1/cluster/apps",
        params={"applicationTypes": "MAPREDUCE"},
        timeout=10,
    )
    apps = (response.json()["apps"] or {}).get("app", [])
    ours = {app["name"]: app for app in apps if app["name"].endswith(f"{source}.jar")}
    assert set(ours) == {f"{table}{source}.jar" for table in TABLES}, [app["name"] for app in apps]
    for name, app in ours.items():
        assert (app["state"], app["finalStatus"], app["user"]) == (
            "FINISHED",
            "SUCCEEDED",
            settings.hdfs_user,
        ), name


def test_spark_jdbc_transfer_on_yarn_publishes_the_same_tables(spark, initial, quick, source, hive_db):
    """The stage with `spark_master=yarn` (executors in NodeManager containers) publishes what it
    publishes in local mode."""
    app = run_on_yarn(
        "from retailstream.settings import get_settings\n"
        "from retailstream.stages.transfer.incremental import transfer_tables\n"
        f"transfer_tables(get_settings(), 'spark-jdbc', {TABLES!r}, spark, source_suffix={source!r}, "
        f"hive_database={hive_db!r}, target_suffix={ON_YARN!r})",
        quick,
        env={"RETAILSTREAM_TRANSFER_LAG_SECONDS": "0"},
    )
    assert (yarn_application(quick, app)["finalStatus"], spark.conf.get("spark.master")) == (
        "SUCCEEDED",
        quick.spark_master,
    )
    for table in TABLES:
        local, on_yarn = (spark.table(f"{hive_db}.{table}{tag}") for tag in (ENGINES["spark-jdbc"], ON_YARN))
        assert on_yarn.count() == local.count() > 0, table
        assert local.exceptAll(on_yarn).count() == 0 and on_yarn.exceptAll(local).count() == 0, table


def test_incremental_run_moves_only_new_and_changed_rows(spark, initial, quick, source, hive_db):
    before = {tag: _partition_files(spark, f"{hive_db}.sales{tag}") for tag in ENGINES.values()}
    with clients.rds_cursor("pipeline") as cur:
        cur.executemany(
            f"INSERT INTO `sales{source}` (store, dept, week_date, weekly_sales, is_holiday, source_key) "
            "VALUES (%s, 100, '2012-10-26', %s, 0, 'incremental')",
            [(1, 12.5), (2, 13.5)],
        )
        cur.execute(
            f"UPDATE `sales{source}` SET weekly_sales = 4321.09 "
            "WHERE store = 3 AND week_date = '2010-02-05' ORDER BY dept LIMIT 1"
        )
        cur.execute(
            f"INSERT INTO `store_traffic{source}` (store, week_date, customers, source_key) "
            "VALUES (1, '2012-11-02', 1234, 'incremental')"
        )
    _wait_for_next_second()
    # Sqoop through its mysqldump fast path this time: the same rows must come out.
    reports = _transfer_both(spark, quick, source, hive_db, sqoop={"direct": True})

    for engine, report in reports.items():
        assert {t.table: t.rows_moved for t in report.tables} == {"stores": 0, "sales": 3, "store_traffic": 1}
        assert report.table("sales").partitions == [2010, 2012], engine
        assert report.table("sales").window.lower == initial[engine].table("sales").window.upper
    for tag in ENGINES.values():
        after = _partition_files(spark, f"{hive_db}.sales{tag}")
        assert after[2011] == before[tag][2011]  # untouched partition: same files
        assert after[2010] != before[tag][2010] and after[2012] != before[tag][2012]
        for table in TABLES:
            assert spark.table(f"{hive_db}.{table}{tag}").count() == _rds_count(f"{table}{source}")
        changed = spark.sql(
            f"SELECT store, week_date, weekly_sales, source_key FROM {hive_db}.sales{tag} "
            "WHERE weekly_sales = 4321.09 OR source_key = 'incremental' ORDER BY store"
        ).collect()
        assert [(r.store, str(r.week_date), r.weekly_sales) for r in changed] == [
            (1, "2012-10-26", 12.5),
            (2, "2012-10-26", 13.5),
            (3, "2010-02-05", 4321.09),
        ]
    _assert_engines_identical(spark, hive_db)


def test_plain_rerun_moves_and_changes_nothing(spark, initial, quick, source, hive_db, settings):
    client = clients.hdfs_client()

    def files_of(table: str) -> dict[str, tuple]:
        location = spark.sql(f"DESCRIBE FORMATTED {table}").where("col_name = 'Location'").first()[1]
        root = location.removeprefix(settings.hdfs_url)
        return {
            f"{folder}/{name}": (status["length"], status["modificationTime"])
            for folder, _, names in client.walk(root, status=True)
            for name, status in names
        }

    def watermarks() -> list[tuple]:
        with clients.rds_cursor("analyst") as cur:
            cur.execute(
                "SELECT target, last_value, rows_moved, saved_at FROM transfer_watermarks "
                "WHERE target LIKE %s ORDER BY target",
                (f"{hive_db}.%",),
            )
            return [row for row in cur.fetchall() if row[0] in targets]  # not the tables Spark on YARN wrote

    targets = [f"{hive_db}.{table}{tag}" for table in TABLES for tag in ENGINES.values()]
    files_before = {target: files_of(target) for target in targets}
    marks_before = watermarks()
    assert len(marks_before) == len(targets)
    _wait_for_next_second()
    reports = _transfer_both(spark, quick, source, hive_db)
    assert all(t.rows_moved == 0 and not t.partitions for r in reports.values() for t in r.tables)
    assert {target: files_of(target) for target in targets} == files_before
    assert watermarks() == marks_before


def test_tables_answer_through_hiveserver2(initial, source, hive_db):
    with clients.rds_cursor("analyst") as cur:
        cur.execute(
            f"SELECT st.store_type, COUNT(*), ROUND(SUM(s.weekly_sales), 2), SUM(t.customers) "
            f"FROM `sales{source}` s JOIN `stores{source}` st ON st.store = s.store "
            f"LEFT JOIN `store_traffic{source}` t ON t.store = s.store AND t.week_date = s.week_date "
            "GROUP BY st.store_type ORDER BY 1"
        )
        expected = [
            (kind, n, round(float(total), 2), int(visits)) for kind, n, total, visits in cur.fetchall()
        ]
    with clients.hive_connect(database=hive_db) as conn:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT st.store_type, COUNT(*), ROUND(SUM(s.weekly_sales), 2), SUM(t.customers) "
            "FROM sales_jdbc s JOIN stores_jdbc st ON st.store = s.store "
            "LEFT JOIN store_traffic_jdbc t ON t.store = s.store AND t.week_date = s.week_date "
            "GROUP BY st.store_type ORDER BY 1"
        )
        assert [
            (kind, n, round(total, 2), visits) for kind, n, total, visits in cursor.fetchall()
        ] == expected


def test_rows_deleted_by_hand_in_rds_are_found_by_reconciliation(spark, initial, quick, source, hive_db):
    """A DELETE outside the loader logs nothing: the counts after the run disagree, and the transfer
    re-imports the table so that Hive holds what RDS holds."""
    with clients.rds_cursor("pipeline") as cur:
        removed = cur.execute(f"DELETE FROM `sales{source}` WHERE store = 2 AND dept = 2")
    assert removed > 0
    _wait_for_next_second()
    reports = _transfer_both(spark, quick, source, hive_db)
    for engine, report in reports.items():
        sales = report.table("sales")
        assert sales.full and sales.mismatch == (sales.rows_moved + removed, sales.rows_moved), engine
        assert report.table("stores").mismatch is None and not report.table("stores").full
    for tag in ENGINES.values():
        assert spark.table(f"{hive_db}.sales{tag}").count() == _rds_count(f"sales{source}")
    _assert_engines_identical(spark, hive_db)


# Last: it empties a table the tests above read.
def test_rows_deleted_in_rds_leave_hive_too(spark, initial, quick, source, hive_db):
    """Deletions leave no updated_at behind: the loader logs them and the transfer rebuilds the table
    from what RDS holds; a table whose rows were all deleted ends empty."""
    with clients.rds_cursor("pipeline") as cur:
        deleted = cur.execute(f"DELETE FROM `sales{source}` WHERE store = 3 AND dept = 1")
        traffic = cur.execute(f"DELETE FROM `store_traffic{source}`")
        cur.executemany(
            "INSERT INTO load_deletions (table_name, source_key, rows_deleted) VALUES (%s, 'it-deleted', %s)",
            [(f"sales{source}", deleted), (f"store_traffic{source}", traffic)],
        )
    try:
        _wait_for_next_second()
        reports = _transfer_both(spark, quick, source, hive_db)
        for engine, report in reports.items():
            assert report.table("sales").full and report.table("store_traffic").full, engine
            assert not report.table("stores").full
            assert report.table("sales").rows_moved == _rds_count(f"sales{source}")
        for tag in ENGINES.values():
            for table in TABLES:
                assert spark.table(f"{hive_db}.{table}{tag}").count() == _rds_count(f"{table}{source}")
            assert spark.table(f"{hive_db}.store_traffic{tag}").count() == 0
            assert not spark.sql(f"SHOW PARTITIONS {hive_db}.store_traffic{tag}").collect()
        _assert_engines_identical(spark, hive_db)

        _wait_for_next_second()  # the deletions are behind the watermark now: nothing more to do
        again = _transfer_both(spark, quick, source, hive_db)
        assert all(not t.full and t.rows_moved == 0 for r in again.values() for t in r.tables)
    finally:
        with clients.rds_cursor("pipeline") as cur:
            cur.execute("DELETE FROM load_deletions WHERE source_key = 'it-deleted'")
