"""`retailstream upload run`: the incoming tree into the raw bucket."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from retailstream.settings import get_settings

upload_app = typer.Typer(no_args_is_help=True, help="Stage 1: upload incoming files to the raw bucket.")


@upload_app.command("run")
@upload_app.command("upload", hidden=True)  # its name before 2026-12
def upload(
    source: Path = typer.Option(None, help="The incoming tree (default: <datasets_dir>/incoming)."),
    bucket: str = typer.Option(None, help="Target bucket (default: the raw bucket)."),
    prefix: str = typer.Option("", help="Key prefix in front of sales/, stores/, store_traffic/."),
    workers: int = typer.Option(None, min=1, help="Parallel uploads (default: settings.upload_workers)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run manifest as JSON."),
) -> None:
    """Upload sales, stores and store_traffic files: checksummed, verified, retried, idempotent."""
    import logging

    from rich.console import Console

    from retailstream.stages.upload.upload import UploadError, upload_incoming

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    console = Console(stderr=True)
    try:
        report = upload_incoming(
            get_settings(), source=source, bucket=bucket, prefix=prefix, workers=workers, progress=not as_json
        )
    except UploadError as exc:
        console.print(f"[red]upload failed:[/red] {exc}")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    console.print(
        f"{len(report.files)} files: {report.uploaded} uploaded "
        f"({report.bytes_uploaded / 2**20:.1f} MB), {report.skipped} already there, "
        f"{report.failed} failed in {report.seconds:.1f}s; manifest s3://{report.bucket}/{report.manifest_key}"
    )
