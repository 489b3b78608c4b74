"""Fixtures of the use-case tests: throw-away Hive databases, RDS table prefixes and report folders.

Every name is unique per test session (uuid), and everything created is dropped at the end, so the
tests can run next to other engineers' work on the shared lab and be rerun.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from uc_support import load_incoming, write_hive_table

from retailstream import clients
from retailstream.settings import Settings


@pytest.fixture(scope="session")
def hive_database(spark) -> Iterator[Callable[[dict[str, pd.DataFrame]], str]]:
    """Factory: a new Hive database holding the given canonical frames (kind → frame)."""
    created: list[str] = []

    def create(frames: dict[str, pd.DataFrame]) -> str:
        name = f"retail_uc_{uuid.uuid4().hex[:10]}"
        spark.sql(f"CREATE DATABASE {name}")
        created.append(name)
        for kind, frame in frames.items():
            write_hive_table(spark, name, kind, frame)
        return name

    yield create
    for name in created:
        spark.sql(f"DROP DATABASE IF EXISTS {name} CASCADE")


@pytest.fixture(scope="session")
def rds_prefix(lab, settings) -> Iterator[str]:
    """A unique RDS table prefix; every reporting table carrying it is dropped at the end."""
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    yield prefix
    with clients.rds_cursor("pipeline", settings.rds_reports_database) as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name LIKE %s",
            (settings.rds_reports_database, prefix.replace("_", r"\_") + "%"),
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"DROP TABLE `{table}`")


@pytest.fixture(scope="session")
def reports_settings(settings, tmp_path_factory) -> Iterator[Settings]:
    """The lab's settings with a private reports folder and a pipeline label of its own, so test runs do
    not pose as the pipeline's last `usecases`/`report` runs in the metrics; their groups go at the end."""
    from prometheus_client import delete_from_gateway

    private = settings.model_copy(
        update={
            "reports_dir": tmp_path_factory.mktemp("reports"),
            "pipeline_name": f"test-uc-{uuid.uuid4().hex[:8]}",
        }
    )
    yield private
    for stage in ("usecases", "usecases_report"):
        delete_from_gateway(
            private.pushgateway_url,
            job=private.metrics_job,
            grouping_key={"stage": stage, "pipeline": private.pipeline_name},
        )


@pytest.fixture(scope="session")
def generated_1x(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """Canonical frames of the synthetic 1× data, made by the real CLI and read by the project's loader."""
    out = tmp_path_factory.mktemp("data1x")
    cli = Path(sys.executable).with_name("retailstream")
    subprocess.run(
        [str(cli), "data", "generate", "--scale", "1", "--out", str(out)], check=True, capture_output=True
    )
    return load_incoming(out / "incoming")


@pytest.fixture(scope="session")
def hive_1x(hive_database, generated_1x) -> str:
    """A Hive database holding the 1× synthetic data."""
    return hive_database(generated_1x)
