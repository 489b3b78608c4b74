"""One-time and every-start initialisation of the lab's services. Every function is idempotent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

from retailstream import clients
from retailstream.lab import health
from retailstream.layout import LabLayout
from retailstream.settings import NAMESPACE_DATABASE_PREFIX, Settings, write_private
from retailstream.spark import SPARK_HOME

VENV_BIN = Path(sys.executable).parent
ACCESS_DENIED = 1045  # MariaDB's ER_ACCESS_DENIED_ERROR


def _run(cmd: list[str], log: Path, **kwargs) -> None:
    with log.open("ab") as out:
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"{cmd[0]} failed (exit {result.returncode}); last lines of {log}:\n{tail}")


# --- MariaDB ---------------------------------------------------------------------------------------


def mariadb_datadir(s: Settings, layout: LabLayout) -> None:
    datadir = layout.data / "mariadb"
    if (datadir / "mysql").is_dir():
        return
    datadir.mkdir(parents=True, exist_ok=True)
    _run(
        [
            "mariadb-install-db",
            f"--datadir={datadir}",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        layout.logs / "mariadb-install.log",
    )


def _root_connection(s: Settings, layout: LabLayout):
    import pymysql

    password = s.secret("rds_root_password")
    for attempt in (password, ""):  # "" only on the very first start, before the password is set
        try:
            return pymysql.connect(
                unix_socket=str(layout.mariadb_socket), user="root", password=attempt, autocommit=True
            ), attempt == password
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != ACCESS_DENIED:
                raise  # not up yet: the caller retries
    # The server answers but knows another root password: its data was made with another .env (an
    # earlier one, or another checkout's when a compose volume outlived it). Waiting cannot fix that.
    raise health.Unrecoverable(
        f"MariaDB's data ({layout.data / 'mariadb'}) was initialised with another root password than "
        "rds_root_password in .env (an older .env, or another checkout's stack volumes): restore that "
        ".env, or start the lab's data afresh with `make clean` (deletes it) and `make up`"
    )


def mariadb_accounts(s: Settings, layout: LabLayout) -> None:
    """Databases and least-privilege users: pipeline (owns the schemas: DDL and DML), loader (DML and
    temporary tables in retail), analyst (read), hive (the metastore)."""
    conn, password_set = _root_connection(s, layout)
    utf8 = "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    with conn, conn.cursor() as cur:
        if not password_set:
            cur.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (s.secret("rds_root_password"),))
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{s.rds_database}` {utf8}")
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{s.rds_reports_database}` {utf8}")
        # Hive's metastore schema needs latin1_bin (index key lengths, case-sensitive names).
        cur.execute(
            f"CREATE DATABASE IF NOT EXISTS `{s.rds_metastore_database}` "
            "CHARACTER SET latin1 COLLATE latin1_bin"
        )
        # Namespaced copies of the pipeline's databases (tests, a second user) share the same roles.
        # `\_` matches a literal underscore in a grant; `%%` is pymysql's escape for the wildcard `%`.
        namespaces = NAMESPACE_DATABASE_PREFIX.replace("_", "\\_") + "%%"
        grants = {
            "pipeline": [
                f"ALL PRIVILEGES ON `{s.rds_database}`.*",
                f"ALL PRIVILEGES ON `{s.rds_reports_database}`.*",
                f"ALL PRIVILEGES ON `{namespaces}`.*",
            ],
            "loader": [
                f"SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES ON `{db}`.*"
                for db in (s.rds_database, namespaces)
            ],
            "analyst": [
                f"SELECT, SHOW VIEW ON `{s.rds_database}`.*",
                f"SELECT, SHOW VIEW ON `{s.rds_reports_database}`.*",
                f"SELECT, SHOW VIEW ON `{namespaces}`.*",
            ],
            "hive": [f"ALL PRIVILEGES ON `{s.rds_metastore_database}`.*"],
        }
        for role, privileges in grants.items():
            user, password = clients.rds_credentials(role, s)
            # By address (the server skips name resolution); localhost is the unix socket.
            for host in s.rds_account_hosts:
                cur.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password))
                cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))
                for privilege in privileges:
                    cur.execute(f"GRANT {privilege} TO %s@%s", (user, host))


# --- AWS emulator --------------------------------------------------------------------------------


def aws_resources(s: Settings, layout: LabLayout) -> None:
    from retailstream.deploy.aws_resources import ensure_aws_resources

    ensure_aws_resources(s)


# --- HDFS ------------------------------------------------------------------------------------------


def hdfs_format(s: Settings, layout: LabLayout) -> None:
    if (layout.data / "hdfs" / "name" / "current" / "VERSION").exists():
        return
    classpath = ":".join([str(layout.conf / "hadoop"), f"{layout.jars}/*"])
    _run(
        [
            "java",
            "-Xmx256m",
            "-cp",
            classpath,
            "org.apache.hadoop.hdfs.server.namenode.NameNode",
            "-format",
            "-nonInteractive",
            "-clusterid",
            "retailstream",
        ],
        layout.logs / "namenode-format.log",
        env={"HADOOP_USER_NAME": s.hdfs_user, "PATH": "/usr/bin:/bin"},
    )


def hdfs_directories(s: Settings, layout: LabLayout) -> None:
    client = clients.hdfs_client(s)
    for path in (s.hdfs_raw_dir, s.hdfs_staging_dir, s.hdfs_warehouse_dir, "/tmp"):
        client.makedirs(path)
    client.set_permission("/tmp", "1777")


# --- Hive ------------------------------------------------------------------------------------------

METASTORE_SCHEMA_VERSION = "2.3.0"


def metastore_schema(s: Settings, layout: LabLayout) -> None:
    """Create the Hive 2.3 metastore schema once, with DataNucleus SchemaTool over package.jdo."""
    with clients.rds_cursor("hive", s.rds_metastore_database) as cur:
        cur.execute("SHOW TABLES LIKE 'VERSION'")
        if cur.fetchone():
            cur.execute("SELECT SCHEMA_VERSION FROM VERSION")
            row = cur.fetchone()
            if row:
                return
    jdo = layout.run / "package.jdo"
    metastore_jar = next((SPARK_HOME / "jars").glob("hive-metastore-*.jar"))
    with zipfile.ZipFile(metastore_jar) as jar:
        jdo.write_bytes(jar.read("package.jdo"))
    classpath = ":".join([str(layout.conf / "hive"), f"{SPARK_HOME}/jars/*", str(s.mariadb_jdbc_jar)])
    _run(
        [
            "java",
            "-cp",
            classpath,
            "org.datanucleus.store.schema.SchemaTool",
            "-create",
            "-api",
            "JDO",
            "-props",
            str(layout.conf / "hive" / "datanucleus.properties"),
            str(jdo),
        ],
        layout.logs / "metastore-schema.log",
    )
    with clients.rds_cursor("hive", s.rds_metastore_database) as cur:
        # Created here rather than lazily by DataNucleus at runtime: runtime DDL is what deadlocks.
        cur.execute(
            "CREATE TABLE IF NOT EXISTS SEQUENCE_TABLE (SEQUENCE_NAME VARCHAR(255) NOT NULL PRIMARY KEY, "
            "NEXT_VAL BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_bin"
        )
        cur.execute(
            "INSERT INTO VERSION (VER_ID, SCHEMA_VERSION, VERSION_COMMENT) VALUES (1, %s, %s)",
            (
                METASTORE_SCHEMA_VERSION,
                "RetailStream: DataNucleus SchemaTool over hive-metastore package.jdo",
            ),
        )


def hive_database(s: Settings, layout: LabLayout) -> None:
    conn = clients.hive_connect(s)
    try:
        cur = conn.cursor()
        cur.execute(
            f"CREATE DATABASE IF NOT EXISTS {s.hive_database} "
            f"LOCATION '{s.hdfs_url}{s.hdfs_warehouse_dir}/{s.hive_database}.db'"
        )
    finally:
        conn.close()


# --- PostgreSQL (Airflow's metadata database) --------------------------------------------------------


def postgres_bin(program: str) -> str:
    """A PostgreSQL server program: Debian keeps them out of PATH, one folder per major version."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"), key=lambda p: int(p.parts[-3]))
    return str(found[-1]) if found else program


def as_postgres_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, the command runs as the ``postgres`` user (setpriv
    execs it, so supervisord and the container's init signal the server itself)."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *cmd]


def postgres_datadir(s: Settings, layout: LabLayout) -> None:
    """initdb once; the access rules on every start: the server's own user over its socket (a folder
    only that user and root may enter), and Airflow's user to Airflow's database, by password, over TCP.
    Nothing else may connect."""
    import shutil

    datadir = layout.postgres_data
    datadir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
    datadir.chmod(0o700)
    if not (datadir / "PG_VERSION").exists():
        _run(
            as_postgres_user(
                [
                    postgres_bin("initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--auth-local=trust",
                    "--auth-host=reject",
                ]
            ),
            layout.logs / "postgres-initdb.log",
        )
    rules = (
        "# Written by `retailstream lab` on every start (bootstrap.postgres_datadir).\n"
        "local all postgres trust\n"
        f"host {s.airflow_db_name} {s.airflow_db_user} all scram-sha-256\n"
    )
    hba = datadir / "pg_hba.conf"
    hba.write_text(rules)
    if os.geteuid() == 0:
        shutil.chown(hba, "postgres", "postgres")


def postgres_accounts(s: Settings, layout: LabLayout) -> None:
    """Airflow's database and its owner, with the password from .env (set again on every start, so a
    changed .env takes effect); the owner has no other rights."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(
        host=str(layout.postgres_data), port=s.airflow_db_port, user="postgres", dbname="postgres"
    )
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            user, database = sql.Identifier(s.airflow_db_user), sql.Identifier(s.airflow_db_name)
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (s.airflow_db_user,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(
                sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %s").format(user),
                (s.secret("airflow_db_password"),),
            )
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (s.airflow_db_name,))
            if not cur.fetchone():
                cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(database, user))
            cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
    finally:
        conn.close()


# --- Airflow ---------------------------------------------------------------------------------------


def airflow_env(s: Settings, layout: LabLayout) -> dict[str, str]:
    home = layout.data / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(s.home / "pipeline" / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",  # two cores; each LocalExecutor worker holds ~150 MB
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": s.airflow_db_url,
        "AIRFLOW__API__HOST": s.bind_host,
        "AIRFLOW__API__PORT": str(s.airflow_port),
        "AIRFLOW__API__BASE_URL": s.airflow_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{s.airflow_url}/execution/",
        # Every Airflow process must sign and verify task tokens with the same key.
        "AIRFLOW__API_AUTH__JWT_SECRET": s.secret("airflow_jwt_secret"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{s.airflow_admin_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(layout.conf / "airflow-passwords.json"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "15",
        # A task whose worker died with a killed scheduler is failed (and retried) after a minute, not
        # five: tasks heartbeat every few seconds whatever they run.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
        # A restarted scheduler takes over the dead one's tasks only once that one has missed its health
        # check (30 s); look again every 20 s instead of every 5 minutes so the run goes on promptly.
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "20",
        # An idle loop sleeps 1 s by default, and each task of the DAG's chain waits for the next loop.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.25",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(layout.logs / "airflow"),
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": s.statsd_host,
        "AIRFLOW__METRICS__STATSD_PORT": str(s.statsd_port),
        "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
    }


def airflow_database(s: Settings, layout: LabLayout) -> None:
    env = airflow_env(s, layout)
    compile_package()
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    write_private(
        layout.conf / "airflow-passwords.json",
        json.dumps({s.airflow_admin_user: s.secret("airflow_admin_password")}),
    )
    from importlib.metadata import version

    # Migrated for this Airflow on this database (a lab from before kept its metadata in SQLite).
    marker = Path(env["AIRFLOW_HOME"]) / ".migrated"
    wanted = f"{version('apache-airflow')} postgresql {s.airflow_db_host}:{s.airflow_db_port}"
    if not (marker.exists() and marker.read_text() == wanted and _airflow_schema_present(s)):
        _run([str(VENV_BIN / "airflow"), "db", "migrate"], layout.logs / "airflow-migrate.log", env=env)
        marker.write_text(wanted)
    (Path(env["AIRFLOW_HOME"]) / "airflow.db").unlink(missing_ok=True)  # the SQLite database of old labs


def _airflow_schema_present(s: Settings) -> bool:
    """Whether Airflow's database holds its schema (its volume may be newer than Airflow's home)."""
    from contextlib import closing

    with closing(clients.airflow_db_connect(s)) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
        return cur.fetchone()[0]


def compile_package() -> None:
    """Byte-compile the pipeline package (the venv is compiled at install): with PYTHONDONTWRITEBYTECODE
    set, as in the stack's image and on these machines, every Airflow task would otherwise compile it
    again in its fresh interpreter. Best effort: on a read-only mount the tasks compile as before."""
    import compileall

    compileall.compile_dir(Path(__file__).resolve().parents[1], quiet=2)


# --- monitoring ------------------------------------------------------------------------------------


def _reload(url: str) -> None:
    import requests

    response = requests.post(url, timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"POST {url}: HTTP {response.status_code}: {response.text.strip()}")


def _reload_if_changed(port: int, name: str, configs: list[Path]) -> None:
    """SIGHUP the process listening on ``port`` when one of its ``configs`` changed after it started:
    Prometheus and statsd_exporter re-read their configuration on it, so their HTTP lifecycle
    endpoints (/-/reload, /-/quit) stay off. A process started after the change read it already (and
    one started a moment ago may not handle the signal yet)."""
    import psutil

    owner = next(
        (
            c.pid
            for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        ),
        None,
    )
    if owner is None:
        raise RuntimeError(f"{name}: nothing listens on port {port}")
    changed = max(path.stat().st_mtime for path in configs if path.exists())
    if changed > psutil.Process(owner).create_time():
        os.kill(owner, signal.SIGHUP)


def prometheus_reload(s: Settings, layout: LabLayout) -> None:
    """Re-read the rendered config and the rule files (a running Prometheus keeps its process)."""
    rules = sorted((s.home / "prometheus" / "rules").glob("*.yml"))
    _reload_if_changed(s.prometheus_port, "prometheus", [layout.conf / "prometheus.yml", *rules])


def alertmanager_reload(s: Settings, layout: LabLayout) -> None:
    _reload(f"{s.alertmanager_url}/-/reload")  # Alertmanager's reload endpoint cannot be turned off


def retire_metric_groups(s: Settings, layout: LabLayout) -> None:
    """Delete the pushed groups of metric labels earlier releases used (the Pushgateway keeps its groups
    across restarts): left alone, they would never update and the freshness alert would fire."""
    from prometheus_client import delete_from_gateway

    from retailstream.steps import RETIRED_NAMES

    for stage in RETIRED_NAMES:
        delete_from_gateway(
            s.pushgateway_url,
            job=s.metrics_job,
            grouping_key={"stage": stage, "pipeline": s.pipeline_name},
            timeout=5,
        )


def statsd_exporter_reload(s: Settings, layout: LabLayout) -> None:
    """Re-read prometheus/statsd_mapping.yml."""
    _reload_if_changed(
        s.statsd_exporter_port, "statsd_exporter", [s.home / "prometheus" / "statsd_mapping.yml"]
    )


def statsd_exporter_binary(s: Settings, layout: LabLayout) -> None:
    if not (layout.bin / "statsd_exporter").exists():
        raise RuntimeError(f"{layout.bin / 'statsd_exporter'} is missing: run `make setup` (setup-go)")
