"""The Lambda function ``retail-load-rds``: ``handler(event, context)``.

Accepts a direct S3 event (``Records[].s3``) and an SQS event whose messages carry S3 notifications
(the "Lambda with an SQS event source" pattern, what the lab's events-runner delivers). Keys arrive
URL-encoded (``%2F``, ``+``) and are decoded with ``unquote_plus``; S3 test events are ignored; the same
(bucket, key, ETag) twice in one batch or within a minute — moto sends an extra ``ObjectCreated:Put``
after every multipart completion — is loaded once. ``ObjectCreated`` and ``ObjectRemoved`` events are
handled alike: the object's RDS rows are made what the object holds now (none once it is gone), so
events that arrive out of order still end in the bucket's state.

For an SQS batch the handler returns ``{"batchItemFailures": [...]}`` (ReportBatchItemFailures), so only
the failed messages are retried — a message that is not an S3 notification fails alone; a direct S3
event that fails raises.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import unquote_plus

from retailstream import clients
from retailstream.settings import get_settings
from retailstream.stages.load.rds_loader import DATASET_ORDER, connect, dataset_of, load_object

log = logging.getLogger(__name__)

RECENT_SECONDS = 60
_recent: OrderedDict[tuple[str, str, str], float] = OrderedDict()
# Kept warm between invocations, as a Lambda container keeps its module state.
_state: dict = {}


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    etag: str
    message_id: str | None  # the SQS message that carried it, None for a direct S3 event


class MalformedMessage(ValueError):
    def __init__(self, message_id: str | None, reason: str):
        super().__init__(f"SQS message {message_id}: {reason}")
        self.message_id = message_id


def s3_objects(event: dict) -> tuple[list[S3Object], list[MalformedMessage]]:
    """The objects named by a direct S3 event or an SQS-wrapped one (test events skipped), and the SQS
    messages that carry no readable S3 notification."""
    found, malformed = [], []
    for record in event.get("Records", []):
        if record.get("eventSource") == "aws:sqs":
            message_id = record.get("messageId")
            try:
                body = json.loads(record.get("body") or "")
                inner = body.get("Records", []) if isinstance(body, dict) else None
                if inner is None and body.get("Event") != "s3:TestEvent":
                    raise MalformedMessage(message_id, "not an S3 notification")
                found += [_object(r, message_id) for r in inner or [] if _is_object_event(r)]
            except MalformedMessage as error:
                malformed.append(error)
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                malformed.append(MalformedMessage(message_id, f"unreadable S3 notification ({error!r:.200})"))
        elif _is_object_event(record):
            found.append(_object(record, None))
    return found, malformed


def _is_object_event(record: dict) -> bool:
    name = str(record.get("eventName", ""))
    return "s3" in record and name.startswith(("ObjectCreated", "ObjectRemoved"))


def _object(record: dict, message_id: str | None) -> S3Object:
    s3 = record["s3"]
    return S3Object(
        bucket=s3["bucket"]["name"],
        key=unquote_plus(s3["object"]["key"]),
        # a removal carries no ETag: it is never mistaken for a duplicate of a load
        etag=str(s3["object"].get("eTag", "")).strip('"'),
        message_id=message_id,
    )


def _seen_recently(obj: S3Object) -> bool:
    now = time.monotonic()
    while _recent and next(iter(_recent.values())) < now - RECENT_SECONDS:
        _recent.popitem(last=False)
    return (obj.bucket, obj.key, obj.etag) in _recent


def _connection(settings):
    conn = _state.get("conn")
    if conn is not None:
        try:
            conn.ping(reconnect=False)
            return conn
        except Exception:  # a dead connection is replaced, whatever killed it
            _state.pop("conn", None)
    conn = _state["conn"] = connect(settings)
    return conn


def _load_reference_data(bucket: str, settings, s3) -> list[dict]:
    """Stores are reference data for sales and traffic (their foreign key): whatever order the events
    arrive in — after an outage a whole backlog comes at once — load the bucket's current stores object
    before them. ``load_object`` skips an object whose ETag is already loaded, so this is cheap."""
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{settings.stores_prefix}/")
    reports = []
    for item in listing.get("Contents", []):
        try:
            report = load_object(bucket, item["Key"], conn=_connection(settings), s3=s3, settings=settings)
        except Exception as error:  # rows of unknown stores are then quarantined, as without this step
            log.error("load.reference_failed key=%s error=%s", item["Key"], error)
            continue
        if report.status == "loaded":
            reports.append(report.to_dict())
    return reports


def handler(event: dict, context=None) -> dict:
    settings = get_settings()
    records = event.get("Records", [])
    from_sqs = bool(records) and all(r.get("eventSource") == "aws:sqs" for r in records)
    objects, malformed = s3_objects(event)
    if malformed and not from_sqs:
        raise malformed[0]
    # Stores first: sales and traffic rows need their store to exist.
    objects.sort(key=lambda o: DATASET_ORDER.index(dataset_of(o.key, settings) or "sales"))
    if "s3" not in _state:
        _state["s3"] = clients.aws_client("s3", settings)
    s3 = _state["s3"]
    results = [{"message": m.message_id, "status": "failed", "error": str(m)} for m in malformed]
    failed = [m.message_id for m in malformed]
    for error in malformed:
        log.error("load.malformed_message %s", error)
    for bucket in sorted({o.bucket for o in objects if dataset_of(o.key, settings) not in (None, "stores")}):
        results += _load_reference_data(bucket, settings, s3)
    for obj in objects:
        if obj.message_id in failed:
            continue
        if obj.etag and _seen_recently(obj):
            results.append({"bucket": obj.bucket, "key": obj.key, "etag": obj.etag, "status": "duplicate"})
            continue
        try:
            report = load_object(obj.bucket, obj.key, conn=_connection(settings), s3=s3, settings=settings)
        except Exception as error:
            if not from_sqs:
                raise
            log.error("load.failed key=%s message=%s error=%s", obj.key, obj.message_id, error)
            failed.append(obj.message_id)
            results.append({"bucket": obj.bucket, "key": obj.key, "status": "failed", "error": str(error)})
            continue
        if report.etag:
            _recent[(obj.bucket, obj.key, report.etag)] = time.monotonic()
        results.append(report.to_dict())
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed], "results": results}


def retract_vanished(settings) -> list[dict]:
    """Make RDS forget the objects that are loaded but no longer in the curated bucket. Removal events
    can be lost — an emulator restart forgets every object without sending one — so the pipeline checks
    after each drain that RDS holds nothing the bucket does not."""
    from retailstream.s3util import iter_objects

    if "s3" not in _state:
        _state["s3"] = clients.aws_client("s3", settings)
    s3 = _state["s3"]
    present = {o["Key"] for o in iter_objects(s3, settings.curated_bucket, "")}
    with clients.rds_cursor("analyst", settings=settings) as cur:
        # '' = loaded before the audit recorded buckets: then only the curated bucket sent events
        cur.execute(
            "SELECT source_key FROM load_audit WHERE source_bucket IN (%s, '')", (settings.curated_bucket,)
        )
        loaded = [key for (key,) in cur.fetchall()]
    vanished = sorted(key for key in loaded if key not in present and dataset_of(key, settings))
    # Children before stores: a retracted store takes its sales along anyway.
    vanished.sort(key=lambda key: -DATASET_ORDER.index(dataset_of(key, settings)))
    reports = []
    for key in vanished:
        report = load_object(
            settings.curated_bucket, key, conn=_connection(settings), s3=s3, settings=settings
        )
        reports.append(report.to_dict())
    return reports
