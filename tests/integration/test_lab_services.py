"""One test per lab service, each speaking that service's own protocol."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import uuid

import psutil
import pymysql
import pytest
import requests

from retailstream import clients


def test_no_control_endpoint_reloads_or_stops_a_server(lab, settings):
    """Prometheus' and statsd_exporter's configs are reloaded by SIGHUP: no HTTP endpoint does it."""
    for url in (
        f"{settings.prometheus_url}/-/reload",
        f"{settings.prometheus_url}/-/quit",
        f"{settings.statsd_exporter_url}/-/reload",
    ):
        assert requests.post(url, timeout=5).status_code in (403, 404), url


def test_files_holding_credentials_are_the_owners_alone(native_lab, settings):
    layout = native_lab.layout
    for path in (
        settings.home / ".env",
        layout.postgres_data,  # Airflow's metadata, its users and connections among it
        layout.conf / "airflow-passwords.json",
        layout.conf / "supervisord.conf",
        layout.conf / "hive" / "hive-site.xml",
    ):
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_s3_sqs_glue_on_moto(lab, settings):
    s3 = clients.aws_client("s3")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {settings.raw_bucket, settings.curated_bucket, settings.quarantine_bucket} <= names
    key = f"_probe/{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket=settings.raw_bucket, Key=key, Body=b"probe")
    assert s3.get_object(Bucket=settings.raw_bucket, Key=key)["Body"].read() == b"probe"
    s3.delete_object(Bucket=settings.raw_bucket, Key=key)

    sqs = clients.aws_client("sqs")
    url = sqs.get_queue_url(QueueName=settings.events_queue)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert settings.events_dlq in attrs["RedrivePolicy"]
    notification = s3.get_bucket_notification_configuration(Bucket=settings.curated_bucket)
    assert notification["QueueConfigurations"][0]["QueueArn"].endswith(settings.events_queue)

    databases = {d["Name"] for d in clients.aws_client("glue").get_databases()["DatabaseList"]}
    assert {settings.glue_raw_database, settings.glue_curated_database} <= databases


def test_mariadb_users_are_least_privilege(lab, settings):
    for user in ("pipeline", "loader", "analyst", "hive"):
        with clients.rds_cursor(user, database="") as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    table = f"probe_{uuid.uuid4().hex[:8]}"
    with clients.rds_cursor("pipeline") as cur:
        cur.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY)")
        cur.execute(f"INSERT INTO {table} VALUES (%s)", (1,))
    try:
        with clients.rds_cursor("analyst") as cur:
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            assert cur.fetchone() == (1,)
            with pytest.raises(pymysql.err.OperationalError) as denied:
                cur.execute(f"INSERT INTO {table} VALUES (2)")
            assert denied.value.args[0] == 1142  # command denied
        # the loader moves rows, nothing else: no DDL, no other database
        with clients.rds_cursor("loader") as cur:
            cur.execute(f"INSERT INTO {table} VALUES (3)")
            cur.execute(f"DELETE FROM {table} WHERE id = 3")
            cur.execute("CREATE TEMPORARY TABLE probe_stage (id INT)")
            for statement in (
                f"DROP TABLE {table}",
                f"ALTER TABLE {table} ADD COLUMN x INT",
                "CREATE TABLE t (a INT)",
            ):
                with pytest.raises(pymysql.err.OperationalError) as denied:
                    cur.execute(statement)
                assert denied.value.args[0] == 1142, statement
        with (
            pytest.raises(pymysql.err.OperationalError),
            clients.rds_cursor("loader", settings.rds_reports_database),
        ):
            pass
        # hive may not even connect to the retail database
        with pytest.raises(pymysql.err.OperationalError), clients.rds_cursor("hive", settings.rds_database):
            pass
    finally:
        with clients.rds_cursor("pipeline") as cur:
            cur.execute(f"DROP TABLE {table}")


def test_hdfs_webhdfs_and_spark_over_rpc(spark, settings):
    client = clients.hdfs_client()
    path = f"/tmp/probe-{uuid.uuid4().hex}/rows.csv"
    client.write(path, data="a,b\n1,2\n3,4\n", overwrite=True)
    try:
        rows = spark.read.option("header", True).csv(f"{settings.hdfs_url}{path}").collect()
        assert [(r.a, r.b) for r in rows] == [("1", "2"), ("3", "4")]
        assert client.status(path)["length"] == 12
    finally:
        client.delete(path.rsplit("/", 1)[0], recursive=True)
    assert client.status(settings.hdfs_warehouse_dir)["type"] == "DIRECTORY"


THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


def test_spark_jvms_start_from_the_class_archive(lab, spark, settings):
    """`make setup` (natively) and the stack's image write the Spark class-data archive, and the JVMs map
    it: the JVM ignores an archive made with another class path without a word, so only this shows it."""
    from pathlib import Path

    from retailstream.spark import class_archive

    archive = class_archive(settings)
    assert archive.exists(), f"no class archive at {archive}: `make setup` writes it"
    driver = spark._jvm.java.lang.ProcessHandle.current().pid()
    assert str(archive) in Path(f"/proc/{driver}/maps").read_text(), "the tests' Spark driver"
    if settings.lab == "native":  # in the stack the Thrift server runs in a container of its own
        servers = []
        for pid in lab.process_tree():
            with contextlib.suppress(psutil.Error):  # a process that ended meanwhile
                process = psutil.Process(pid)
                if process.name() == "java" and THRIFT_SERVER_CLASS in process.cmdline():
                    servers.append(pid)
        (thriftserver,) = servers
        assert str(archive) in Path(f"/proc/{thriftserver}/maps").read_text(), "the Spark Thrift server"


def test_yarn_offers_one_laptop_sized_nodemanager_per_node(lab, settings):
    """The ResourceManager's REST API: every NodeManager registered, running, with the memory and cores
    the settings give it, and the one queue the ApplicationMasters may half fill."""
    base = f"{settings.yarn_resourcemanager_url}/ws/v1/cluster"
    nodes = requests.get(f"{base}/nodes", timeout=10).json()["nodes"]["node"]
    assert nodes and {node["state"] for node in nodes} == {"RUNNING"}
    for node in nodes:
        total_mb = node["usedMemoryMB"] + node["availMemoryMB"]
        cores = node["usedVirtualCores"] + node["availableVirtualCores"]
        assert (total_mb, cores) == (settings.yarn_nodemanager_memory_mb, settings.yarn_nodemanager_vcores)
    scheduler = requests.get(f"{base}/scheduler", timeout=10).json()["scheduler"]["schedulerInfo"]
    (queue,) = scheduler["queues"]["queue"]
    assert queue["queueName"] == "default" and queue["capacity"] == 100


def test_hiveserver2_and_spark_share_the_metastore(spark, settings):
    table = f"{settings.hive_database}.probe_{uuid.uuid4().hex[:8]}"
    spark.createDataFrame([(1, "a"), (2, "b")], "id INT, name STRING").write.format("parquet").saveAsTable(
        table
    )
    try:
        conn = clients.hive_connect()
        cur = conn.cursor()
        cur.execute(f"SELECT id, name FROM {table} ORDER BY id")
        assert cur.fetchall() == [(1, "a"), (2, "b")]
        cur.execute(f"DESCRIBE FORMATTED {table}")
        location = next(row[1] for row in cur.fetchall() if row[0].strip() == "Location")
        assert location.startswith(settings.hdfs_url + settings.hdfs_warehouse_dir)
        conn.close()
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {table}")


def test_beeline_connects(lab, settings):
    from retailstream.spark import SPARK_HOME

    out = subprocess.run(
        [
            str(SPARK_HOME / "bin" / "beeline"),
            "-u",
            f"jdbc:hive2://{settings.hiveserver2_host}:{settings.hiveserver2_port}/default",
            "-n",
            settings.hdfs_user,
            "--silent=true",
            "--outputformat=csv2",
            "-e",
            "SHOW DATABASES",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"SPARK_HOME": str(SPARK_HOME), "PATH": "/usr/bin:/bin"},
    ).stdout
    assert settings.hive_database in out.split()


def test_prometheus_scrapes_the_pushgateway(lab, settings):
    metric = "retailstream_lab_probe"
    value = time.time()
    requests.put(
        f"{settings.pushgateway_url}/metrics/job/lab_probe",
        data=f"{metric} {value}\n",
        timeout=5,
    ).raise_for_status()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        result = requests.get(
            f"{settings.prometheus_url}/api/v1/query", params={"query": metric}, timeout=5
        ).json()["data"]["result"]
        if result and float(result[0]["value"][1]) == pytest.approx(value):
            break
        time.sleep(2)
    else:
        pytest.fail("Prometheus did not scrape the pushed probe within 40 s")
    requests.delete(f"{settings.pushgateway_url}/metrics/job/lab_probe", timeout=5)
    targets = requests.get(f"{settings.prometheus_url}/api/v1/targets", timeout=5).json()["data"]
    assert all(t["health"] == "up" for t in targets["activeTargets"] if t["labels"]["job"] == "pushgateway")
    status = requests.get(f"{settings.alertmanager_url}/api/v2/status", timeout=5).json()
    assert status["cluster"]["status"] in ("disabled", "ready")


def airflow_token(settings) -> str:
    response = requests.post(
        f"{settings.airflow_url}/auth/token",
        json={"username": settings.airflow_admin_user, "password": settings.secret("airflow_admin_password")},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def test_airflow_rest_api(lab, settings):
    headers = {"Authorization": f"Bearer {airflow_token(settings)}"}
    health = requests.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=10).json()
    assert {health[c]["status"] for c in ("metadatabase", "scheduler", "dag_processor")} == {"healthy"}
    version = requests.get(f"{settings.airflow_url}/api/v2/version", headers=headers, timeout=10)
    assert version.json()["version"].startswith("3.")
    assert requests.get(f"{settings.airflow_url}/api/v2/dags", timeout=10).status_code == 401


def test_jupyter_runs_code_in_the_lab_kernel(lab, settings):
    from jupyter_client.manager import KernelManager  # the same client JupyterLab's server uses

    headers = {"Authorization": f"token {settings.secret('jupyter_token')}"}
    specs = requests.get(f"{settings.jupyter_url}/api/kernelspecs", headers=headers, timeout=10).json()
    assert "retailstream" in specs["kernelspecs"]
    km = KernelManager(kernel_name="retailstream")
    km.start_kernel()
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        kc.execute("import retailstream, sys; print(retailstream.__name__, sys.prefix)")
        outputs = []
        while True:
            msg = kc.get_iopub_msg(timeout=30)
            if msg["msg_type"] == "stream":
                outputs.append(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle" and outputs:
                break
        assert outputs[0].startswith("retailstream ")
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    assert sys.prefix in outputs[0]


def test_every_lab_socket_is_loopback_only(native_lab):
    pids = set()
    for row in native_lab.status():
        if row.pid:
            proc = psutil.Process(row.pid)
            pids |= {proc.pid, *(c.pid for c in proc.children(recursive=True))}
    exposed = [
        (c.pid, c.laddr)
        for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN
        and c.pid in pids
        and c.laddr.ip not in ("127.0.0.1", "::ffff:127.0.0.1")
    ]
    assert exposed == []


def test_status_command_reports_every_service_healthy(lab):
    from typer.testing import CliRunner

    from retailstream.cli import app

    result = CliRunner().invoke(app, ["lab", "status"])
    assert result.exit_code == 0, result.output
    for name in (
        "mariadb",
        "moto",
        "namenode",
        "datanode",
        "metastore",
        "thriftserver",
        "airflow-api",
        "prometheus",
        "pushgateway",
        "alertmanager",
        "jupyter",
    ):
        assert name in result.output


def test_busy_port_is_a_clear_error_and_starts_nothing(native_lab, settings, tmp_path):
    """A second lab on the same ports finds them taken: one clear error per port, nothing started."""
    from retailstream.lab.control import Lab, LabError

    other_dir = tmp_path / "lab"
    (other_dir / "jars").mkdir(parents=True)
    (other_dir / "jars" / "lib").symlink_to(native_lab.layout.jars)
    (other_dir / "jars" / "classes").symlink_to(native_lab.layout.classes)
    other = Lab(settings.model_copy(update={"lab_dir": other_dir}))
    with pytest.raises(LabError) as error:
        other.up()
    message = str(error.value)
    assert f"mariadb: port {settings.rds_port} on 127.0.0.1 is already in use by" in message
    assert f"thriftserver: port {settings.hiveserver2_port}" in message
    assert not other.supervisor.running()


def test_data_made_with_other_secrets_is_a_clear_error_at_once(native_lab, settings):
    """A data directory whose root password is not .env's (an older .env, a stack volume another
    checkout made) cannot be fixed by waiting: the hook says what to do, and no loop retries it."""
    from pydantic import SecretStr

    from retailstream.lab import bootstrap, health

    other_env = settings.model_copy(update={"rds_root_password": SecretStr("not-" + uuid.uuid4().hex)})
    began = time.monotonic()
    with pytest.raises(health.Unrecoverable) as error:
        bootstrap.mariadb_accounts(other_env, native_lab.layout)
    assert time.monotonic() - began < 10
    assert "initialised with another root password" in str(error.value)
    assert "make clean" in str(error.value)


def test_drop_database_through_hiveserver2_is_clean(lab):
    """The metastore has no Hive ACID schema; dropping a database must not break the connection."""
    name = f"probe_drop_{uuid.uuid4().hex[:8]}"
    conn = clients.hive_connect()
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE {name}")
    cur.execute(f"CREATE TABLE {name}.t (a INT)")
    cur.execute(f"DROP DATABASE {name} CASCADE")
    cur.execute("SHOW DATABASES")
    assert name not in [row[0] for row in cur.fetchall()]
    conn.close()


def test_quarantine_cli_lists_every_stage_as_json(lab):
    from typer.testing import CliRunner

    from retailstream.cli import app

    result = CliRunner().invoke(app, ["quarantine", "list", "--json", "--limit", "5"])
    assert result.exit_code == 0, result.output
    for line in result.output.splitlines():
        assert set(json.loads(line)) == {"stage", "source", "line", "reason", "raw", "run"}
    table = CliRunner().invoke(app, ["quarantine", "list", "--limit", "5"])
    assert table.exit_code == 0 and "Quarantined rows — clean" in table.output


@pytest.mark.restarts_lab
def test_a_scheduler_killed_mid_run_finishes_the_run_once_it_is_back(lab, settings):
    from retailstream.orchestration.airflow_api import AirflowClient

    client, dag = AirflowClient(settings), "retailstream_lab_check"
    client.wait_for_dag(dag)
    run_id = client.trigger(dag, run_id=f"test_scheduler_killed__{uuid.uuid4().hex[:8]}")
    try:
        deadline = time.monotonic() + 120
        while not any(t.state in ("queued", "running") for t in client.task_states(dag, run_id)):
            assert time.monotonic() < deadline, "the run's task was never queued"
            time.sleep(0.3)
        before = lab.started_at("airflow-scheduler")
        lab.kill("airflow-scheduler")  # SIGKILL, its LocalExecutor workers (and the task) with it
        lab.up()
        assert lab.started_at("airflow-scheduler") != before
        # the task died with the scheduler's workers: after the heartbeat timeout (60 s) it runs again
        assert client.follow(dag, run_id, timeout=240) == "success"
    finally:
        lab.up()  # whatever happened, a healthy scheduler again
        client.follow(dag, run_id, timeout=600)  # a running run cannot be deleted
        client.delete_run(dag, run_id)
