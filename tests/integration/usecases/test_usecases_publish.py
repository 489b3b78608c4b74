"""Publishing to RDS: a reporting table is replaced all at once or not at all."""

from __future__ import annotations

import pyarrow as pa
import pymysql
import pytest
from uc_support import rds_table_comment, read_rds_table

from retailstream import clients
from retailstream.stages.usecases import publish


def reporting_tables(settings, prefix: str) -> set[str]:
    with clients.rds_cursor("pipeline", settings.rds_reports_database) as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name LIKE %s",
            (settings.rds_reports_database, prefix.replace("_", r"\_") + "%"),
        )
        return {name for (name,) in cursor.fetchall()}


def test_failed_replacement_leaves_the_old_table_whole(settings, rds_prefix):
    name = f"{rds_prefix}swap"
    old = pa.table({"store": pa.array([1, 2], pa.int32()), "sales": [10.5, -3.25]})
    connection = clients.rds_connect("pipeline", settings.rds_reports_database, autocommit=True)
    with connection, connection.cursor() as cursor:
        publish.replace_rds_table(cursor, name, old, ["store"], "run one")
        # The second batch repeats a key: the load fails after the first batch went in.
        broken = pa.table(
            {"store": pa.array(list(range(1, 5_001)) + [1], pa.int32()), "sales": [1.0] * 5_001}
        )
        with pytest.raises(pymysql.err.IntegrityError):
            publish.replace_rds_table(cursor, name, broken, ["store"], "run two")
    assert read_rds_table(settings, name) == (["store", "sales"], [(1, 10.5), (2, -3.25)])
    assert rds_table_comment(settings, name) == "run one"
    assert reporting_tables(settings, rds_prefix + "swap") == {name}  # no staging table left behind

    new = pa.table({"store": pa.array([7], pa.int32()), "sales": [1.0]})
    connection = clients.rds_connect("pipeline", settings.rds_reports_database, autocommit=True)
    with connection, connection.cursor() as cursor:
        publish.replace_rds_table(cursor, name, new, ["store"], "run three")
    assert read_rds_table(settings, name) == (["store", "sales"], [(7, 1.0)])
    assert rds_table_comment(settings, name) == "run three"
