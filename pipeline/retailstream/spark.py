"""A correctly configured SparkSession for the pipeline: local mode, shared Hive metastore, HDFS.

The same settings feed the Spark Thrift Server started by the lab (``spark_conf``), so a table written by a
pipeline job is immediately visible through HiveServer2.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from retailstream.settings import Settings, get_settings

# Located without importing pyspark (that would cost a second at CLI start).
SPARK_HOME = Path(importlib.util.find_spec("pyspark").origin).parent


def spark_conf(settings: Settings | None = None) -> dict[str, str]:
    s = settings or get_settings()
    conf = {
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
        "spark.driver.extraJavaOptions": driver_java_options(s),
        "spark.jars": str(s.mariadb_jdbc_jar),
        # Parquet written for Hive readers too (decimal/timestamp layouts Hive 2.3 understands).
        "spark.sql.parquet.writeLegacyFormat": "true",
        "spark.ui.showConsoleProgress": "false",
    }
    if s.spark_master == "yarn":
        conf.update(yarn_conf(s))
    return conf


def yarn_conf(s: Settings) -> dict[str, str]:
    """Spark on the lab's YARN (``RETAILSTREAM_SPARK_MASTER=yarn``), client mode: the driver stays in the
    caller, one executor runs in a NodeManager container. Spark's jars and Python are used where every
    NodeManager has them (``local:`` jars; ``spark_env`` sets PYSPARK_PYTHON) instead of uploaded for
    each application (≈ 460 MB); the containers are sized to fit a NodeManager beside the
    ApplicationMaster."""
    rm = s.yarn_resourcemanager_host
    driver = driver_host(s)
    return {
        "spark.driver.host": driver,
        "spark.driver.bindAddress": driver,
        "spark.yarn.jars": f"local:{SPARK_HOME}/jars/*",
        "spark.hadoop.yarn.resourcemanager.hostname": rm,
        "spark.hadoop.yarn.resourcemanager.address": f"{rm}:{s.yarn_resourcemanager_port}",
        "spark.hadoop.yarn.resourcemanager.scheduler.address": f"{rm}:{s.yarn_scheduler_port}",
        "spark.yarn.am.memory": "512m",
        "spark.executor.memory": "512m",
        "spark.executor.instances": "1",
        "spark.executor.cores": str(s.yarn_nodemanager_vcores),
    }


def driver_host(s: Settings) -> str:
    """The address the driver listens on. Executors in YARN containers on another host (the stack's
    NodeManager container) cannot reach a loopback driver: then it is this host's own address."""
    import ipaddress
    import socket

    def loopback(host: str) -> bool:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except OSError:
            return False

    if s.spark_master != "yarn" or not loopback(s.spark_driver_host) or loopback(s.yarn_resourcemanager_host):
        return s.spark_driver_host
    return socket.gethostbyname(socket.gethostname())


def spark_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment a Spark JVM (driver or thrift server) needs: loopback binding and HDFS user."""
    s = settings or get_settings()
    env = {
        "SPARK_LOCAL_IP": driver_host(s),
        "HADOOP_USER_NAME": s.hdfs_user,
        "SPARK_HOME": str(SPARK_HOME),
    }
    if s.spark_master == "yarn":  # spark-submit refuses YARN without it (it also joins the class path)
        from retailstream.hadoop_conf import client_conf_dir

        env["YARN_CONF_DIR"] = str(client_conf_dir(s))
        # The Python the executors run (PySpark sends the driver's PYSPARK_PYTHON with every function):
        # this venv's, which the NodeManagers have at the same path, not the containers' python3.
        env["PYSPARK_PYTHON"] = sys.executable
    return env


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


# --- class-data sharing ------------------------------------------------------------------------------
# A Spark driver spends ≈ 5 of the ≈ 12 s to its first query loading and verifying Spark's classes.
# A dynamic AppCDS archive of those classes (JDK 17: -XX:ArchiveClassesAtExit, then -XX:SharedArchiveFile)
# maps them ready-made instead. The JVM uses an archive only when its class path is the one it was made
# with (else it starts as before, silently), so every Spark JVM of the lab — the steps' drivers, the
# tests' session, the Thrift server — keeps SPARK_CONF_DIR unset: a configuration folder on the class
# path would differ between them, and one with files in it cannot be archived at all.


def class_archive(settings: Settings | None = None) -> Path:
    """The archive for this Spark and this JDK (``make setup`` writes it; ``make clean`` keeps it)."""
    from retailstream.layout import LabLayout

    key = hashlib.sha256(str(Path(shutil.which("java") or "java").resolve()).encode())
    for jar in sorted((SPARK_HOME / "jars").iterdir()):  # what the JVM checks: each jar's size and mtime
        stat = jar.stat()
        key.update(f"{jar.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return LabLayout.of(settings).jars.parent / "cds" / f"spark-{key.hexdigest()[:16]}.jsa"


def driver_java_options(settings: Settings | None = None) -> str:
    archive = class_archive(settings)
    return "-Duser.timezone=UTC" + (f" -XX:SharedArchiveFile={archive}" if archive.exists() else "")


def build_class_archive(settings: Settings | None = None) -> Path:
    """Run a small Spark workload (local files, an embedded metastore: no lab needed) whose JVM writes
    the archive as it exits; idempotent. Archives of other Spark or JDK versions are removed."""
    import contextlib
    import subprocess
    import sys
    import tempfile

    import psutil

    archive = class_archive(settings)
    if archive.exists():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONF_DIR", "PYSPARK_SUBMIT_ARGS")}
    env.update(spark_env(settings))
    with tempfile.TemporaryDirectory(prefix="spark-cds-") as work:
        done = subprocess.run(
            [sys.executable, "-c", "import sys, retailstream.spark as s; s._training_run(*sys.argv[1:])"]
            + [str(partial), work],
            env=env,
            cwd=work,  # Derby writes its log to the working directory
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the class-archive training run failed:\n{done.stderr[-3000:]}")
        # The driver JVM writes the archive after Python has exited: wait for it.
        jvm = int(done.stdout.split("driver-pid=")[1].split()[0])
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(jvm).wait(timeout=300)
    if not partial.exists():
        raise RuntimeError(f"the training run's JVM wrote no archive; its output:\n{done.stderr[-3000:]}")
    partial.rename(archive)
    for other in archive.parent.glob("spark-*.jsa"):
        if other != archive:
            other.unlink()
    return archive


def _training_run(partial: str, work: str) -> None:
    """The classes a pipeline step loads: Hive catalog, Parquet and CSV, joins, windows, aggregates."""
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.extraJavaOptions", f"-Duser.timezone=UTC -XX:ArchiveClassesAtExit={partial}")
        .config("spark.sql.warehouse.dir", f"{work}/warehouse")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={work}/metastore;create=true",
        )
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.writeLegacyFormat", "true")
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    sales = spark.range(2000).select(
        (F.col("id") % 45 + 1).alias("store"),
        (F.col("id") % 7).alias("dept"),
        F.date_add(F.lit("2010-02-05").cast("date"), (F.col("id") % 140).cast("int")).alias("week"),
        (F.col("id") * 1.5).cast("decimal(12,2)").alias("sales"),
    )
    sales.write.mode("overwrite").partitionBy("dept").parquet(f"{work}/sales")
    sales.write.mode("overwrite").option("header", True).csv(f"{work}/sales_csv")
    csv = spark.read.option("header", True).option("inferSchema", True).csv(f"{work}/sales_csv")
    read = spark.read.parquet(f"{work}/sales").join(csv.select("store").distinct(), "store")
    ranked = read.groupBy("store", F.year("week").alias("year")).agg(F.sum("sales").alias("total"))
    ranked = ranked.withColumn("rank", F.rank().over(Window.partitionBy("year").orderBy(F.desc("total"))))
    spark.sql("CREATE DATABASE IF NOT EXISTS training")
    ranked.write.mode("overwrite").format("parquet").saveAsTable("training.ranked")
    spark.sql(
        "SELECT year, max(total), percentile_approx(total, 0.5) FROM training.ranked GROUP BY year"
    ).collect()
    ranked.toPandas()
    print(f"driver-pid={spark._jvm.java.lang.ProcessHandle.current().pid()}", flush=True)
    spark.stop()
