"""Incremental import windows on the RDS ``updated_at`` column, and the watermarks that chain them.

A run imports the rows with ``lower <= updated_at < upper`` — Sqoop's ``--incremental lastmodified``
semantics — where ``lower`` is the watermark saved by the previous run for the same Hive target
(``transfer_watermarks``, in the RDS database) and ``upper`` is the RDS clock ``transfer_lag_seconds``
ago, in whole seconds. Windows are half-open and chained, so every change lands in exactly one window:

* ``updated_at`` moves on insert and on every real change, so new and changed rows are picked up;
* the lag leaves time for transactions that stamped rows before ``upper`` but commit after the read;
  and a run first waits until the newest committed row is older than the lag, so its window holds
  every row committed before it started (the DAG transfers right after the loads finished);
* ``upper`` is whole seconds because Sqoop's own upper bound (``SELECT CURRENT_TIMESTAMP``) is, so the
  Sqoop engine never stops short of ours;
* the watermark is saved only after the target table was published; a run that fails leaves it, and the
  next run imports the same rows again — the merge by key makes that harmless;
* a run whose window holds no rows writes nothing, so a plain rerun changes nothing anywhere.

Deleted RDS rows are not seen by any timestamp watermark (as with Sqoop): the loader logs every deletion
in ``load_deletions``, and a window that holds a deletion of the table makes the transfer re-import the
whole table (``deletions_in``); ``full=True`` does that unconditionally.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from retailstream.warehouse import identifier


@dataclass(frozen=True)
class Window:
    lower: datetime | None  # inclusive; None imports from the beginning
    upper: datetime  # exclusive

    @property
    def empty(self) -> bool:
        return self.lower is not None and self.lower >= self.upper

    def condition(self, column: str) -> tuple[str, tuple]:
        """The window as a parameterised SQL condition on ``column``."""
        if self.lower is None:
            return f"{identifier(column)} < %s", (self.upper,)
        return f"{identifier(column)} >= %s AND {identifier(column)} < %s", (self.lower, self.upper)

    def literal_condition(self, column: str) -> str:
        """The same condition with the bounds inlined, for engines that take SQL text (Spark JDBC)."""
        upper = f"{identifier(column)} < '{sql_timestamp(self.upper)}'"
        if self.lower is None:
            return upper
        return f"{identifier(column)} >= '{sql_timestamp(self.lower)}' AND {upper}"


def sql_timestamp(value: datetime) -> str:
    """A datetime as a MySQL/Sqoop timestamp literal with milliseconds (the precision of updated_at)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def window_upper(cur, lag_seconds: int) -> datetime:
    """The RDS clock ``lag_seconds`` ago, truncated to whole seconds (the clock that stamps rows)."""
    cur.execute("SELECT NOW() - INTERVAL %s SECOND", (lag_seconds,))
    return cur.fetchone()[0]


DELETIONS_TABLE = "load_deletions"


def wait_until_settled(
    cur, rds_table: str, check_column: str, lag_seconds: int, where: str = "1 = 1", params: tuple = ()
) -> float:
    """Sleep until the newest ``check_column`` (of the rows matching ``where``) is more than the lag
    (plus the second ``upper`` is truncated to) in the past; returns the seconds waited (never more
    than that margin)."""
    margin = lag_seconds + 1
    cur.execute(
        f"SELECT TIMESTAMPDIFF(MICROSECOND, MAX({identifier(check_column)}), NOW(3)) / 1e6 "
        f"FROM {identifier(rds_table)} WHERE {where}",
        params,
    )
    age = cur.fetchone()[0]
    if age is None or float(age) >= margin:
        return 0.0
    wait = min(margin - float(age), margin)
    time.sleep(wait)
    return wait


def deletions_in(cur, rds_table: str, window: Window) -> int:
    """Rows of ``rds_table`` the loader deleted within ``window`` (by ``load_deletions.deleted_at``)."""
    condition, params = window.condition("deleted_at")
    cur.execute(
        f"SELECT COALESCE(SUM(rows_deleted), 0) FROM {identifier(DELETIONS_TABLE)} "
        f"WHERE table_name = %s AND {condition}",
        (rds_table, *params),
    )
    return int(cur.fetchone()[0])


def saved_watermark(cur, target: str) -> datetime | None:
    cur.execute("SELECT last_value FROM transfer_watermarks WHERE target = %s", (target,))
    row = cur.fetchone()
    return row[0] if row else None


def next_window(cur, target: str, lag_seconds: int, *, from_start: bool) -> Window:
    """The window of the next import into ``target``; ``from_start`` ignores the saved watermark."""
    lower = None if from_start else saved_watermark(cur, target)
    return Window(lower, window_upper(cur, lag_seconds))


def save_watermark(
    cur, target: str, source: str, check_column: str, window: Window, engine: str, rows: int
) -> None:
    cur.execute(
        "INSERT INTO transfer_watermarks (target, source, check_column, last_value, engine, rows_moved) "
        "VALUES (%s, %s, %s, %s, %s, %s) "
        "ON DUPLICATE KEY UPDATE source = VALUES(source), check_column = VALUES(check_column), "
        "last_value = VALUES(last_value), engine = VALUES(engine), rows_moved = VALUES(rows_moved)",
        (target, source, check_column, window.upper, engine, rows),
    )


def forget_watermarks(cur, targets: list[str]) -> None:
    if targets:
        placeholders = ", ".join(["%s"] * len(targets))
        cur.execute(f"DELETE FROM transfer_watermarks WHERE target IN ({placeholders})", tuple(targets))
