"""The pipeline's eight stages, one package each, named as the CLI group and the steps (``steps.py``).

A stage imports only the base layer (settings, clients, s3util, spark, warehouse, fingerprint,
monitoring.metrics) and takes its settings as an argument; see docs/architecture.md."""
