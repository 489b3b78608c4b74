"""The events dead-letter queue: list what is parked there, purge it, or redrive it to the events queue.

Listing receives every message (SQS hands out at most 10 per call) while hiding what it has seen, then
makes them all visible again, so a listing consumes nothing. A body that is not an S3 notification is
listed with the reason instead of breaking the listing. Redrive is a receive → send → delete per message
(the emulator has no StartMessageMoveTask); the new message carries the same body.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from retailstream import clients
from retailstream.settings import Settings

HIDE_SECONDS = 30  # long enough to list a queue of thousands; visibility is reset at the end anyway


@dataclass
class ParkedMessage:
    message_id: str
    receives: int
    objects: list[str] = field(default_factory=list)  # s3://bucket/key of each S3 event it carries
    problem: str = ""  # why it is not a readable S3 notification
    body: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _queue_url(sqs, name: str) -> str:
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def _receive_all(sqs, url: str) -> list[dict]:
    seen: dict[str, dict] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=HIDE_SECONDS, AttributeNames=["All"]
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return list(seen.values())
        seen.update((m["MessageId"], m) for m in fresh)


def parked_messages(settings: Settings) -> list[ParkedMessage]:
    from retailstream.stages.load.handler import s3_objects

    sqs = clients.aws_client("sqs", settings)
    url = _queue_url(sqs, settings.events_dlq)
    messages = _receive_all(sqs, url)
    parked = []
    try:
        for message in messages:
            record = {"eventSource": "aws:sqs", "messageId": message["MessageId"], "body": message["Body"]}
            objects, malformed = s3_objects({"Records": [record]})
            parked.append(
                ParkedMessage(
                    message_id=message["MessageId"],
                    receives=int(message.get("Attributes", {}).get("ApproximateReceiveCount", "0")),
                    objects=[f"s3://{o.bucket}/{o.key}" for o in objects],
                    problem="; ".join(str(m) for m in malformed),
                    body=message["Body"][:2000],
                )
            )
    finally:
        for message in messages:  # listed, not consumed
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return parked


def purge_dlq(settings: Settings) -> int:
    sqs = clients.aws_client("sqs", settings)
    url = _queue_url(sqs, settings.events_dlq)
    messages = _receive_all(sqs, url)
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


def redrive_dlq(settings: Settings) -> int:
    sqs = clients.aws_client("sqs", settings)
    dlq_url, queue_url = _queue_url(sqs, settings.events_dlq), _queue_url(sqs, settings.events_queue)
    messages = _receive_all(sqs, dlq_url)
    for message in messages:
        sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)
