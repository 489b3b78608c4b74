"""Stage 5: the ten business use cases over the Hive tables, published to RDS, files and an HTML report.

- ``questions``: one PySpark function per use case (definitions in their docstrings) and ``USE_CASES``;
- ``source``: reads the Hive tables ``<db>.sales|stores|features|store_traffic`` as contract frames;
- ``publish``: atomic RDS reporting tables, Parquet/CSV files per run, the ``reports/latest`` pointer;
- ``report``: the self-contained HTML report (charts and findings computed from the results);
- ``job``: ``run_all`` — compute, publish and report inside ``stage_run("usecases")``/``("usecases_report")``.
"""
