"""Stage ``transfer``: RDS tables → HDFS staging → Hive tables, incrementally, with Sqoop or Spark JDBC.

Per table: take the import window (``transfer.window``) and count its rows as the read-only analyst; an
empty window ends there (a plain rerun moves and writes nothing). Otherwise the engine stages the
window's rows under ``<hdfs_staging_dir>/<rds table>/<hive db>.<hive table>/``, the shared publish step
merges them into the Hive table (``transfer.publish``), and only then the watermark is saved (as
``pipeline``, the user allowed to write). A MariaDB named lock keeps two runs off the same target.

Names are parameters so tests and benchmarks can work on their own copies: RDS ``<table><source_suffix>``
→ Hive ``<hive_database>.<table><target_suffix>``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from retailstream import clients
from retailstream.monitoring.metrics import stage_run
from retailstream.rds.schema import ensure_schema
from retailstream.settings import Settings
from retailstream.stages.transfer import publish, spark_jdbc, sqoop
from retailstream.stages.transfer.tables import CHECK_COLUMN, PARTITION, TransferTable, transfer_table
from retailstream.stages.transfer.window import (
    DELETIONS_TABLE,
    Window,
    deletions_in,
    next_window,
    save_watermark,
    saved_watermark,
    wait_until_settled,
)
from retailstream.warehouse import empty_table, hive_row_count, hive_table_exists, identifier

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

Engine = Literal["sqoop", "spark-jdbc"]
ENGINES: tuple[str, ...] = get_args(Engine)
TABLE_NAMES = ("stores", "sales", "store_traffic")


class TransferError(RuntimeError):
    pass


@dataclass(frozen=True)
class Tuning:
    parallelism: int  # Sqoop -m / Spark numPartitions (tables too small to split use 1)
    fetch_size: int
    direct: bool  # Sqoop only: the mysqldump fast path

    @classmethod
    def of(cls, settings: Settings, **overrides) -> Tuning:
        values = {
            "parallelism": settings.transfer_parallelism,
            "fetch_size": settings.transfer_fetch_size,
            "direct": settings.transfer_sqoop_direct,
        }
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)


@dataclass
class TableTransfer:
    table: str
    source: str  # RDS database.table
    target: str  # Hive database.table
    engine: str
    window: Window
    full: bool = False  # the whole table was re-imported (asked for, or rows were deleted in RDS)
    # Hive and RDS disagreed after the incremental import (rows deleted or changed outside the loader):
    # (rows in Hive, rows in RDS below the watermark) before the full re-import that repaired it.
    mismatch: tuple[int, int] | None = None
    rows_moved: int = 0
    partitions: list[int] = field(default_factory=list)
    extract_seconds: float = 0.0
    publish_seconds: float = 0.0


@dataclass
class TransferReport:
    engine: str
    tables: list[TableTransfer] = field(default_factory=list)

    @property
    def rows_moved(self) -> int:
        return sum(t.rows_moved for t in self.tables)

    def table(self, name: str) -> TableTransfer:
        return next(t for t in self.tables if t.table == name)


def _lock_name(target: str) -> str:
    # MariaDB lock names are at most 64 characters.
    return "retailstream-transfer-" + hashlib.sha1(target.encode()).hexdigest()[:32]


def _window_stats(cur, table: TransferTable, rds_table: str, window: Window) -> tuple[int, int, int]:
    condition, params = window.condition(CHECK_COLUMN)
    split = identifier(table.split_by)
    cur.execute(
        f"SELECT COUNT(*), MIN({split}), MAX({split}) FROM {identifier(rds_table)} WHERE {condition}", params
    )
    count, low, high = cur.fetchone()
    return int(count), int(low or 0), int(high or 0)


def _check_direct_columns(cur, table: TransferTable, rds_table: str) -> None:
    cur.execute(f"SELECT * FROM {identifier(rds_table)} LIMIT 0")
    actual = [column[0] for column in cur.description]
    if actual != table.columns:
        raise TransferError(
            f"Sqoop --direct dumps every column of {rds_table} ({', '.join(actual)}), not the transferred "
            f"ones ({', '.join(table.columns)}): use the JDBC path (transfer_sqoop_direct=false)"
        )


def _extract(
    engine: str,
    spark: SparkSession,
    s: Settings,
    table: TransferTable,
    rds_table: str,
    window: Window,
    bounds: tuple[int, int],
    tuning: Tuning,
    delta_dir: str,
):
    """Stage the window with ``engine``; return the staged rows as a DataFrame."""
    parallelism = table.parallelism(tuning.parallelism)
    if engine == "sqoop":
        spec = sqoop.SqoopImport(
            table=rds_table,
            columns=tuple(table.columns),
            split_by=table.split_by,
            mappers=parallelism,
            fetch_size=tuning.fetch_size,
            direct=tuning.direct,
            check_column=CHECK_COLUMN,
            window=window,
            target_dir=delta_dir,
        )
        retrieved = sqoop.run_import(spec, s)
        delta = publish.read_sqoop_text(spark, f"{s.hdfs_url}{delta_dir}", table)
        staged = delta.count()
        if staged != retrieved:
            raise TransferError(f"Sqoop retrieved {retrieved} rows of {rds_table} but staged {staged}")
        return delta, staged
    path = f"{s.hdfs_url}{delta_dir}"
    staged = spark_jdbc.extract(
        spark, s, table, rds_table, window, bounds, parallelism, tuning.fetch_size, path
    )
    return spark.read.parquet(path), staged


def _row_counts(s: Settings, rds_table: str, hive_database: str, hive_table: str) -> tuple[int, int] | None:
    """(rows in Hive, rows in RDS below the saved watermark): equal when Hive holds what RDS holds."""
    target = f"{hive_database}.{hive_table}"
    with clients.rds_cursor("analyst", settings=s) as cur:
        watermark = saved_watermark(cur, target)
        if watermark is None:
            return None
        cur.execute(
            f"SELECT COUNT(*) FROM {identifier(rds_table)} WHERE {identifier(CHECK_COLUMN)} < %s",
            (watermark,),
        )
        rds_rows = int(cur.fetchone()[0])
    return hive_row_count(s, hive_database, hive_table), rds_rows


def transfer_one(
    spark: SparkSession | Callable[[], SparkSession],
    s: Settings,
    engine: str,
    table: TransferTable,
    *,
    rds_table: str,
    hive_database: str,
    hive_table: str,
    tuning: Tuning,
    full: bool = False,
) -> TableTransfer:
    """Move what changed in ``rds_table`` since the last run into ``hive_database.hive_table``, then
    reconcile: when the Hive table does not hold as many rows as RDS below the watermark (rows deleted or
    rewritten in RDS outside the loader, which logs its deletions), re-import the whole table.

    ``spark`` may be a function returning the session: it is then called only when rows move (or the
    Hive table must be created), so a run with nothing new does not start a Spark driver."""
    options = dict(rds_table=rds_table, hive_database=hive_database, hive_table=hive_table, tuning=tuning)
    result = _transfer_window(spark, s, engine, table, full=full, **options)
    if result.full:
        return result
    counts = _row_counts(s, rds_table, hive_database, hive_table)
    if counts is None or counts[0] == counts[1]:
        return result
    log.warning(
        "%s → %s: Hive holds %d rows, RDS %d below the watermark (changed outside the loader): "
        "re-importing all",
        result.source,
        result.target,
        *counts,
    )
    repaired = _transfer_window(spark, s, engine, table, full=True, **options)
    repaired.mismatch = counts
    return repaired


def _transfer_window(
    spark: SparkSession | Callable[[], SparkSession],
    s: Settings,
    engine: str,
    table: TransferTable,
    *,
    rds_table: str,
    hive_database: str,
    hive_table: str,
    tuning: Tuning,
    full: bool = False,
) -> TableTransfer:
    session = spark if callable(spark) else (lambda: spark)
    source = f"{s.rds_database}.{rds_table}"
    target = f"{hive_database}.{hive_table}"
    lock = clients.rds_connect("pipeline", settings=s)
    try:
        with lock.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0)", (_lock_name(target),))
            if cur.fetchone()[0] != 1:
                raise TransferError(f"another transfer into {target} is running")
        exists = hive_table_exists(s, hive_database, hive_table)
        if not exists:  # queryable (empty) even before RDS holds rows
            publish.create_table(session(), table, hive_database, hive_table, s)
        with clients.rds_cursor("analyst", settings=s) as cur:
            wait_until_settled(cur, rds_table, CHECK_COLUMN, s.transfer_lag_seconds)
            wait_until_settled(
                cur, DELETIONS_TABLE, "deleted_at", s.transfer_lag_seconds, "table_name = %s", (rds_table,)
            )
            window = next_window(cur, target, s.transfer_lag_seconds, from_start=full or not exists)
            if not full and exists and (deleted := deletions_in(cur, rds_table, window)):
                # Rows deleted in RDS leave no timestamp behind: rebuild the table from what RDS holds.
                log.info(
                    "%s → %s: %d row(s) deleted in %s, re-importing all", source, target, deleted, window
                )
                full = True
                window = next_window(cur, target, s.transfer_lag_seconds, from_start=True)
            result = TableTransfer(table.name, source, target, engine, window, full=full)
            if window.empty:
                return result
            count, low, high = _window_stats(cur, table, rds_table, window)
            if count == 0:
                if full and exists:  # every row was deleted in RDS: so is the Hive table's content
                    empty_table(s, hive_database, hive_table, PARTITION if table.partitioned else None)
                    with clients.rds_cursor("pipeline", settings=s) as writer:
                        save_watermark(writer, target, source, CHECK_COLUMN, window, engine, 0)
                log.info("%s → %s: no rows changed in %s", source, target, window)
                return result
            if engine == "sqoop" and tuning.direct:
                _check_direct_columns(cur, table, rds_table)

        client = clients.hdfs_client(s)
        work_dir = f"{s.hdfs_staging_dir}/{rds_table}/{target}"
        client.delete(work_dir, recursive=True)  # leftovers of a failed run
        started = time.perf_counter()
        spark = session()
        delta, staged = _extract(
            engine, spark, s, table, rds_table, window, (low, high), tuning, f"{work_dir}/delta"
        )
        result.extract_seconds = time.perf_counter() - started

        started = time.perf_counter()
        result.partitions = publish.publish(
            spark, table, delta, hive_database, hive_table, f"{s.hdfs_url}{work_dir}", s, replace=full
        )
        result.publish_seconds = time.perf_counter() - started
        result.rows_moved = staged
        with clients.rds_cursor("pipeline", settings=s) as cur:
            save_watermark(cur, target, source, CHECK_COLUMN, window, engine, staged)
        client.delete(work_dir, recursive=True)
        log.info(
            "%s → %s (%s): %d rows, partitions %s, extract %.1f s, publish %.1f s",
            source,
            target,
            engine,
            staged,
            result.partitions,
            result.extract_seconds,
            result.publish_seconds,
        )
        return result
    finally:
        lock.close()  # releases the named lock


def transfer_tables(
    settings: Settings,
    engine: str | None = None,
    tables: Sequence[str] = TABLE_NAMES,
    spark: SparkSession | None = None,
    *,
    source_suffix: str = "",
    hive_database: str | None = None,
    target_suffix: str = "",
    full: bool = False,
    parallelism: int | None = None,
    fetch_size: int | None = None,
    direct: bool | None = None,
) -> TransferReport:
    """Stage ``transfer``: move what changed in each RDS table into its Hive table.

    ``engine`` defaults to ``settings.transfer_engine``; ``full`` re-imports everything and rebuilds the
    Hive tables (also dropping rows deleted in RDS); the tuning arguments override the settings.
    """
    s = settings
    engine = engine or s.transfer_engine
    if engine not in ENGINES:
        raise ValueError(f"unknown transfer engine {engine!r}; expected one of {', '.join(ENGINES)}")
    specs = [transfer_table(name) for name in tables]
    tuning = Tuning.of(s, parallelism=parallelism, fetch_size=fetch_size, direct=direct)

    def session() -> SparkSession:
        nonlocal spark
        if spark is None:
            from retailstream.spark import get_spark

            spark = get_spark("retailstream-transfer", s)
        return spark

    database = hive_database or s.hive_database
    report = TransferReport(engine)
    with stage_run("transfer", s) as run:
        ensure_schema(s)
        for table in specs:
            report.tables.append(
                transfer_one(
                    session,
                    s,
                    engine,
                    table,
                    rds_table=f"{table.name}{source_suffix}",
                    hive_database=database,
                    hive_table=f"{table.name}{target_suffix}",
                    tuning=tuning,
                    full=full,
                )
            )
        run.rows_in = run.rows_out = report.rows_moved
        run.details.update(engine=engine, moved={t.table: t.rows_moved for t in report.tables})
    return report
