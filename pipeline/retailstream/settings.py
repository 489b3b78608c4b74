"""The one settings object: every endpoint, credential, name and path of the lab.

Values come from environment variables prefixed ``RETAILSTREAM_`` and from the ignored ``.env`` at the
project root (written by ``retailstream secrets``). Defaults describe the native lab; the compose stack
and real AWS only change values, never code. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = PROJECT_ROOT / ".env"

# Credentials generated into .env on first setup; never committed.
GENERATED_SECRETS = (
    "rds_root_password",
    "rds_pipeline_password",
    "rds_loader_password",
    "rds_analyst_password",
    "rds_hive_password",
    "airflow_admin_password",
    "airflow_jwt_secret",
    "airflow_db_password",
    "jupyter_token",
    "grafana_admin_password",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RETAILSTREAM_",
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # --- paths -------------------------------------------------------------------------------------
    home: Path = PROJECT_ROOT
    datasets_dir: Path = PROJECT_ROOT / "datasets"
    lab_dir: Path = PROJECT_ROOT / ".lab"
    reports_dir: Path = PROJECT_ROOT / "reports"
    # The address every server binds. Clients never use it: each endpoint has its own *_host setting, so
    # in the compose stack servers bind 0.0.0.0 inside their containers while clients name the service.
    bind_host: str = "127.0.0.1"

    # --- input files --------------------------------------------------------------------------------
    # What one gzip-compressed input (or a Parquet file's pages) may inflate to; beyond it the file is
    # rejected whole, so a gzip bomb cannot exhaust memory. The real train.csv is 13 MB.
    max_inflated_mb: int = 1024

    # --- AWS (moto server in the lab; unset the endpoint to talk to real AWS) ---------------------
    aws_endpoint_url: str | None = "http://127.0.0.1:5000"
    aws_region: str = "us-east-1"
    aws_access_key_id: str = "lab"
    aws_secret_access_key: SecretStr = SecretStr("lab")
    moto_port: int = 5000
    raw_bucket: str = "retail-raw"
    curated_bucket: str = "retail-curated"
    quarantine_bucket: str = "retail-quarantine"
    sales_prefix: str = "sales"
    stores_prefix: str = "stores"
    traffic_prefix: str = "store_traffic"
    glue_raw_database: str = "retail_raw"
    glue_curated_database: str = "retail_curated"
    glue_job_name: str = "retail-clean-merge-sales"
    glue_trigger_name: str = "retail-clean-merge-sales-weekly"
    # Same instant as the Airflow DAG schedule (Mondays 06:00 UTC), in Glue's cron dialect.
    glue_job_schedule: str = "cron(0 6 ? * MON *)"
    glue_role_arn: str = "arn:aws:iam::123456789012:role/retailstream-glue"
    use_real_crawler: bool = False
    glue_raw_crawler: str = "retail-raw-crawler"
    glue_curated_crawler: str = "retail-curated-crawler"
    # In the raw bucket: the job script, the job bookmark and the run log of the local job runner.
    glue_state_prefix: str = "_glue"
    upload_manifest_prefix: str = "_manifests"
    upload_workers: int = 8
    events_queue: str = "retail-curated-events"
    events_dlq: str = "retail-curated-events-dlq"
    events_max_receive_count: int = 3
    lambda_function_name: str = "retail-load-rds"
    lambda_role_arn: str = "arn:aws:iam::123456789012:role/retailstream-lambda"
    multipart_threshold_mb: int = 8

    # --- RDS (MariaDB speaking the MySQL protocol) -------------------------------------------------
    rds_host: str = "127.0.0.1"
    rds_port: int = 3307
    rds_database: str = "retail"
    rds_reports_database: str = "retail_reports"
    rds_metastore_database: str = "metastore"
    rds_root_password: SecretStr = SecretStr("")
    rds_pipeline_user: str = "pipeline"
    rds_pipeline_password: SecretStr = SecretStr("")
    # The loader Lambda's account: rows in and out (DML) and its staging tables, no DDL.
    rds_loader_user: str = "loader"
    rds_loader_password: SecretStr = SecretStr("")
    # The Secrets Manager secret holding the loader's credentials: what the deployed Lambda is told
    # (its environment carries this name, never a password); read when no password is set.
    rds_loader_secret_id: str = "retailstream/rds/loader"
    rds_analyst_user: str = "analyst"
    rds_analyst_password: SecretStr = SecretStr("")
    rds_hive_user: str = "hive"
    rds_hive_password: SecretStr = SecretStr("")
    # Client hosts the lab's MariaDB accounts are created for (the compose stack adds "%": its clients
    # connect from other containers' addresses).
    rds_account_hosts: list[str] = ["127.0.0.1", "localhost"]
    mariadb_jdbc_jar: Path = Path("/usr/share/java/mariadb-java-client.jar")

    # --- HDFS ---------------------------------------------------------------------------------------
    hdfs_host: str = "127.0.0.1"
    # The name the DataNode gives clients for its data transfer and WebHDFS redirects.
    hdfs_datanode_host: str = "127.0.0.1"
    hdfs_rpc_port: int = 9000
    hdfs_http_port: int = 9870
    hdfs_datanode_port: int = 9866
    hdfs_datanode_http_port: int = 9864
    hdfs_datanode_ipc_port: int = 9867
    hdfs_user: str = "retail"
    hdfs_raw_dir: str = "/retail/raw"
    hdfs_staging_dir: str = "/retail/staging"
    hdfs_warehouse_dir: str = "/retail/warehouse"

    # --- YARN ---------------------------------------------------------------------------------------
    yarn_resourcemanager_host: str = "127.0.0.1"
    yarn_resourcemanager_port: int = 8032  # clients submit applications here
    yarn_scheduler_port: int = 8030  # ApplicationMasters ask for containers here
    yarn_resource_tracker_port: int = 8031  # NodeManagers report here
    yarn_admin_port: int = 8033
    yarn_resourcemanager_http_port: int = 8088
    # The name the NodeManager gives the ResourceManager (and so the containers' links).
    yarn_nodemanager_host: str = "127.0.0.1"
    yarn_nodemanager_port: int = 8041
    yarn_nodemanager_localizer_port: int = 8040
    yarn_nodemanager_http_port: int = 8042
    # What one NodeManager offers its containers: sized for a laptop (an ApplicationMaster and two tasks
    # of 512 MB, or a Spark driver and executors), not the machine's whole memory.
    yarn_nodemanager_memory_mb: int = 2048
    yarn_nodemanager_vcores: int = 2
    # Where Sqoop's MapReduce jobs run: "yarn" (the cluster's containers) or "local" (one JVM).
    mapreduce_framework: Literal["yarn", "local"] = "yarn"

    # --- Hive / Spark -------------------------------------------------------------------------------
    hive_metastore_host: str = "127.0.0.1"
    hive_metastore_port: int = 9083
    hiveserver2_host: str = "127.0.0.1"
    hiveserver2_port: int = 10000
    hive_database: str = "retail"
    spark_master: str = "local[2]"
    # Local mode: only the driver's own in-process executors connect to it.
    spark_driver_host: str = "127.0.0.1"
    spark_driver_memory: str = "1g"
    spark_shuffle_partitions: int = 4
    spark_ui_port: int = 4040
    thriftserver_ui_port: int = 4050
    transfer_engine: Literal["sqoop", "spark-jdbc"] = "spark-jdbc"
    # RDS → Hive transfer tuning (Sqoop -m / Spark numPartitions, JDBC fetch size): `make bench` winners.
    transfer_parallelism: int = 2
    transfer_fetch_size: int = 10000
    # Sqoop's mysqldump fast path (--direct); see retailstream/stages/transfer/sqoop.py for when it applies.
    transfer_sqoop_direct: bool = False
    # Rows changed in the last N seconds wait for the next run: a transaction still open when the
    # window closes commits rows stamped inside it, which a later window would never see.
    transfer_lag_seconds: int = 5

    # --- Airflow ------------------------------------------------------------------------------------
    airflow_host: str = "127.0.0.1"
    airflow_port: int = 8080
    airflow_admin_user: str = "admin"
    airflow_admin_password: SecretStr = SecretStr("")
    airflow_jwt_secret: SecretStr = SecretStr("")
    # Airflow's metadata database: PostgreSQL, its own database and owner (port 5433: a laptop's own
    # PostgreSQL keeps 5432).
    airflow_db_host: str = "127.0.0.1"
    airflow_db_port: int = 5433
    airflow_db_name: str = "airflow"
    airflow_db_user: str = "airflow"
    airflow_db_password: SecretStr = SecretStr("")

    # --- monitoring ---------------------------------------------------------------------------------
    prometheus_host: str = "127.0.0.1"
    prometheus_port: int = 9090
    pushgateway_host: str = "127.0.0.1"
    pushgateway_port: int = 9091
    alertmanager_host: str = "127.0.0.1"
    alertmanager_port: int = 9093
    # statsd_exporter: Airflow's StatsD (UDP) in, Prometheus metrics out.
    statsd_host: str = "127.0.0.1"
    statsd_port: int = 9125
    statsd_exporter_port: int = 9102
    alert_receiver_host: str = "127.0.0.1"
    alert_webhook_port: int = 9095
    events_runner_host: str = "127.0.0.1"
    events_runner_metrics_port: int = 9108
    service_probes_host: str = "127.0.0.1"
    service_probe_port: int = 9115
    metrics_job: str = "retailstream"
    pipeline_name: str = "retailstream"

    # --- notebooks ----------------------------------------------------------------------------------
    jupyter_host: str = "127.0.0.1"
    jupyter_port: int = 8888
    jupyter_token: SecretStr = SecretStr("")

    # --- the walkthrough recorder (Debian's chromium, driven by Playwright) ------------------------
    chromium_path: Path = Path("/usr/bin/chromium")

    # --- dashboards (Grafana runs only in the compose stack) ---------------------------------------
    grafana_host: str = "127.0.0.1"
    grafana_port: int = 3000
    grafana_admin_password: SecretStr = SecretStr("")

    # --- which lab this is, and what a person on the host types to reach it ----------------------
    # native: the engines as local processes (supervisord); compose: the docker-compose stack. The
    # Makefile chooses (RETAILSTREAM_LAB, else compose where a Docker engine answers); only lab/ reads it.
    lab: Literal["native", "compose"] = "native"
    # Where the host's browser reaches a UI when that differs from where the code does (a compose
    # service name inside the stack, a published port outside): name → URL; "project" is the project
    # folder on the host (for file:// links to reports).
    published_urls: dict[str, str] = {}

    @model_validator(mode="after")
    def _endpoint_follows_moto_port(self) -> Settings:
        # The default endpoint is the lab's moto server: it moves with moto_port unless set explicitly
        # (a compose service name, or empty for real AWS).
        if "aws_endpoint_url" not in self.model_fields_set:
            self.aws_endpoint_url = f"http://127.0.0.1:{self.moto_port}"
        return self

    # --- derived endpoints --------------------------------------------------------------------------
    def public_url(self, name: str, url: str) -> str:
        """``url`` as the host's browser or terminal reaches it: the published one when there is one."""
        return self.published_urls.get(name, url)

    def public_path(self, path: Path) -> str:
        """A file:// link to a file of the project, as the host sees it."""
        project = self.published_urls.get("project")
        if project and path.is_relative_to(self.home):
            return f"file://{project}/{path.relative_to(self.home)}"
        return f"file://{path}"

    @property
    def grafana_url(self) -> str:
        return f"http://{self.grafana_host}:{self.grafana_port}"

    @property
    def hdfs_url(self) -> str:
        return f"hdfs://{self.hdfs_host}:{self.hdfs_rpc_port}"

    @property
    def webhdfs_url(self) -> str:
        return f"http://{self.hdfs_host}:{self.hdfs_http_port}"

    @property
    def hive_metastore_uri(self) -> str:
        return f"thrift://{self.hive_metastore_host}:{self.hive_metastore_port}"

    @property
    def pushgateway_url(self) -> str:
        return f"http://{self.pushgateway_host}:{self.pushgateway_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.prometheus_host}:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{self.alertmanager_host}:{self.alertmanager_port}"

    @property
    def airflow_url(self) -> str:
        return f"http://{self.airflow_host}:{self.airflow_port}"

    @property
    def yarn_resourcemanager_url(self) -> str:
        return f"http://{self.yarn_resourcemanager_host}:{self.yarn_resourcemanager_http_port}"

    @property
    def airflow_db_url(self) -> str:
        """Airflow's SQLAlchemy URL (psycopg2; Airflow derives its asyncpg URL from it)."""
        from urllib.parse import quote

        password = quote(self.secret("airflow_db_password"), safe="")
        return (
            f"postgresql+psycopg2://{self.airflow_db_user}:{password}@{self.airflow_db_host}:"
            f"{self.airflow_db_port}/{self.airflow_db_name}"
        )

    @property
    def statsd_exporter_url(self) -> str:
        return f"http://{self.statsd_host}:{self.statsd_exporter_port}"

    @property
    def alert_receiver_url(self) -> str:
        return f"http://{self.alert_receiver_host}:{self.alert_webhook_port}"

    @property
    def events_runner_url(self) -> str:
        return f"http://{self.events_runner_host}:{self.events_runner_metrics_port}"

    @property
    def service_probes_url(self) -> str:
        return f"http://{self.service_probes_host}:{self.service_probe_port}"

    @property
    def jupyter_url(self) -> str:
        return f"http://{self.jupyter_host}:{self.jupyter_port}"

    def jdbc_url(self, database: str | None = None) -> str:
        # jdbc:mysql with the MariaDB driver: a jdbc:mariadb URL makes Spark pick a generic dialect
        # that double-quotes identifiers and silently returns no rows.
        return f"jdbc:mysql://{self.rds_host}:{self.rds_port}/{database or self.rds_database}"

    def secret(self, name: str) -> str:
        """A generated credential, or a clear error when setup has not written it yet."""
        value = getattr(self, name).get_secret_value()
        if not value:
            raise RuntimeError(
                f"RETAILSTREAM_{name.upper()} is not set: run `make setup` (writes .env) or export it."
            )
        return value

    def boto3_kwargs(self) -> dict:
        """Client arguments: the emulator's endpoint and dummy keys in the lab; against real AWS (no
        endpoint set) boto3's own credential chain (profile, SSO, instance role) decides."""
        kwargs: dict = {"region_name": self.aws_region}
        if self.aws_endpoint_url:
            kwargs["endpoint_url"] = self.aws_endpoint_url
            kwargs["aws_access_key_id"] = self.aws_access_key_id
            kwargs["aws_secret_access_key"] = self.aws_secret_access_key.get_secret_value()
        return kwargs


# Settings that name a place where the pipeline keeps data or state. A namespace renames all of them,
# so a whole pipeline run (tests, a second user) can share the lab without touching the default data.
NAMESPACED_NAMES = (
    "raw_bucket",
    "curated_bucket",
    "quarantine_bucket",
    "glue_raw_database",
    "glue_curated_database",
    "glue_job_name",
    "glue_trigger_name",
    "glue_raw_crawler",
    "glue_curated_crawler",
    "events_queue",
    "events_dlq",
    "lambda_function_name",
    "rds_loader_secret_id",
    "rds_database",
    "rds_reports_database",
    "hive_database",
    "pipeline_name",
)
NAMESPACED_HDFS_DIRS = ("hdfs_raw_dir", "hdfs_staging_dir", "hdfs_warehouse_dir")
NAMESPACED_PATHS = ("datasets_dir", "reports_dir")
# Databases whose names start with this are the pipeline user's too (see the lab's grants).
NAMESPACE_DATABASE_PREFIX = "retail_ns_"


def namespaced_values(settings: Settings, tag: str, local_root: Path) -> dict[str, object]:
    """The overrides that move every data location of ``settings`` into namespace ``tag``."""
    if not tag.replace("_", "").isalnum() or not tag.islower():
        raise ValueError(f"namespace tag must be lower-case letters, digits and _: {tag!r}")
    values: dict[str, object] = {}
    for name in NAMESPACED_NAMES:
        current = getattr(settings, name)
        if name in ("rds_database", "rds_reports_database", "hive_database"):
            values[name] = f"{NAMESPACE_DATABASE_PREFIX}{tag}_{current}"
        elif "bucket" in name or name in ("events_queue", "events_dlq"):
            values[name] = f"ns-{tag.replace('_', '-')}-{current}"
        else:
            values[name] = f"ns_{tag}_{current}"
    for name in NAMESPACED_HDFS_DIRS:
        values[name] = f"/namespaces/{tag}{getattr(settings, name)}"
    for name in NAMESPACED_PATHS:
        values[name] = local_root / getattr(settings, name).name
    return values


def namespace_env(settings: Settings, tag: str, local_root: Path) -> dict[str, str]:
    """``namespaced_values`` as RETAILSTREAM_* environment variables (for a child process)."""
    return {
        f"RETAILSTREAM_{k.upper()}": str(v) for k, v in namespaced_values(settings, tag, local_root).items()
    }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def env_example() -> str:
    """The text of ``.env.example``: every variable with its default (commented out)."""
    lines = [
        "# Every RetailStream setting, with its default. Copy what you change into .env (ignored by git).",
        "# Secrets are generated into .env by `make setup` (`retailstream secrets`); never commit them.",
        "",
    ]
    for name, field in Settings.model_fields.items():
        var = f"RETAILSTREAM_{name.upper()}"
        if name in GENERATED_SECRETS:
            lines.append(f"# {var}=<generated>")
            continue
        default = field.default
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if isinstance(default, Path) and default.is_relative_to(PROJECT_ROOT):
            relative = default.relative_to(PROJECT_ROOT)
            default = f"<project>/{relative}" if str(relative) != "." else "<project>"
        if isinstance(default, list):
            default = json.dumps(default)  # how pydantic-settings reads a list from the environment
        lines.append(f"# {var}={'' if default is None else default}")
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, from its first byte on (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)  # O_CREAT's mode applies to a new file only


def ensure_env_file(path: Path = ENV_FILE) -> list[str]:
    """Append a random value for every generated secret missing from ``path``; return their names."""
    existing = path.read_text().splitlines() if path.exists() else []
    present = {line.split("=", 1)[0].strip() for line in existing if "=" in line}
    added = [n for n in GENERATED_SECRETS if f"RETAILSTREAM_{n.upper()}" not in present]
    if added:
        lines = [f"RETAILSTREAM_{n.upper()}={secrets.token_urlsafe(18)}" for n in added]
        header = [] if existing else ["# Generated by `retailstream secrets`; never commit this file."]
        write_private(path, "\n".join(existing + header + lines) + "\n")
        get_settings.cache_clear()
    return added


__all__ = ["Settings", "get_settings", "ensure_env_file", "write_private", "PROJECT_ROOT"]
