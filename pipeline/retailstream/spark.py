"""A correctly configured SparkSession for the pipeline: local mode, shared Hive metastore, HDFS.

The same settings feed the Spark Thrift Server started by the lab (``spark_conf``), so a table written by a
pipeline job is immediately visible through HiveServer2.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from retailstream.settings import Settings, get_settings

# Located without importing pyspark (that would cost a second at CLI start).
SPARK_HOME = Path(importlib.util.find_spec("pyspark").origin).parent


def spark_conf(settings: Settings | None = None) -> dict[str, str]:
    s = settings or get_settings()
    return {
        "spark.master": s.spark_master,
        "spark.driver.memory": s.spark_driver_memory,
        "spark.driver.host": s.spark_driver_host,
        "spark.driver.bindAddress": s.spark_driver_host,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": f"{s.hdfs_url}{s.hdfs_warehouse_dir}",
        "spark.hadoop.fs.defaultFS": s.hdfs_url,
        "spark.hadoop.hive.metastore.uris": s.hive_metastore_uri,
        # Dynamic partition overwrite: rewriting one partition leaves the others alone (idempotent reruns).
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.hadoop.hive.exec.dynamic.partition.mode": "nonstrict",
        "spark.sql.shuffle.partitions": str(s.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.jars": str(s.mariadb_jdbc_jar),
        # Parquet written for Hive readers too (decimal/timestamp layouts Hive 2.3 understands).
        "spark.sql.parquet.writeLegacyFormat": "true",
        "spark.ui.showConsoleProgress": "false",
    }


def spark_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment a Spark JVM (driver or thrift server) needs: loopback binding and HDFS user."""
    s = settings or get_settings()
    return {
        "SPARK_LOCAL_IP": s.spark_driver_host,
        "HADOOP_USER_NAME": s.hdfs_user,
        "SPARK_HOME": str(SPARK_HOME),
    }


def get_spark(app_name: str = "retailstream", settings: Settings | None = None, ui: bool = False):
    """Return the process-wide SparkSession, creating it on first use."""
    os.environ.update(spark_env(settings))
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    builder = builder.config("spark.ui.enabled", str(ui).lower())
    spark = builder.enableHiveSupport().getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
