"""Hadoop client configuration from the settings: what a Hadoop client (Sqoop, the lab's services) needs
to find HDFS, as XML, and a console log4j config."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from retailstream.settings import Settings

LOG4J_CONSOLE = """\
log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
"""


def hadoop_xml(properties: dict[str, object]) -> str:
    body = "\n".join(
        f"  <property><name>{escape(k)}</name><value>{escape(str(v))}</value></property>"
        for k, v in properties.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}\n</configuration>\n'


def core_site(s: Settings) -> dict[str, object]:
    return {
        "fs.defaultFS": s.hdfs_url,
        "hadoop.http.staticuser.user": s.hdfs_user,
        "hadoop.security.authentication": "simple",
    }


def container_classpath(s: Settings) -> str:
    """The class path of YARN's containers (ApplicationMasters, map tasks): the lab's Hadoop
    configuration and jars, where every NodeManager has them (the native lab's folder, or the image's)."""
    from retailstream.layout import LabLayout

    layout = LabLayout.of(s)
    return f"{layout.conf / 'hadoop'},{layout.jars}/*"


def yarn_site(s: Settings) -> dict[str, object]:
    """YARN for clients and daemons: every address on the lab's hosts (servers bind ``bind_host``, never
    every interface), one NodeManager's resources sized for a laptop, a shuffle service without a port
    (the lab's MapReduce jobs — Sqoop imports — are map-only)."""
    from retailstream.layout import LabLayout

    layout = LabLayout.of(s)
    rm, nm = s.yarn_resourcemanager_host, s.yarn_nodemanager_host
    return {
        "yarn.resourcemanager.hostname": rm,
        "yarn.resourcemanager.address": f"{rm}:{s.yarn_resourcemanager_port}",
        "yarn.resourcemanager.scheduler.address": f"{rm}:{s.yarn_scheduler_port}",
        "yarn.resourcemanager.resource-tracker.address": f"{rm}:{s.yarn_resource_tracker_port}",
        "yarn.resourcemanager.admin.address": f"{rm}:{s.yarn_admin_port}",
        "yarn.resourcemanager.webapp.address": f"{rm}:{s.yarn_resourcemanager_http_port}",
        "yarn.resourcemanager.bind-host": s.bind_host,
        "yarn.nodemanager.bind-host": s.bind_host,
        "yarn.nodemanager.hostname": nm,
        "yarn.nodemanager.address": f"{nm}:{s.yarn_nodemanager_port}",
        "yarn.nodemanager.localizer.address": f"{nm}:{s.yarn_nodemanager_localizer_port}",
        "yarn.nodemanager.webapp.address": f"{nm}:{s.yarn_nodemanager_http_port}",
        "yarn.nodemanager.resource.memory-mb": s.yarn_nodemanager_memory_mb,
        "yarn.nodemanager.resource.cpu-vcores": s.yarn_nodemanager_vcores,
        "yarn.scheduler.minimum-allocation-mb": 256,
        "yarn.scheduler.maximum-allocation-mb": s.yarn_nodemanager_memory_mb,
        "yarn.scheduler.maximum-allocation-vcores": s.yarn_nodemanager_vcores,
        # Java's reserved virtual memory is many times its heap: only physical memory is enforced.
        "yarn.nodemanager.vmem-check-enabled": "false",
        # A laptop's disk is often fuller than the 90 % at which a NodeManager stops taking containers.
        "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage": 99,
        "yarn.nodemanager.local-dirs": layout.data / "yarn" / "local",
        "yarn.nodemanager.log-dirs": layout.logs / "yarn",
        "yarn.nodemanager.env-whitelist": "JAVA_HOME,HADOOP_CONF_DIR,PATH,LANG,TZ",
        "yarn.application.classpath": container_classpath(s),
        # MapReduce's task containers name this service; the lab's opens no port (MapOnlyShuffle.java).
        "yarn.nodemanager.aux-services": "mapreduce_shuffle",
        "yarn.nodemanager.aux-services.mapreduce_shuffle.class": "MapOnlyShuffle",
        "yarn.timeline-service.enabled": "false",
        "yarn.log-aggregation-enable": "false",
    }


def capacity_scheduler(s: Settings) -> dict[str, object]:
    """One queue. ApplicationMasters may take half the cluster (the default tenth of 2 GB is less than one
    512 MB ApplicationMaster, and no job would ever start)."""
    return {
        "yarn.scheduler.capacity.root.queues": "default",
        "yarn.scheduler.capacity.root.default.capacity": 100,
        "yarn.scheduler.capacity.root.default.maximum-capacity": 100,
        "yarn.scheduler.capacity.maximum-am-resource-percent": 0.5,
    }


def mapred_site(s: Settings) -> dict[str, object]:
    """MapReduce on YARN (or in one local JVM, ``mapreduce_framework=local``): 512 MB containers."""
    return {
        "mapreduce.framework.name": s.mapreduce_framework,
        "mapreduce.application.classpath": container_classpath(s),
        "yarn.app.mapreduce.am.staging-dir": "/tmp/hadoop-yarn/staging",
        "yarn.app.mapreduce.am.resource.mb": 512,
        "yarn.app.mapreduce.am.command-opts": "-Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
        "mapreduce.map.memory.mb": 512,
        "mapreduce.map.java.opts": "-Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
        "mapreduce.reduce.memory.mb": 512,
        "mapreduce.reduce.java.opts": "-Xmx384m -XX:+UseSerialGC",
    }


def client_conf_dir(s: Settings) -> Path:
    """A Hadoop client configuration folder for these settings (YARN_CONF_DIR of a Spark driver on YARN):
    written from the settings, not the lab's rendered files (a tools container has none, and a namespace
    must not rewrite the lab's), once per distinct content."""
    import hashlib

    from retailstream.layout import LabLayout

    files = {
        "core-site.xml": hadoop_xml(core_site(s)),
        "hdfs-site.xml": hadoop_xml({"dfs.client.use.datanode.hostname": "true"}),
        "yarn-site.xml": hadoop_xml(yarn_site(s)),
        "mapred-site.xml": hadoop_xml(mapred_site(s)),
    }
    digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:12]
    folder = LabLayout.of(s).run / f"hadoop-client-{digest}"
    if not folder.is_dir():
        staging = folder.with_name(f"{folder.name}.{os.getpid()}")
        staging.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (staging / name).write_text(text)
        try:
            staging.rename(folder)
        except OSError:  # another process wrote the same folder first
            shutil.rmtree(staging, ignore_errors=True)
    return folder
