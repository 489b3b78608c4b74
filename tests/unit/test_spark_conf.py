"""Spark's settings for the lab: local mode by default, YARN with one setting."""

from __future__ import annotations

import socket

from retailstream.spark import SPARK_HOME, spark_conf


def test_local_mode_has_no_yarn_settings(settings):
    conf = spark_conf(settings)
    assert conf["spark.master"] == settings.spark_master and conf["spark.master"].startswith("local")
    assert not any(key.startswith("spark.yarn.") for key in conf)


def test_yarn_reads_sparks_jars_in_place_and_sizes_containers_for_the_nodemanager(settings):
    on_yarn = settings.model_copy(update={"spark_master": "yarn"})
    conf = spark_conf(on_yarn)
    assert conf["spark.master"] == "yarn"
    assert conf["spark.yarn.jars"] == f"local:{SPARK_HOME}/jars/*"
    rm = f"{settings.yarn_resourcemanager_host}:{settings.yarn_resourcemanager_port}"
    assert conf["spark.hadoop.yarn.resourcemanager.address"] == rm
    overhead = 384  # Spark's minimum memory overhead per container, MB
    containers = [
        int(conf[key].rstrip("m")) + overhead for key in ("spark.yarn.am.memory", "spark.executor.memory")
    ]
    assert sum(containers) <= settings.yarn_nodemanager_memory_mb
    assert conf["spark.driver.host"] == settings.spark_driver_host  # YARN on this host: loopback is reachable


def test_a_driver_for_yarn_on_another_host_listens_on_this_hosts_address(settings):
    remote = settings.model_copy(update={"spark_master": "yarn", "yarn_resourcemanager_host": "192.0.2.10"})
    conf = spark_conf(remote)
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"]
    assert conf["spark.driver.host"] == socket.gethostbyname(socket.gethostname())
