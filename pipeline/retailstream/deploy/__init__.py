"""What registers the pipeline with AWS-shaped APIs: buckets, queues and the S3 → SQS notification, the
Glue databases, crawlers, job and schedule, the loader Lambda with its package, role, environment and the
Secrets Manager secret it reads. Each request is what real AWS needs (tests validate them against
botocore's service models); the emulators accept the same calls. Only ``lab/``, ``orchestration/`` and
the CLI import this package: a stage never deploys anything."""
