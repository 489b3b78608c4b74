"""The native lab's services: how each starts, which ports it binds, how its health is checked.

Every service binds ``settings.bind_host`` (127.0.0.1) and takes its ports from the settings object.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from retailstream.lab import bootstrap, health
from retailstream.layout import LabLayout
from retailstream.settings import Settings
from retailstream.spark import SPARK_HOME, spark_conf, spark_env

VENV_BIN = Path(sys.executable).parent
# The daemons' heaps start small and give memory back after a collection: with the JVM's default initial
# heap (1/64 of RAM) each idle daemon cycled through a 70 MB eden and held ≈ 230 MB.
LEAN_JVM = (
    "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k "
    "-Xms64m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"
)


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    ports: tuple[int, ...]
    check: Callable[[Settings], None]
    version: str
    ui: str = ""
    after: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[Settings, LabLayout], None] | None = None  # before each start (idempotent)
    ready: Callable[[Settings, LabLayout], None] | None = None  # once healthy (idempotent)
    start_timeout: float = 90
    # The ready hook must also follow every restart supervisord makes by itself (moto forgets its
    # buckets, queues and Glue catalog when it dies): then supervisord runs the service through
    # `retailstream lab run-service`, as a container does.
    ready_after_restart: bool = False
    stop_signal: str = "TERM"

    def program(self) -> list[str]:
        """The command supervisord runs."""
        if self.ready_after_restart:
            return [str(VENV_BIN / "retailstream"), "lab", "run-service", self.name]
        return self.command


def _java(layout: LabLayout, classpath: list[str], main: str, heap: str, *args: str) -> list[str]:
    return [
        "java",
        f"-Xmx{heap}",
        *LEAN_JVM.split(),
        f"-Dhadoop.log.dir={layout.logs}",
        "-Djava.net.preferIPv4Stack=true",
        "-cp",
        ":".join(classpath),
        main,
        *args,
    ]


def _package_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _debian_version(package: str) -> str:
    import subprocess

    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    ).stdout
    return out.split(":")[-1].split("+")[0].split("-")[0] or "?"


def _java_home() -> str:
    java = shutil.which("java")
    return str(Path(java).resolve().parents[1]) if java else "/usr/lib/jvm/default-java"


def _postgres_version() -> str:
    import subprocess

    try:
        out = subprocess.run(
            [bootstrap.postgres_bin("postgres"), "--version"], capture_output=True, text=True, check=False
        ).stdout  # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    except FileNotFoundError:
        return "?"
    return out.split(")")[1].split()[0] if ")" in out else "?"


def _go_tool_version(s: Settings, name: str) -> str:
    """The version pinned for a Go program in pipeline/setup/go-tools.txt (built by `make setup`)."""
    for line in (s.home / "pipeline" / "setup" / "go-tools.txt").read_text().splitlines():
        module, _, version = line.strip().partition("@")
        if module.rsplit("/", 1)[-1] == name and not module.startswith("#"):
            return version
    return "?"


def build_services(s: Settings, layout: LabLayout) -> list[Service]:
    host = s.bind_host
    hadoop_cp = [str(layout.conf / "hadoop"), str(layout.conf / "hadoop-webapps"), f"{layout.jars}/*"]
    hive_cp = [
        str(layout.conf / "hive"),
        str(layout.classes),
        f"{SPARK_HOME}/jars/*",
        str(s.mariadb_jdbc_jar),
    ]
    airflow_env = bootstrap.airflow_env(s, layout)
    spark_submit_confs = []
    thriftserver_conf = spark_conf(s)
    thriftserver_conf["spark.ui.port"] = str(s.thriftserver_ui_port)
    # Its logging by system property, not SPARK_CONF_DIR: see spark.class_archive.
    thriftserver_conf["spark.driver.extraJavaOptions"] += (
        f" -Dlog4j2.configurationFile={layout.conf / 'spark' / 'log4j2.properties'}"
    )
    for key, value in thriftserver_conf.items():
        spark_submit_confs += ["--conf", f"{key}={value}"]
    hadoop_version = "3.5.0"
    return [
        Service(
            name="mariadb",
            command=[
                shutil.which("mariadbd") or "/usr/sbin/mariadbd",
                "--no-defaults",
                f"--datadir={layout.data / 'mariadb'}",
                f"--socket={layout.mariadb_socket}",
                f"--pid-file={layout.run / 'mariadb.pid'}",
                f"--port={s.rds_port}",
                f"--bind-address={host}",
                "--user=root",
                "--local-infile=1",
                "--skip-name-resolve",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                "--innodb-buffer-pool-size=256M",
                "--max-connections=200",
                "--log-error=",
            ],
            ports=(s.rds_port,),
            check=health.mariadb,
            version="MariaDB " + _debian_version("mariadb-server"),
            ui=f"mysql://{s.rds_host}:{s.rds_port}/{s.rds_database}",
            prepare=bootstrap.mariadb_datadir,
            ready=bootstrap.mariadb_accounts,
            start_timeout=60,
        ),
        Service(
            name="moto",
            command=[str(VENV_BIN / "moto_server"), "-H", host, "-p", str(s.moto_port)],
            ports=(s.moto_port,),
            check=health.moto,
            version="moto " + _package_version("moto"),
            ui=f"{s.aws_endpoint_url}/moto-api/",
            ready=bootstrap.aws_resources,
            ready_after_restart=True,
        ),
        Service(
            name="namenode",
            command=_java(layout, hadoop_cp, "org.apache.hadoop.hdfs.server.namenode.NameNode", "256m"),
            ports=(s.hdfs_rpc_port, s.hdfs_http_port),
            check=health.namenode,
            version=f"Hadoop HDFS {hadoop_version}",
            ui=f"{s.webhdfs_url}/dfshealth.html",
            prepare=bootstrap.hdfs_format,
            env={"HADOOP_USER_NAME": s.hdfs_user},
        ),
        Service(
            name="datanode",
            command=_java(layout, hadoop_cp, "org.apache.hadoop.hdfs.server.datanode.DataNode", "256m"),
            ports=(s.hdfs_datanode_port, s.hdfs_datanode_http_port, s.hdfs_datanode_ipc_port),
            check=health.datanode,
            version=f"Hadoop HDFS {hadoop_version}",
            after=("namenode",),
            ready=bootstrap.hdfs_directories,
            env={"HADOOP_USER_NAME": s.hdfs_user},
        ),
        Service(
            name="resourcemanager",
            command=_java(
                layout, hadoop_cp, "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager", "384m"
            ),
            ports=(
                s.yarn_resourcemanager_port,
                s.yarn_scheduler_port,
                s.yarn_resource_tracker_port,
                s.yarn_admin_port,
                s.yarn_resourcemanager_http_port,
            ),
            check=health.resourcemanager,
            version=f"Hadoop YARN {hadoop_version}",
            ui=f"{s.yarn_resourcemanager_url}/cluster",
            env={"HADOOP_USER_NAME": s.hdfs_user},
        ),
        Service(
            name="nodemanager",
            command=_java(
                layout,
                [*hadoop_cp, str(layout.classes)],  # MapOnlyShuffle
                "org.apache.hadoop.yarn.server.nodemanager.NodeManager",
                "256m",
            ),
            ports=(s.yarn_nodemanager_port, s.yarn_nodemanager_localizer_port, s.yarn_nodemanager_http_port),
            check=health.nodemanager,
            version=f"Hadoop YARN {hadoop_version}",
            after=("resourcemanager",),
            # Containers start $JAVA_HOME/bin/java (JAVA_HOME passes the NodeManager's env whitelist).
            env={"HADOOP_USER_NAME": s.hdfs_user, "JAVA_HOME": _java_home()},
        ),
        Service(
            name="metastore",
            command=_java(layout, hive_cp, "LoopbackMetaStore", "384m", host, str(s.hive_metastore_port)),
            ports=(s.hive_metastore_port,),
            check=health.metastore,
            version="Hive metastore 2.3.10",
            ui=s.hive_metastore_uri,
            after=("mariadb", "namenode"),
            prepare=bootstrap.metastore_schema,
            env={"HADOOP_USER_NAME": s.hdfs_user},
        ),
        Service(
            name="thriftserver",
            command=[
                str(SPARK_HOME / "bin" / "spark-submit"),
                "--class",
                "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
                "--name",
                "retailstream-hiveserver2",
                *spark_submit_confs,
                "--hiveconf",
                f"hive.server2.thrift.bind.host={host}",
                "--hiveconf",
                f"hive.server2.thrift.port={s.hiveserver2_port}",
                "spark-internal",
            ],
            ports=(s.hiveserver2_port, s.thriftserver_ui_port),
            check=health.hiveserver2,
            version="Spark Thrift Server " + _package_version("pyspark"),
            ui=f"http://{s.hiveserver2_host}:{s.thriftserver_ui_port}/",
            after=("metastore", "datanode"),
            env={
                **spark_env(s),
                # Spark's web UI binds to SPARK_LOCAL_IP: a page of the lab, bound where its services bind
                # (the driver itself stays on spark.driver.bindAddress).
                "SPARK_LOCAL_IP": host,
                "SPARK_LOG_DIR": str(layout.logs),
            },
            ready=bootstrap.hive_database,
            start_timeout=120,
        ),
        Service(
            name="postgres",
            command=bootstrap.as_postgres_user(
                [
                    bootstrap.postgres_bin("postgres"),
                    "-D",
                    str(layout.postgres_data),
                    "-c",
                    f"listen_addresses={host}",
                    "-p",
                    str(s.airflow_db_port),
                    "-c",
                    f"unix_socket_directories={layout.postgres_data}",
                    # Sized for Airflow on a laptop: a scheduler, a DAG processor, an API server and
                    # two LocalExecutor workers hold a few connections each.
                    "-c",
                    "max_connections=60",
                    "-c",
                    "shared_buffers=32MB",
                    "-c",
                    "log_line_prefix=%m [%p] ",
                ]
            ),
            ports=(s.airflow_db_port,),
            check=health.postgres,
            version="PostgreSQL " + _postgres_version(),
            ui=f"postgresql://{s.airflow_db_host}:{s.airflow_db_port}/{s.airflow_db_name}",
            prepare=bootstrap.postgres_datadir,
            ready=bootstrap.postgres_accounts,
            stop_signal="INT",  # fast shutdown: TERM (smart) would wait for Airflow's pooled connections
        ),
        Service(
            name="airflow-api",
            command=[str(VENV_BIN / "airflow"), "api-server", "--host", host, "--port", str(s.airflow_port)],
            ports=(s.airflow_port,),
            check=health.airflow_api,
            version="Airflow " + _package_version("apache-airflow"),
            ui=s.airflow_url,
            after=("postgres",),
            env=airflow_env,
            prepare=bootstrap.airflow_database,
            start_timeout=120,
        ),
        Service(
            name="airflow-scheduler",
            # LocalExecutor task logs are local files the api-server reads directly, so the scheduler's
            # log server (which binds every interface) is not needed.
            command=[str(VENV_BIN / "airflow"), "scheduler", "--skip-serve-logs"],
            ports=(),
            check=health.airflow_scheduler,
            version="Airflow " + _package_version("apache-airflow"),
            after=("airflow-api",),
            env=airflow_env,
            start_timeout=120,
        ),
        Service(
            name="airflow-dag-processor",
            command=[str(VENV_BIN / "airflow"), "dag-processor"],
            ports=(),
            check=health.airflow_dag_processor,
            version="Airflow " + _package_version("apache-airflow"),
            after=("airflow-api",),
            env=airflow_env,
            start_timeout=120,
        ),
        Service(
            name="prometheus",
            command=[
                shutil.which("prometheus") or "/usr/bin/prometheus",
                f"--config.file={layout.conf / 'prometheus.yml'}",
                f"--storage.tsdb.path={layout.data / 'prometheus'}",
                f"--web.listen-address={host}:{s.prometheus_port}",
                "--storage.tsdb.retention.time=30d",
            ],
            ports=(s.prometheus_port,),
            check=health.prometheus,
            version="Prometheus " + _debian_version("prometheus"),
            ui=s.prometheus_url,
            ready=bootstrap.prometheus_reload,
        ),
        Service(
            name="pushgateway",
            command=[
                shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway",
                f"--web.listen-address={host}:{s.pushgateway_port}",
                f"--persistence.file={layout.data / 'pushgateway.store'}",
                "--persistence.interval=15s",
            ],
            ports=(s.pushgateway_port,),
            check=health.pushgateway,
            version="Pushgateway " + _debian_version("prometheus-pushgateway"),
            ui=s.pushgateway_url,
            ready=bootstrap.retire_metric_groups,
        ),
        Service(
            name="alertmanager",
            command=[
                shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager",
                f"--config.file={layout.conf / 'alertmanager.yml'}",
                f"--storage.path={layout.data / 'alertmanager'}",
                f"--web.listen-address={host}:{s.alertmanager_port}",
                "--cluster.listen-address=",
            ],
            ports=(s.alertmanager_port,),
            check=health.alertmanager,
            version="Alertmanager " + _debian_version("prometheus-alertmanager"),
            ui=s.alertmanager_url,
            ready=bootstrap.alertmanager_reload,
        ),
        Service(
            name="statsd-exporter",
            # Airflow's StatsD (UDP) → Prometheus metrics, with labels from prometheus/statsd_mapping.yml.
            command=[
                str(layout.bin / "statsd_exporter"),
                f"--statsd.listen-udp={host}:{s.statsd_port}",
                "--statsd.listen-tcp=",
                f"--web.listen-address={host}:{s.statsd_exporter_port}",
                f"--statsd.mapping-config={s.home / 'prometheus' / 'statsd_mapping.yml'}",
            ],
            ports=(s.statsd_exporter_port,),
            check=health.statsd_exporter,
            version="statsd_exporter " + _go_tool_version(s, "statsd_exporter"),
            ui=f"{s.statsd_exporter_url}/metrics",
            prepare=bootstrap.statsd_exporter_binary,
            ready=bootstrap.statsd_exporter_reload,
        ),
        Service(
            name="alert-receiver",
            command=[str(VENV_BIN / "retailstream"), "monitoring", "alert-receiver"],
            ports=(s.alert_webhook_port,),
            check=health.alert_receiver,
            version="retailstream " + _package_version("retailstream"),
            ui=f"{s.alert_receiver_url}/alerts",
        ),
        Service(
            name="service-probes",
            # Health of the engines without an exporter of their own, as retailstream_service_up.
            command=[str(VENV_BIN / "retailstream"), "monitoring", "probe"],
            ports=(s.service_probe_port,),
            check=health.service_probes,
            version="retailstream " + _package_version("retailstream"),
            ui=f"{s.service_probes_url}/metrics",
        ),
        Service(
            name="events-runner",
            # Lambda's SQS event source: curated object-created events → the loader's handler → RDS.
            command=[str(VENV_BIN / "retailstream"), "lambda", "run-events"],
            ports=(s.events_runner_metrics_port,),
            check=health.events_runner,
            version="retailstream " + _package_version("retailstream"),
            ui=f"{s.events_runner_url}/metrics",
            after=("moto", "mariadb"),
        ),
        Service(
            name="jupyter",
            command=[
                str(VENV_BIN / "jupyter"),
                "lab",
                "--no-browser",
                "--allow-root",
                f"--ip={host}",
                f"--port={s.jupyter_port}",
                "--port-retries=0",
                # The project, so that both the notebooks and the executed copies the demo writes under
                # reports/<run>/notebooks/ open; hidden files (.env, .lab) are not served.
                f"--ServerApp.root_dir={s.home}",
                "--ServerApp.default_url=/lab/tree/notebooks",
            ],
            ports=(s.jupyter_port,),
            check=health.jupyter,
            version="JupyterLab " + _package_version("jupyterlab"),
            ui=f"{s.jupyter_url}/lab?token=…",
            env={"JUPYTER_TOKEN": s.secret("jupyter_token"), "PATH": f"{VENV_BIN}:/usr/bin:/bin"},
        ),
    ]


def start_order(services: list[Service]) -> list[list[Service]]:
    """Waves of services whose dependencies are all in earlier waves."""
    placed: set[str] = set()
    remaining = list(services)
    waves: list[list[Service]] = []
    while remaining:
        wave = [svc for svc in remaining if set(svc.after) <= placed]
        if not wave:
            raise ValueError(f"dependency cycle among {[s.name for s in remaining]}")
        waves.append(wave)
        placed |= {svc.name for svc in wave}
        remaining = [svc for svc in remaining if svc.name not in placed]
    return waves


def supervisor_config(services: list[Service], layout: LabLayout) -> str:
    """supervisord.conf: every program stopped until `lab up` starts it in dependency order."""
    lines = [
        "[unix_http_server]",
        f"file={layout.supervisor_socket}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={layout.logs / 'supervisord.log'}",
        f"pidfile={layout.run / 'supervisord.pid'}",
        f"directory={layout.root.parent}",
        "logfile_maxbytes=10MB",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
    ]
    waves = start_order(services)
    for priority, wave in enumerate(waves, start=1):
        for svc in wave:
            env = ",".join(f'{k}="{v}"' for k, v in svc.env.items())
            lines += [
                f"[program:{svc.name}]",
                f"command={shlex.join(svc.program())}".replace("%", "%%"),
                "autostart=false",
                "autorestart=unexpected",
                "startsecs=2",
                "startretries=1",
                "stopwaitsecs=30",
                f"stopsignal={svc.stop_signal}",
                # Process groups: spark-submit and airflow fork children that must die with the parent.
                "stopasgroup=true",
                "killasgroup=true",
                # What the services write (Airflow's metadata DB, logs, data folders) is the owner's alone.
                "umask=077",
                "redirect_stderr=true",
                f"stdout_logfile={layout.logs / (svc.name + '.log')}",
                "stdout_logfile_maxbytes=20MB",
                "stdout_logfile_backups=2",
                f"priority={priority * 10}",
            ]
            if env:
                lines.append(f"environment={env}".replace("%", "%%"))
            lines.append("")
    return "\n".join(lines)
