"""Airflow on PostgreSQL: its metadata in its own database, owned by a user with no other rights, and the
LocalExecutor running the DAG's independent branches side by side."""

from __future__ import annotations

from contextlib import closing

import psycopg2
import pytest

from retailstream import clients
from retailstream.orchestration.airflow_api import AirflowClient
from retailstream.steps import STEPS

FEATURES_BRANCH = {step.name for step in STEPS if step.stage == "features"}
SALES_BRANCH = {"upload", "crawl_raw", "clean", "load", "crawl_curated", "consolidate", "transfer"}


def test_airflow_keeps_its_metadata_in_postgresql_as_a_least_privilege_user(lab, settings):
    with closing(clients.airflow_db_connect(settings)) as conn, conn.cursor() as cur:
        cur.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (False, False, False)
        # The DAG processor wrote the lab's DAGs here: this is the database Airflow uses.
        cur.execute("SELECT dag_id FROM dag WHERE dag_id IN ('retailstream', 'retailstream_lab_check')")
        assert {row[0] for row in cur.fetchall()} == {"retailstream", "retailstream_lab_check"}
    for other in ("postgres", "template1"):  # the access rules admit Airflow's user to its database only
        with pytest.raises(psycopg2.OperationalError, match="no pg_hba.conf entry"):
            clients.airflow_db_connect(settings, database=other)


def test_the_scheduler_runs_the_independent_branches_side_by_side(settings, demo_run):
    """Features (HDFS → Hive) do not wait for sales (S3 → RDS → Hive): some task of each branch ran while
    one of the other did."""
    tasks = {t.task_id: t for t in AirflowClient(settings).task_states("retailstream", demo_run)}
    assert FEATURES_BRANCH and set(tasks) >= FEATURES_BRANCH | SALES_BRANCH
    assert all(tasks[name].state == "success" for name in FEATURES_BRANCH | SALES_BRANCH)
    overlaps = [
        (features, sales)
        for features in FEATURES_BRANCH
        for sales in SALES_BRANCH
        if tasks[features].start_date < tasks[sales].end_date
        and tasks[sales].start_date < tasks[features].end_date
    ]
    assert overlaps, {name: (tasks[name].start_date, tasks[name].end_date) for name in tasks}
