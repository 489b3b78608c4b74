"""`make down && make up` keeps the RDS, HDFS and Hive data."""

from __future__ import annotations

import uuid

import pytest

from retailstream import clients


@pytest.mark.restarts_lab
def test_down_up_keeps_rds_hdfs_and_hive_data(lab, settings):
    tag = uuid.uuid4().hex[:8]
    rds_table, hdfs_path, hive_table = f"restart_{tag}", f"/tmp/restart-{tag}.txt", f"restart_{tag}"
    with clients.rds_cursor("pipeline") as cur:
        cur.execute(f"CREATE TABLE {rds_table} (id INT PRIMARY KEY, note VARCHAR(20))")
        cur.execute(f"INSERT INTO {rds_table} VALUES (1, %s)", (tag,))
    clients.hdfs_client().write(hdfs_path, data=tag.encode(), overwrite=True)
    conn = clients.hive_connect(database=settings.hive_database)
    conn.cursor().execute(f"CREATE TABLE {hive_table} (id INT, note STRING) STORED AS PARQUET")
    conn.cursor().execute(f"INSERT INTO {hive_table} VALUES (1, '{tag}')")
    conn.close()

    lab.down()
    assert lab.status()[0].state != "RUNNING"
    lab.up()

    try:
        with clients.rds_cursor("pipeline") as cur:
            cur.execute(f"SELECT note FROM {rds_table}")
            assert cur.fetchall() == ((tag,),)
        with clients.hdfs_client().read(hdfs_path) as reader:
            assert reader.read() == tag.encode()
        conn = clients.hive_connect(database=settings.hive_database)
        cur = conn.cursor()
        cur.execute(f"SELECT id, note FROM {hive_table}")
        assert cur.fetchall() == [(1, tag)]
        conn.close()
    finally:
        with clients.rds_cursor("pipeline") as cur:
            cur.execute(f"DROP TABLE IF EXISTS {rds_table}")
        clients.hdfs_client().delete(hdfs_path)
        conn = clients.hive_connect(database=settings.hive_database)
        conn.cursor().execute(f"DROP TABLE IF EXISTS {hive_table}")
        conn.close()
