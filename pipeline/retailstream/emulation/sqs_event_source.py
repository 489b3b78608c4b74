"""The event-source runner: SQS → the Lambda handler, as AWS's "Lambda with an SQS event source" does.

Emulated Lambda cannot execute code without Docker, so this long-running lab service (``events-runner``)
polls the curated-events queue, hands each batch to the function's configured ``handler(event,
context)`` as an SQS event, deletes the messages that succeeded and gives the failed ones a short
exponential visibility backoff (1 s, 2 s, 4 s…) instead of the queue's 120 s, so retries come quickly.
After ``maxReceiveCount`` receives SQS's redrive policy moves a poison message to the dead-letter
queue; the others keep flowing. Metrics for Prometheus are served on ``/metrics``.

``drain(timeout)`` is the DAG's synchronisation point: it returns once the queue holds no visible or
in-flight message, with what was loaded (from ``load_audit``).
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
import time
import uuid
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from retailstream import clients
from retailstream.monitoring.metrics import StageReport, stage_run
from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)

BATCH_SIZE = 10
MAX_BACKOFF_SECONDS = 60
RDS_OUTAGE_GRACE_SECONDS = 30

REGISTRY = CollectorRegistry()
MESSAGES = Counter("retailstream_events_messages", "SQS messages handled", ["outcome"], registry=REGISTRY)
OBJECTS = Counter("retailstream_events_objects", "S3 objects seen in events", ["status"], registry=REGISTRY)
ROWS_LOADED = Counter(
    "retailstream_events_rows_loaded", "rows loaded into RDS", ["dataset"], registry=REGISTRY
)
ROWS_QUARANTINED = Counter(
    "retailstream_events_rows_quarantined", "rows sent to load_quarantine", ["dataset"], registry=REGISTRY
)
LAST_EVENT = Gauge(
    "retailstream_events_last_event_timestamp_seconds",
    "when the last message was received",
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "retailstream_events_last_success_timestamp_seconds",
    "when a message was last handled successfully",
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "retailstream_events_queue_messages", "messages in a queue", ["queue", "state"], registry=REGISTRY
)
SERVED_QUEUE = Gauge(
    "retailstream_events_runner_queue", "1 for the queue this runner consumes", ["queue"], registry=REGISTRY
)
BATCH_SECONDS = Histogram(
    "retailstream_events_batch_duration_seconds", "handler time per batch", registry=REGISTRY
)


class LambdaContext:
    """What a Lambda handler gets as ``context``."""

    def __init__(self, function_name: str, timeout_seconds: int):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 1024
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def resolve_handler(settings: Settings | None = None):
    """The function's configured handler (``module.attr``), imported; the deployed default when the
    function is not registered (moto forgets it on restart until `lab up` registers it again)."""
    from retailstream.deploy.lambda_function import HANDLER, configured_handler

    try:
        path = configured_handler(settings)
    except Exception as error:  # unreachable API or unknown function: same code, default path
        log.warning("events.handler function not found (%s); using %s", error, HANDLER)
        path = HANDLER
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


class RdsUnavailable(ConnectionError):
    """RDS cannot be reached: the runner leaves messages queued instead of burning their retries."""


def rds_reachable(settings: Settings) -> str | None:
    """None when RDS answers, else why not."""
    try:
        clients.rds_connect("pipeline", settings=settings, connect_timeout=2).close()
        return None
    except Exception as exc:  # pymysql raises several types for an unreachable server
        return f"{exc.__class__.__name__}: {exc}"


class EventSourceRunner:
    def __init__(self, settings: Settings | None = None, handler=None):
        self.settings = s = settings or get_settings()
        self.sqs = clients.aws_client("sqs", s)
        self.queue_url = self.sqs.get_queue_url(QueueName=s.events_queue)["QueueUrl"]
        self.dlq_url = self.sqs.get_queue_url(QueueName=s.events_dlq)["QueueUrl"]
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.handler = handler or resolve_handler(s)

    def poll_once(self, wait_seconds: int = 5) -> int:
        """Receive one batch, invoke the handler, settle every message; returns how many were received.

        With RDS down nothing is received: every receive counts towards the DLQ redrive, and an outage
        must not send good files there (circuit breaker)."""
        if problem := rds_reachable(self.settings):
            raise RdsUnavailable(
                f"RDS {self.settings.rds_host}:{self.settings.rds_port} unreachable: {problem}"
            )
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        LAST_EVENT.set_to_current_time()
        event = {"Records": [self._lambda_record(m) for m in messages]}
        context = LambdaContext(self.settings.lambda_function_name, 120)
        started = time.monotonic()
        try:
            result = self.handler(event, context) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            log.exception("events.handler_error messages=%d", len(messages))
            result, failed = {}, {m["MessageId"] for m in messages}
        BATCH_SECONDS.observe(time.monotonic() - started)
        for report in result.get("results", []):
            OBJECTS.labels(report.get("status", "?")).inc()
            if report.get("status") == "loaded":
                ROWS_LOADED.labels(report["dataset"]).inc(report["rows_loaded"])
                ROWS_QUARANTINED.labels(report["dataset"]).inc(report["rows_quarantined"])
        for message in messages:
            if message["MessageId"] in failed:
                self._back_off(message)
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                MESSAGES.labels("processed").inc()
                LAST_SUCCESS.set_to_current_time()
        return len(messages)

    def _lambda_record(self, message: dict) -> dict:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.settings.aws_region,
        }

    def _back_off(self, message: dict) -> None:
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        delay = min(2 ** (receives - 1), MAX_BACKOFF_SECONDS)
        self.sqs.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
        )
        MESSAGES.labels("failed").inc()
        log.warning(
            "events.retry message=%s receives=%d visible_again_in=%ds", message["MessageId"], receives, delay
        )

    def depth(self, queue_url: str | None = None) -> dict[str, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url or self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            "delayed": int(attributes["ApproximateNumberOfMessagesDelayed"]),
        }

    def update_depth_gauges(self) -> None:
        for queue, url in (("events", self.queue_url), ("dlq", self.dlq_url)):
            for state, count in self.depth(url).items():
                QUEUE_DEPTH.labels(queue, state).set(count)


def serve(settings: Settings | None = None, metrics_port: int | None = None) -> None:
    """Poll forever (until SIGTERM/SIGINT), serving Prometheus metrics on 127.0.0.1."""
    from prometheus_client import start_http_server

    from retailstream.rds.schema import ensure_schema

    s = settings or get_settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    SERVED_QUEUE.labels(s.events_queue).set(1)
    start_http_server(metrics_port or s.events_runner_metrics_port, addr=s.bind_host, registry=REGISTRY)
    log.info("events.serve queue=%s metrics=%s:%d", s.events_queue, s.bind_host, s.events_runner_metrics_port)
    runner, pause, last_depth = None, 1.0, 0.0
    while not stop.is_set():
        try:
            if runner is None:
                ensure_schema(s)
                runner = EventSourceRunner(s)
            if time.monotonic() - last_depth > 10:
                runner.update_depth_gauges()
                last_depth = time.monotonic()
            runner.poll_once(wait_seconds=5)
            pause = 1.0
        except Exception:  # the emulator or the database restarting: wait and start over
            log.exception("events.poll_error; retrying in %.0fs", pause)
            runner = None
            stop.wait(pause)
            pause = min(pause * 2, 30)


class DrainTimeout(TimeoutError):
    pass


def runner_service_consumes(settings: Settings | None = None) -> bool:
    """Whether the events-runner service is up and consuming this settings' queue (a namespace's
    queue has no service of its own: its drain consumes in-process)."""
    import requests

    s = settings or get_settings()
    try:
        response = requests.get(f"{s.events_runner_url}/metrics", timeout=2)
    except requests.RequestException:
        return False
    return (
        response.ok and f'retailstream_events_runner_queue{{queue="{s.events_queue}"}} 1.0' in response.text
    )


def drain(
    timeout: float = 300,
    settings: Settings | None = None,
    *,
    since: datetime | None = None,
    keys: list[str] | None = None,
) -> StageReport:
    """Wait until the curated-events queue is empty (nothing visible, in flight or delayed); when the
    events-runner service is not running, consume the queue here instead. Returns the ``load`` step's
    report: what ``load_audit`` records for ``keys``, else for everything loaded since ``since`` (default:
    when this call began); ``details`` holds the objects, the DLQ depth and the rows per dataset."""
    s = settings or get_settings()
    with stage_run("load", s) as run:
        began = time.monotonic()
        since = since or datetime.now(UTC)
        consume = not runner_service_consumes(s)
        runner = EventSourceRunner(s, handler=None if consume else _never_called)
        quiet, rds_down_since = 0, None
        while quiet < 2:  # two empty looks in a row: nothing was between receive and delete
            if consume:
                runner.poll_once(wait_seconds=1)
            depth = runner.depth()
            quiet = quiet + 1 if not any(depth.values()) else 0
            if not consume and not quiet and (problem := rds_reachable(s)):
                # The service holds back while RDS is down; report the outage instead of waiting it out.
                rds_down_since = rds_down_since or time.monotonic()
                if time.monotonic() - rds_down_since > RDS_OUTAGE_GRACE_SECONDS:
                    raise RdsUnavailable(f"RDS unreachable for {RDS_OUTAGE_GRACE_SECONDS}s: {problem}")
            else:
                rds_down_since = None
            if time.monotonic() - began > timeout:
                raise DrainTimeout(f"{s.events_queue} still holds {depth} after {timeout:.0f}s")
            if not consume or quiet:
                time.sleep(0.25)
        _loaded_since(s, since, keys, run)
        run.details["consumed_here"] = consume
        run.details["dlq_messages"] = sum(runner.depth(runner.dlq_url).values())
    log.info("events.drained %s", run.to_dict())
    return run


def _never_called(event, context):  # the service consumes; this process only watches the queue
    raise AssertionError("drain must not invoke the handler while the events-runner service runs")


def _loaded_since(s: Settings, since: datetime, keys: list[str] | None, run: StageReport) -> None:
    if keys:
        marks = ",".join(["%s"] * len(keys))
        where, params = f"source_key IN ({marks})", list(keys)
    else:
        where, params = "UNIX_TIMESTAMP(loaded_at) >= %s", [since.timestamp()]
    with clients.rds_cursor("pipeline", settings=s) as cur:
        cur.execute(
            "SELECT dataset, COUNT(*), SUM(rows_in), SUM(rows_loaded), SUM(rows_quarantined), "
            f"SUM(rows_duplicate) FROM load_audit WHERE {where} GROUP BY dataset",
            params,
        )
        rows = cur.fetchall()
    by_dataset = {}
    for dataset, objects, rows_in, loaded, quarantined, duplicate in rows:
        by_dataset[dataset] = {"objects": objects, "rows_loaded": int(loaded)}
        run.rows_in += int(rows_in)
        run.rows_out += int(loaded)
        run.rows_quarantined += int(quarantined)
        run.rows_duplicate += int(duplicate)
    run.details.update(objects=sum(d["objects"] for d in by_dataset.values()), by_dataset=by_dataset)
