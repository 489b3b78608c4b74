"""Service health as Prometheus metrics, for the engines that have no exporter of their own.

No Prometheus exporter for MariaDB, moto, HDFS, Hive or Jupyter is obtainable here (the Go module proxy
refuses mysqld_exporter), so this exporter runs the lab's own protocol health checks
(:mod:`retailstream.lab.health`: ``SELECT 1`` as each database user, S3 ListBuckets, an HDFS write and
read, a metastore Thrift call, a HiveServer2 query, Airflow's health endpoint, Jupyter's REST API) each
time Prometheus scrapes it, and exposes::

    retailstream_service_up{service="rds"}                      1 healthy / 0 failing
    retailstream_service_probe_duration_seconds{service="rds"}  how long the check took

The checks run in parallel; one that does not answer within ``timeout`` seconds counts as down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric

from retailstream.lab import health
from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)

# service label → the lab's protocol check. Services that Prometheus scrapes directly (Prometheus,
# Pushgateway, Alertmanager, statsd_exporter, the alert receiver, the events runner) are watched
# through their own `up` series instead.
PROBES: dict[str, Callable[[Settings], None]] = {
    "rds": health.mariadb,
    "s3": health.moto,
    "hdfs_namenode": health.namenode,
    "hdfs_datanode": health.datanode,
    "yarn_resourcemanager": health.resourcemanager,
    "yarn_nodemanager": health.nodemanager,
    "hive_metastore": health.metastore,
    "hiveserver2": health.hiveserver2,
    "airflow_db": health.postgres,
    "airflow_api": health.airflow_api,
    "airflow_scheduler": health.airflow_scheduler,
    "airflow_dag_processor": health.airflow_dag_processor,
    "jupyter": health.jupyter,
}


@dataclass(frozen=True)
class ProbeResult:
    service: str
    ok: bool
    seconds: float
    detail: str


def _timed(check: Callable[[Settings], None], settings: Settings) -> tuple[bool, float, str]:
    started = time.monotonic()
    try:
        check(settings)
        return True, time.monotonic() - started, "ok"
    except Exception as exc:  # a failing check is the measurement, whatever it raised
        return False, time.monotonic() - started, f"{exc.__class__.__name__}: {exc}"


class ServiceProbes:
    """Runs every probe in parallel; usable directly or as a prometheus_client collector."""

    def __init__(
        self,
        settings: Settings | None = None,
        probes: dict[str, Callable[[Settings], None]] | None = None,
        timeout: float = 8.0,
    ):
        self.settings = settings or get_settings()
        self.probes = PROBES if probes is None else probes
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.probes)), thread_name_prefix="probe")
        self._pending: dict[str, Future] = {}

    def run(self) -> list[ProbeResult]:
        # A check still hung from an earlier scrape is not started again (so at most one thread per
        # service is ever stuck); the service counts as down until that check returns.
        for name, check in self.probes.items():
            if name not in self._pending or self._pending[name].done():
                self._pending[name] = self._pool.submit(_timed, check, self.settings)
        deadline = time.monotonic() + self.timeout
        results = []
        for name, future in self._pending.items():
            try:
                ok, seconds, detail = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                ok, seconds, detail = False, self.timeout, f"no answer within {self.timeout:.0f}s"
            if not ok:
                log.warning("probe %s failed: %s", name, detail)
            results.append(ProbeResult(name, ok, seconds, detail))
        return results

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "retailstream_service_up",
            "1 when the service passed its protocol health check during this scrape, else 0",
            labels=["service"],
        )
        seconds = GaugeMetricFamily(
            "retailstream_service_probe_duration_seconds",
            "how long the service's health check took during this scrape",
            labels=["service"],
        )
        for result in self.run():
            up.add_metric([result.service], 1.0 if result.ok else 0.0)
            seconds.add_metric([result.service], result.seconds)
        yield up
        yield seconds


def serve(settings: Settings | None = None) -> None:
    """Expose the probes on ``settings.bind_host:settings.service_probe_port`` until terminated."""
    import threading

    from prometheus_client import CollectorRegistry, start_http_server

    s = settings or get_settings()
    # HdfsCLI logs every write/read/delete of the DataNode probe at INFO: twice a minute of noise.
    logging.getLogger("hdfs").setLevel(logging.WARNING)
    registry = CollectorRegistry()
    registry.register(ServiceProbes(s))
    start_http_server(s.service_probe_port, addr=s.bind_host, registry=registry)
    log.info("service probes on http://%s:%d/metrics", s.bind_host, s.service_probe_port)
    threading.Event().wait()
