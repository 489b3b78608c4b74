"""The alert receiver and the service probe exporter, run in-process on loopback ports."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest

from retailstream.monitoring.alert_receiver import NotificationLog, make_server
from retailstream.monitoring.probe import ServiceProbes
from retailstream.settings import Settings


def _notification(status: str, alertname: str = "PipelineRunFailed") -> dict:
    """The shape Alertmanager (webhook version 4) sends."""
    return {
        "version": "4",
        "status": status,
        "receiver": "pipeline-webhook",
        "groupLabels": {"alertname": alertname},
        "commonLabels": {"alertname": alertname, "stage": "upload"},
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": alertname, "stage": "upload", "pipeline": "retailstream"},
                "annotations": {"summary": "Stage upload of pipeline retailstream failed"},
                "startsAt": "2026-01-05T06:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "a1b2c3",
            }
        ],
    }


@pytest.fixture
def receiver(tmp_path):
    notifications = NotificationLog(tmp_path / "notifications.jsonl")
    server = make_server("127.0.0.1", 0, notifications)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", notifications
    server.shutdown()
    server.server_close()


def test_receiver_records_notifications_and_lists_them(receiver):
    url, notifications = receiver
    assert requests.post(f"{url}/alerts", json=_notification("firing"), timeout=5).status_code == 200
    between = time.time()
    assert requests.post(f"{url}/alerts", json=_notification("resolved"), timeout=5).status_code == 200

    listed = requests.get(f"{url}/alerts", timeout=5).json()
    assert [n["status"] for n in listed] == ["firing", "resolved"]
    assert listed[0]["alerts"][0]["labels"]["stage"] == "upload"
    assert [
        n["status"] for n in requests.get(f"{url}/alerts", params={"since": between}, timeout=5).json()
    ] == ["resolved"]
    assert notifications.path.read_text().count("\n") == 2  # one JSON line each, kept on disk

    metrics = requests.get(f"{url}/metrics", timeout=5).text
    assert 'retailstream_alert_notifications_total{status="firing"} 1.0' in metrics
    assert 'retailstream_alert_notifications_total{status="resolved"} 1.0' in metrics


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"not json", "invalid JSON"),
        (b'{"status": "firing", "alerts": []}', "alerts must be a non-empty list"),
        (b'{"status": "pending", "alerts": [{"labels": {}, "status": "firing"}]}', "status must be one of"),
        (b'{"status": "firing", "alerts": [{"status": "firing"}]}', "labels object"),
    ],
)
def test_receiver_rejects_what_is_not_an_alertmanager_notification(receiver, body, reason):
    url, notifications = receiver
    response = requests.post(
        f"{url}/alerts", data=body, headers={"Content-Type": "application/json"}, timeout=5
    )
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert notifications.read() == []


def _healthy(settings: Settings) -> None:
    pass


def _refusing(settings: Settings) -> None:
    raise ConnectionRefusedError("connection refused")


def _hanging(settings: Settings) -> None:
    time.sleep(3)


def test_probes_report_each_service_and_time_out_a_hanging_one():
    probes = ServiceProbes(
        Settings(), {"rds": _healthy, "s3": _refusing, "hiveserver2": _hanging}, timeout=0.5
    )
    started = time.monotonic()
    results = {r.service: r for r in probes.run()}
    assert time.monotonic() - started < 2  # the hanging check does not hold the scrape
    assert results["rds"].ok and results["rds"].detail == "ok"
    assert not results["s3"].ok and "ConnectionRefusedError" in results["s3"].detail
    assert not results["hiveserver2"].ok and "no answer within" in results["hiveserver2"].detail


def test_probes_are_exposed_as_prometheus_gauges():
    registry = CollectorRegistry()
    registry.register(ServiceProbes(Settings(), {"rds": _healthy, "s3": _refusing}))
    text = generate_latest(registry).decode()
    assert 'retailstream_service_up{service="rds"} 1.0' in text
    assert 'retailstream_service_up{service="s3"} 0.0' in text
    assert 'retailstream_service_probe_duration_seconds{service="rds"}' in text


def test_a_check_still_hanging_is_not_started_again():
    calls = []

    def slow(settings: Settings) -> None:
        calls.append(time.monotonic())
        time.sleep(1)

    probes = ServiceProbes(Settings(), {"hiveserver2": slow}, timeout=0.2)
    assert not probes.run()[0].ok
    assert not probes.run()[0].ok  # the first check is still running: reported down, not re-submitted
    assert len(calls) == 1
    time.sleep(1)
    probes.run()  # the first check has returned: the next scrape checks afresh
    assert len(calls) == 2
