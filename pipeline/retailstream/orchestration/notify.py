"""DAG callbacks: failure notifications (an Alertmanager alert plus the log) and freshness on success."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import requests
from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)


def _push_pipeline_status(ok: bool, settings: Settings) -> None:
    registry = CollectorRegistry()
    labels = ("pipeline",)
    Gauge(
        "retailstream_pipeline_last_status",
        "1 when the last DAG run succeeded, 0 when it failed",
        labels,
        registry=registry,
    ).labels(settings.pipeline_name).set(1 if ok else 0)
    if ok:
        Gauge(
            "retailstream_pipeline_last_success_timestamp_seconds",
            "when a DAG run last succeeded",
            labels,
            registry=registry,
        ).labels(settings.pipeline_name).set(time.time())
    try:
        pushadd_to_gateway(
            settings.pushgateway_url,
            job=settings.metrics_job,
            registry=registry,
            grouping_key={"pipeline": settings.pipeline_name},
            timeout=5,
        )
    except OSError as exc:
        log.warning("pipeline status not pushed: %s", exc)


def send_alert(
    labels: dict[str, str],
    annotations: dict[str, str],
    settings: Settings | None = None,
    lasts: timedelta = timedelta(hours=1),
) -> bool:
    """Post one alert to Alertmanager's API (it routes it to the configured receivers)."""
    s = settings or get_settings()
    now = datetime.now(UTC)
    alert = {
        "labels": {"pipeline": s.pipeline_name, "severity": "critical", **labels},
        "annotations": annotations,
        "startsAt": now.isoformat(),
        "endsAt": (now + lasts).isoformat(),
        "generatorURL": s.airflow_url,
    }
    try:
        requests.post(f"{s.alertmanager_url}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()
        return True
    except requests.RequestException as exc:
        log.error("could not notify Alertmanager (%s): %s", s.alertmanager_url, exc)
        return False


def notify_task_failure(context) -> None:
    """on_failure_callback of every task: log, alert, and mark the pipeline failed."""
    s = get_settings()
    ti = context["ti"]
    exception = context.get("exception")
    message = f"task {ti.dag_id}.{ti.task_id} failed (try {ti.try_number}) in run {ti.run_id}: {exception!r}"
    log.error(message)
    send_alert(
        {"alertname": "PipelineTaskFailed", "dag_id": ti.dag_id, "task_id": ti.task_id},
        {"summary": f"{ti.dag_id}.{ti.task_id} failed", "description": message, "run_id": ti.run_id},
        s,
    )
    _push_pipeline_status(False, s)


def record_success(context) -> None:
    """on_success_callback of the DAG: record freshness for the NoSuccessfulRun alert."""
    _push_pipeline_status(True, get_settings())
