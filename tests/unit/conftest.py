"""Unit-test fixtures: nothing here needs the lab."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def spark():
    """A bare local session (no Hive, no UI, no lab) shared by the unit tests that need Spark; reuses an
    active one and stops only its own."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    session = active or (
        SparkSession.builder.master("local[1]")
        .appName("unit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    if active is None:
        session.stop()
