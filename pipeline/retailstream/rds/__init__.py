"""The RDS (MySQL-protocol) database of the pipeline: its schema, created idempotently."""
