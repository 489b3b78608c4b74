"""Pipeline observability: per-run stage metrics pushed to the Prometheus Pushgateway."""
