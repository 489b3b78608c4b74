"""Stage 1, load: curated S3 objects → RDS through the Lambda handler and its SQS event source
(``handler.handler(event, context)``, ``events.drain``, ``package.deploy_function``)."""
