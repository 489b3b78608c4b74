"""Stage ``transfer``: RDS ``stores``, ``sales``, ``store_traffic`` → HDFS staging → Hive, incrementally,
with real Apache Sqoop 1.4.7 or Spark's JDBC source (``settings.transfer_engine``;
``incremental.transfer_tables``)."""
