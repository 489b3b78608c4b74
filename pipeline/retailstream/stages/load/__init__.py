"""Stage 1, load: curated S3 objects → RDS through the Lambda handler (``handler.handler(event, context)``).
``retailstream.deploy.lambda_function`` deploys it; ``retailstream.emulation.sqs_event_source`` delivers
the S3 events to it where the emulator cannot run a function."""
