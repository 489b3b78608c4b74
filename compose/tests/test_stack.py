"""Smoke test of the compose stack, from the host (testcontainers' DockerCompose drives `docker compose`):
up, wait until the bootstrap has checked every service, run the DAG through the stack's Airflow REST API
on small data, reconcile RDS with Hive through the published ports, check the report on the host; then
edit a use-case constant in the mounted code and see the next run's report change with no image
rebuild; tear everything down with its volumes.

A project of its own (retailstream-smoke), on free ports and its own data and report folders, so it
never touches a stack or a native lab that runs beside it. Not part of `make test` (it builds and runs a
whole stack); CI runs it:  .venv/bin/pytest compose/tests
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from retailstream.settings import PROJECT_ROOT, Settings

COMPOSE_DIR = PROJECT_ROOT / "compose"
PROJECT = "retailstream-smoke"
PUBLISHED = ("AIRFLOW", "RDS", "HIVESERVER2", "MOTO", "WEBHDFS", "PROMETHEUS", "PUSHGATEWAY", "ALERTMANAGER")
PUBLISHED += ("JUPYTER", "GRAFANA", "THRIFTSERVER_UI", "YARN")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_bootstrap(timeout: float = 1200) -> None:
    deadline = time.monotonic() + timeout
    base = ["docker", "compose", "-p", PROJECT, "-f", str(COMPOSE_DIR / "docker-compose.yml")]
    while time.monotonic() < deadline:
        listing = subprocess.run(
            [*base, "ps", "-a", "--format", "json", "bootstrap"], capture_output=True, text=True, check=True
        ).stdout
        containers = [json.loads(line) for line in listing.splitlines() if line.strip()]
        if containers and containers[0]["State"] == "exited":
            if containers[0]["ExitCode"] != 0:
                logs = subprocess.run(
                    [*base, "logs", "--tail", "40", "bootstrap"], capture_output=True, text=True
                )
                pytest.fail(f"the stack's bootstrap failed:\n{logs.stdout}")
            return
        time.sleep(5)
    pytest.fail(f"the stack's bootstrap did not finish within {timeout:.0f}s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from testcontainers.compose import DockerCompose

    from retailstream.datasets.generator import GenerationRequest, generate

    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("needs a Docker engine with Compose v2 (make setup-docker on Debian)")
    data, reports = tmp_path_factory.mktemp("datasets"), tmp_path_factory.mktemp("reports")
    # The stack mounts a copy of the code, which the test edits (the working tree stays as it is).
    code = tmp_path_factory.mktemp("code") / "pipeline"
    shutil.copytree(PROJECT_ROOT / "pipeline", code, ignore=shutil.ignore_patterns("__pycache__"))
    generate(data, GenerationRequest(stores=2, seed=5, defects=2))
    ports = {name: _free_port() for name in PUBLISHED}
    environment = {
        "COMPOSE_PROJECT_NAME": PROJECT,
        "COMPOSE_BAKE": "false",
        "DOCKER_BUILDKIT": "1",
        "RETAILSTREAM_HOST_DATASETS_DIR": str(data),
        "RETAILSTREAM_HOST_REPORTS_DIR": str(reports),
        "RETAILSTREAM_HOST_PIPELINE_DIR": str(code),
        "HOST_UID": str(os.getuid()),
        "HOST_GID": str(os.getgid()),
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        **{f"PUBLISH_{name}_PORT": str(port) for name, port in ports.items()},
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    # The images are `make up`'s (compose never builds them): built here when missing.
    subprocess.run(["make", "-C", str(PROJECT_ROOT), "compose-image"], check=True, env={**os.environ})
    compose = DockerCompose(COMPOSE_DIR, compose_file_name="docker-compose.yml", wait=False)
    try:
        compose.start()
        _wait_for_bootstrap()
        # The stack's endpoints as the host reaches them: the published ports on loopback.
        s = Settings().model_copy(
            update={
                "airflow_host": "127.0.0.1",
                "airflow_port": ports["AIRFLOW"],
                "rds_host": "127.0.0.1",
                "rds_port": ports["RDS"],
                "hiveserver2_host": "127.0.0.1",
                "hiveserver2_port": ports["HIVESERVER2"],
            }
        )
        yield s, reports, code
    finally:
        compose.stop()  # down --volumes: nothing of the smoke stack is left
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_dag(s, run_id: str) -> None:
    from retailstream.orchestration.airflow_api import AirflowClient

    client = AirflowClient(s)
    client.wait_for_dag("retailstream", timeout=300)
    client.set_paused("retailstream", False)
    client.trigger("retailstream", run_id=run_id)
    assert client.follow("retailstream", run_id, timeout=1800) == "success"


def test_the_dag_runs_in_the_stack_and_rds_reconciles_with_hive(stack):
    from retailstream import clients

    s, reports, _ = stack
    _run_dag(s, "smoke")
    with clients.rds_cursor("analyst", settings=s) as cur:
        rds = {}
        for table in ("stores", "sales", "store_traffic"):
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            rds[table] = cur.fetchone()[0]
    conn = clients.hive_connect(s)
    try:
        cursor = conn.cursor()
        hive = {}
        for table in rds:
            cursor.execute(f"SELECT COUNT(*) FROM {s.hive_database}.{table}")
            hive[table] = cursor.fetchall()[0][0]
    finally:
        conn.close()
    assert rds == hive and rds["sales"] > 0

    findings = json.loads((Path(reports) / "smoke" / "findings.json").read_text())
    assert len(findings) == 10 and all(item["finding"] for item in findings)
    assert (Path(reports) / "smoke" / "report.html").stat().st_uid == os.getuid()  # the host user's file


def test_an_edit_of_the_mounted_code_reaches_the_next_run_without_a_rebuild(stack):
    """The unemployment threshold of use case 4, changed on the host, is in the next report."""
    s, reports, code = stack
    images = subprocess.run(["docker", "images", "-q", "--no-trunc"], capture_output=True, text=True).stdout
    questions = code / "retailstream" / "stages" / "usecases" / "questions.py"
    questions.write_text(
        questions.read_text().replace("UNEMPLOYMENT_THRESHOLD = 8.0", "UNEMPLOYMENT_THRESHOLD = 7.5")
    )
    _run_dag(s, "smoke_edited")

    def finding(run: str) -> str:
        items = json.loads((Path(reports) / run / "findings.json").read_text())
        return next(item["finding"] for item in items if item["number"] == 4)

    assert "above 8 %" in finding("smoke") and "above 7.5 %" in finding("smoke_edited")
    assert (
        subprocess.run(["docker", "images", "-q", "--no-trunc"], capture_output=True, text=True).stdout
        == images
    )
