"""Configuration files of the native lab, rendered from the settings object into ``.lab/conf``."""

from __future__ import annotations

from pathlib import Path

import jinja2

from retailstream.hadoop_conf import (
    LOG4J_CONSOLE,
    capacity_scheduler,
    core_site,
    hadoop_xml,
    mapred_site,
    yarn_site,
)
from retailstream.layout import LabLayout
from retailstream.settings import Settings, write_private

LOG4J2_CONSOLE = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %p %c{1}: %m%n
rootLogger.level = {level}
rootLogger.appenderRef.stdout.ref = console
logger.thrift.name = org.apache.hive.service.server
logger.thrift.level = info
logger.datanucleus.name = DataNucleus
logger.datanucleus.level = warn
"""


def _write(path: Path, text: str, private: bool = False) -> None:
    if private:
        if not path.exists() or path.read_text() != text or path.stat().st_mode & 0o077:
            write_private(path, text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def hdfs_site(s: Settings, layout: LabLayout) -> dict[str, object]:
    host = s.bind_host
    return {
        "dfs.replication": 1,
        "dfs.namenode.name.dir": layout.data / "hdfs" / "name",
        "dfs.datanode.data.dir": layout.data / "hdfs" / "data",
        "dfs.namenode.rpc-address": f"{s.hdfs_host}:{s.hdfs_rpc_port}",
        "dfs.namenode.rpc-bind-host": host,
        "dfs.namenode.http-address": f"{s.hdfs_host}:{s.hdfs_http_port}",
        "dfs.namenode.http-bind-host": host,
        "dfs.namenode.servicerpc-bind-host": host,
        "dfs.namenode.lifeline.rpc-bind-host": host,
        "dfs.namenode.https-bind-host": host,
        "dfs.namenode.secondary.http-address": f"{host}:0",
        "dfs.datanode.address": f"{host}:{s.hdfs_datanode_port}",
        "dfs.datanode.http.address": f"{host}:{s.hdfs_datanode_http_port}",
        "dfs.datanode.ipc.address": f"{host}:{s.hdfs_datanode_ipc_port}",
        "dfs.datanode.hostname": s.hdfs_datanode_host,
        "dfs.client.use.datanode.hostname": "true",
        "dfs.namenode.safemode.extension": 0,
        "dfs.namenode.safemode.min.datanodes": 0,
        "dfs.webhdfs.enabled": "true",
        # One user owns the lab; HDFS permissions would only get in the way of Spark, Hive and Sqoop.
        "dfs.permissions.enabled": "false",
        "dfs.namenode.datanode.registration.ip-hostname-check": "false",
        "dfs.blocksize": 64 * 1024 * 1024,
    }


def metastore_jdbc(s: Settings) -> dict[str, object]:
    return {
        # useMysqlMetadata makes DataNucleus pick its MySQL adapter; without it DDL fails.
        "javax.jdo.option.ConnectionURL": (
            f"jdbc:mariadb://{s.rds_host}:{s.rds_port}/{s.rds_metastore_database}?useMysqlMetadata=true"
        ),
        "javax.jdo.option.ConnectionDriverName": "org.mariadb.jdbc.Driver",
        "javax.jdo.option.ConnectionUserName": s.rds_hive_user,
        "javax.jdo.option.ConnectionPassword": s.secret("rds_hive_password"),
    }


def hive_site(s: Settings) -> dict[str, object]:
    return {
        **metastore_jdbc(s),
        # The schema is created once by `lab up` (SchemaTool): autoCreateAll deadlocks on MariaDB.
        "datanucleus.schema.autoCreateAll": "false",
        "hive.metastore.schema.verification": "true",
        "hive.metastore.warehouse.dir": f"{s.hdfs_url}{s.hdfs_warehouse_dir}",
        "hive.async.log.enabled": "false",
        "fs.defaultFS": s.hdfs_url,
    }


def monitoring_configs(s: Settings) -> dict[str, str]:
    """prometheus.yml and alertmanager.yml rendered from the templates in prometheus/."""
    targets = {
        "pushgateway": f"{s.pushgateway_host}:{s.pushgateway_port}",
        "prometheus": f"{s.prometheus_host}:{s.prometheus_port}",
        "alertmanager": f"{s.alertmanager_host}:{s.alertmanager_port}",
        "statsd_exporter": f"{s.statsd_host}:{s.statsd_exporter_port}",
        "events_runner": f"{s.events_runner_host}:{s.events_runner_metrics_port}",
        "alert_receiver": f"{s.alert_receiver_host}:{s.alert_webhook_port}",
        "service_probes": f"{s.service_probes_host}:{s.service_probe_port}",
        "alert_webhook": f"{s.alert_receiver_url}/alerts",
    }
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(s.home / "prometheus"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return {
        name: templates.get_template(f"{name}.j2").render(
            targets=targets, rules_dir=str(s.home / "prometheus" / "rules")
        )
        for name in ("prometheus.yml", "alertmanager.yml")
    }


def render_configs(s: Settings, layout: LabLayout, services_conf: str | None = None) -> None:
    """Every config file; ``services_conf`` is supervisord's (none in the compose stack's containers)."""
    conf = layout.conf
    _write(conf / "hadoop" / "core-site.xml", hadoop_xml(core_site(s)))
    _write(conf / "hadoop" / "hdfs-site.xml", hadoop_xml(hdfs_site(s, layout)))
    _write(conf / "hadoop" / "log4j.properties", LOG4J_CONSOLE)
    _write(conf / "hadoop" / "yarn-site.xml", hadoop_xml(yarn_site(s)))
    _write(conf / "hadoop" / "capacity-scheduler.xml", hadoop_xml(capacity_scheduler(s)))
    _write(conf / "hadoop" / "mapred-site.xml", hadoop_xml(mapred_site(s)))
    # The NameNode/DataNode web servers need these folders on the classpath; their JS UIs ship only
    # in the Hadoop tarball, so the UI pages are bare but JMX and WebHDFS work.
    for app in ("hdfs", "datanode", "secondary"):
        (conf / "hadoop-webapps" / "webapps" / app).mkdir(parents=True, exist_ok=True)
    _write(conf / "hive" / "hive-site.xml", hadoop_xml(hive_site(s)), private=True)
    _write(conf / "hive" / "core-site.xml", hadoop_xml(core_site(s)))
    _write(conf / "hive" / "log4j2.properties", LOG4J2_CONSOLE.replace("{level}", "info"))
    _write(
        conf / "hive" / "datanucleus.properties",
        "\n".join(f"{k}={v}" for k, v in metastore_jdbc(s).items())
        + "\ndatanucleus.rdbms.datastoreAdapterClassName=org.datanucleus.store.rdbms.adapter.MySQLAdapter"
        + "\ndatanucleus.identifierFactory=datanucleus1\n",
        private=True,
    )
    _write(conf / "spark" / "log4j2.properties", LOG4J2_CONSOLE.replace("{level}", "warn"))
    for name, text in monitoring_configs(s).items():
        _write(conf / name, text)
    if services_conf is not None:
        _write(layout.supervisor_conf, services_conf, private=True)
