"""The lab's Alertmanager webhook receiver: records every notification it is sent.

Alertmanager POSTs its webhook payload (version 4: ``status``, ``groupLabels``, ``alerts[]`` with
``labels``, ``annotations``, ``startsAt``, ``endsAt``, ``fingerprint``) to ``/alerts``. Each
notification is appended as one JSON line to ``.lab/data/alert-receiver/notifications.jsonl`` with the
time it arrived (``receivedAt``, epoch seconds). Endpoints, on ``settings.bind_host:alert_webhook_port``:

- ``POST /alerts``  record a notification (400 when the body is not an Alertmanager payload)
- ``GET /alerts[?since=EPOCH]``  the recorded notifications, oldest first, as a JSON array
- ``GET /metrics``  ``retailstream_alert_notifications_total{status="firing"|"resolved"}``
- ``GET /-/healthy``

The pipeline's failure notifications (PipelineRunFailed and the other rules in ``prometheus/rules``)
reach people through Alertmanager; in the lab this receiver is where they land.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)

STATUSES = ("firing", "resolved")


def notifications_file(settings: Settings | None = None) -> Path:
    from retailstream.layout import LabLayout

    return LabLayout.of(settings).data / "alert-receiver" / "notifications.jsonl"


class NotificationLog:
    """Append-only JSON-lines record of webhook notifications."""

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def append(self, payload: dict) -> dict:
        record = {"receivedAt": time.time(), **payload}
        line = json.dumps(record, sort_keys=True)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
        return record

    def read(self, since: float = 0.0) -> list[dict]:
        if not self.path.exists():
            return []
        with self._lock:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        records = (json.loads(line) for line in lines if line.strip())
        return [r for r in records if r.get("receivedAt", 0) >= since]


def validate(payload: object) -> str | None:
    """Why ``payload`` is not an Alertmanager webhook notification, or None when it is one."""
    if not isinstance(payload, dict):
        return "body must be a JSON object"
    if payload.get("status") not in STATUSES:
        return f"status must be one of {STATUSES}"
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        return "alerts must be a non-empty list"
    for alert in alerts:
        if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
            return "every alert needs a labels object"
        if alert.get("status") not in STATUSES:
            return f"every alert needs a status in {STATUSES}"
    return None


def make_server(host: str, port: int, notifications: NotificationLog) -> ThreadingHTTPServer:
    registry = CollectorRegistry()
    received = Counter(
        "retailstream_alert_notifications",
        "Alertmanager notifications received, by notification status",
        ["status"],
        registry=registry,
    )
    for status in STATUSES:
        received.labels(status)  # both series exist from the start, at 0

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: HTTPStatus, value: object) -> None:
            self._reply(status, json.dumps(value).encode(), "application/json")

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if urlsplit(self.path).path != "/alerts":
                self._json(HTTPStatus.NOT_FOUND, {"error": "POST notifications to /alerts"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                payload = json.loads(self.rfile.read(length) or b"null")
            except json.JSONDecodeError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": f"invalid JSON: {exc}"})
                return
            problem = validate(payload)
            if problem:
                self._json(HTTPStatus.BAD_REQUEST, {"error": problem})
                return
            notifications.append(payload)
            received.labels(payload["status"]).inc()
            names = sorted({a["labels"].get("alertname", "?") for a in payload["alerts"]})
            log.info("notification %s: %s", payload["status"], ", ".join(names))
            self._json(HTTPStatus.OK, {"recorded": len(payload["alerts"])})

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path == "/alerts":
                try:
                    since = float(parse_qs(url.query).get("since", ["0"])[0])
                except ValueError:
                    self._json(HTTPStatus.BAD_REQUEST, {"error": "since must be epoch seconds"})
                    return
                self._json(HTTPStatus.OK, notifications.read(since))
            elif url.path == "/metrics":
                self._reply(HTTPStatus.OK, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif url.path == "/-/healthy":
                self._reply(HTTPStatus.OK, b"ok\n", "text/plain")
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "GET /alerts, /metrics or /-/healthy"})

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (base class signature)
            log.debug("%s " + format, self.address_string(), *args)

    return ThreadingHTTPServer((host, port), Handler)


def serve(settings: Settings | None = None) -> None:
    """Run the receiver on ``settings.bind_host:settings.alert_webhook_port`` until terminated."""
    s = settings or get_settings()
    server = make_server(s.bind_host, s.alert_webhook_port, NotificationLog(notifications_file(s)))
    log.info("alert receiver on http://%s:%d/alerts", s.bind_host, s.alert_webhook_port)
    server.serve_forever()


def received_notifications(since: float = 0.0, settings: Settings | None = None) -> list[dict]:
    """The notifications the running receiver recorded since ``since`` (epoch seconds)."""
    s = settings or get_settings()
    response = requests.get(f"{s.alert_receiver_url}/alerts", params={"since": since}, timeout=5)
    response.raise_for_status()
    return response.json()
