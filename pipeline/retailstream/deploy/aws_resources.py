"""AWS resources the pipeline expects: buckets, the curated-events queue with its DLQ, the S3 → SQS
notification and the Glue databases. Created idempotently: moto keeps state in memory, so `lab up`
(and every moto restart) runs this again. Against real AWS the same calls provision a dev account."""

from __future__ import annotations

import contextlib
import json

from botocore.exceptions import ClientError

from retailstream import clients
from retailstream.settings import Settings


def ensure_bucket(s3, name: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=name)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
    kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **kwargs)


def ensure_queues(sqs, s: Settings) -> tuple[str, str]:
    """The events queue and its dead-letter queue; returns (queue_url, queue_arn)."""
    dlq_url = sqs.create_queue(QueueName=s.events_dlq, Attributes={"MessageRetentionPeriod": "1209600"})[
        "QueueUrl"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(QueueName=s.events_queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "curated-bucket-notifications",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{s.curated_bucket}"}},
            }
        ],
    }
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            # Visibility timeout above the loader's worst case so a message is not handled twice at once.
            "VisibilityTimeout": "120",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(s.events_max_receive_count)}
            ),
            "Policy": json.dumps(policy),
        },
    )
    return queue_url, queue_arn


def ensure_role(iam, arn: str, service: str) -> None:
    """The execution role a Lambda function or Glue job runs as (moto checks that it exists)."""
    name = arn.rsplit("/", 1)[-1]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))


def ensure_stage1_resources(s: Settings) -> None:
    """Stage 1's Glue crawlers, job and schedule, and the loader Lambda (moto forgets them on restart)."""
    from retailstream.deploy.glue_crawlers import register_crawlers
    from retailstream.deploy.glue_job import register_job
    from retailstream.deploy.lambda_function import deploy_function

    iam = clients.aws_client("iam", s)
    ensure_role(iam, s.lambda_role_arn, "lambda.amazonaws.com")
    ensure_role(iam, s.glue_role_arn, "glue.amazonaws.com")
    deploy_function(s)
    register_crawlers(s)
    register_job(s)


def ensure_aws_resources(s: Settings) -> None:
    s3 = clients.aws_client("s3", s)
    for bucket in (s.raw_bucket, s.curated_bucket, s.quarantine_bucket):
        ensure_bucket(s3, bucket, s.aws_region)
    _, queue_arn = ensure_queues(clients.aws_client("sqs", s), s)
    s3.put_bucket_notification_configuration(
        Bucket=s.curated_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                # Removals too: a retracted curated object takes its rows out of RDS.
                {
                    "Id": "curated-to-loader",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                }
            ]
        },
    )
    glue = clients.aws_client("glue", s)
    for database, description in (
        (s.glue_raw_database, "Raw sales files as delivered by the stores"),
        (s.glue_curated_database, "Cleaned, merged sales (Parquet)"),
    ):
        with contextlib.suppress(glue.exceptions.AlreadyExistsException):
            glue.create_database(DatabaseInput={"Name": database, "Description": description})
    ensure_stage1_resources(s)
