"""`retailstream load …`: package and register the loader, run its SQS event source, drain the queue."""

from __future__ import annotations

import json

import typer

load_app = typer.Typer(no_args_is_help=True, help="Stage 1: the RDS loader Lambda and its event source.")


def _logging(level: str = "INFO") -> None:
    import logging

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@load_app.command("deploy")
def deploy() -> None:
    """Build the deployment zip and CreateFunction (or update the code when it changed)."""
    from retailstream.deploy.lambda_function import deploy_function

    config = deploy_function()
    typer.echo(
        f"{config['FunctionName']}: {config['Runtime']} handler={config['Handler']} "
        f"code={config['CodeSize']} bytes sha256={config['CodeSha256']}"
    )


@load_app.command("package")
def package(out: str = typer.Argument("retail-load-rds.zip", help="Where to write the zip.")) -> None:
    """Write the deployment zip to a file (for inspection or a real AWS deploy)."""
    from pathlib import Path

    from retailstream.deploy.lambda_function import function_zip

    data = function_zip()
    Path(out).write_bytes(data)
    typer.echo(f"{out}: {len(data)} bytes")


@load_app.command("run-events")
def run_events(
    metrics_port: int = typer.Option(
        None, help="Prometheus port (default: settings.events_runner_metrics_port)."
    ),
) -> None:
    """Poll the curated-events queue forever and invoke the handler (the lab's events-runner service)."""
    from retailstream.emulation.sqs_event_source import serve

    _logging()
    serve(metrics_port=metrics_port)


@load_app.command("drain")
def drain_cmd(timeout: float = typer.Option(300, help="Seconds to wait for an empty queue.")) -> None:
    """Wait until every curated event was handled; print what was loaded."""
    from retailstream.emulation.sqs_event_source import DrainTimeout, drain

    _logging("WARNING")
    try:
        report = drain(timeout)
    except DrainTimeout as error:
        typer.echo(f"drain timed out: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(report.to_dict(), indent=2))


@load_app.command("invoke")
def invoke(key: str, bucket: str = typer.Option(None, help="Default: the curated bucket.")) -> None:
    """Call the handler with a direct S3 event for one object (no queue involved)."""
    from retailstream.settings import get_settings
    from retailstream.stages.load.handler import handler

    _logging("WARNING")
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket or get_settings().curated_bucket}, "object": {"key": key}},
            }
        ]
    }
    typer.echo(json.dumps(handler(event, None), indent=2, default=str))


@load_app.command("dlq")
def dlq(
    purge: bool = typer.Option(False, help="Delete what is in the dead-letter queue."),
    redrive: bool = typer.Option(False, help="Move every parked message back to the events queue."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per message."),
) -> None:
    """List the messages parked in the dead-letter queue (all of them), purge them, or redrive them to
    the events queue once the cause is fixed (e.g. a bad object replaced)."""
    from retailstream.settings import get_settings
    from retailstream.stages.load.dlq import parked_messages, purge_dlq, redrive_dlq

    s = get_settings()
    if purge:
        typer.echo(f"purged {purge_dlq(s)} message(s) from {s.events_dlq}")
        return
    if redrive:
        typer.echo(f"moved {redrive_dlq(s)} message(s) from {s.events_dlq} back to {s.events_queue}")
        return
    for parked in parked_messages(s):
        if as_json:
            typer.echo(json.dumps(parked.to_dict()))
        else:
            where = ", ".join(parked.objects) or f"(unreadable: {parked.problem})"
            typer.echo(f"{parked.message_id}  receives={parked.receives}  {where}")
