"""`retailstream` command line: one sub-command group per stage, all thin calls into the package."""

from __future__ import annotations

import json

import typer

from retailstream.bench.cli import bench_app
from retailstream.datasets.cli import data_app
from retailstream.lab.cli import app as lab_app
from retailstream.monitoring.cli import monitoring_app
from retailstream.notebooks.cli import notebooks_app
from retailstream.orchestration.cli import pipeline_app
from retailstream.rds.cli import rds_app
from retailstream.settings import ensure_env_file, get_settings
from retailstream.stages.clean.cli import clean_app
from retailstream.stages.consolidate.cli import consolidate_app
from retailstream.stages.crawl.cli import crawl_app
from retailstream.stages.features.cli import features_app
from retailstream.stages.load.cli import load_app
from retailstream.stages.transfer.cli import transfer_app
from retailstream.stages.upload.cli import upload_app
from retailstream.stages.usecases.cli import usecases_app
from retailstream.walkthrough.cli import walkthrough_app

app = typer.Typer(no_args_is_help=True, help="RetailStream: a retail data pipeline on real engines.")
app.add_typer(lab_app, name="lab")
app.add_typer(data_app, name="data")
app.add_typer(bench_app, name="bench")
app.add_typer(monitoring_app, name="monitoring")
# One group per stage, named as the stage's package and steps (retailstream.steps).
app.add_typer(upload_app, name="upload")
app.add_typer(crawl_app, name="crawl")
app.add_typer(clean_app, name="clean")
app.add_typer(load_app, name="load")
app.add_typer(features_app, name="features")
app.add_typer(consolidate_app, name="consolidate")
app.add_typer(transfer_app, name="transfer")
app.add_typer(usecases_app, name="usecases")
app.add_typer(rds_app, name="rds")
# The groups' names before 2026-12, kept hidden for one release.
for old_name, group in (
    ("ingest", upload_app),
    ("catalog", crawl_app),
    ("glue", clean_app),
    ("lambda", load_app),
):
    app.add_typer(group, name=old_name, hidden=True)
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(notebooks_app, name="notebooks")
app.add_typer(walkthrough_app, name="walkthrough")
quarantine_app = typer.Typer(no_args_is_help=True, help="Every stage's rejected rows: where from and why.")
app.add_typer(quarantine_app, name="quarantine")


def _print_rejects(rejects, as_json: bool, limit: int | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from retailstream.quarantine import summary

    if as_json:
        for reject in rejects[:limit]:
            typer.echo(json.dumps(reject.to_dict()))
        return
    counts = ", ".join(f"{stage} {count:,}" for stage, count in summary(rejects).items())
    table = Table(title=f"Quarantined rows — {counts}", show_lines=False)
    for column in ("stage", "source", "line", "reason", "raw", "run"):
        table.add_column(column, overflow="fold")
    for r in rejects[:limit]:
        table.add_row(r.stage, r.source, "-" if r.line is None else str(r.line), r.reason, r.raw[:80], r.run)
    Console().print(table)
    if limit is not None and len(rejects) > limit:
        typer.echo(f"… {len(rejects) - limit:,} more (--limit 0 lists all, --json for tools)")


@quarantine_app.command("list")
def quarantine_list(
    stage: list[str] = typer.Option(None, help="clean, load or features_hive (default: all)"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per rejected row."),
    limit: int = typer.Option(50, help="At most this many rows (0: all)."),
) -> None:
    """Every rejected row of every stage, with file, line, reason and run."""
    from retailstream.quarantine import STAGES, list_rejects

    unknown = set(stage or []) - set(STAGES)
    if unknown:
        raise typer.BadParameter(f"unknown stage(s) {sorted(unknown)}; one of {', '.join(STAGES)}")
    _print_rejects(list_rejects(get_settings(), stage or STAGES), as_json, limit or None)


@quarantine_app.command("show")
def quarantine_show(
    source: str = typer.Argument(..., help="A file or object name, or part of it"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per rejected row."),
) -> None:
    """The rejected rows of the files whose name contains SOURCE."""
    from retailstream.quarantine import list_rejects

    found = [r for r in list_rejects(get_settings()) if source in r.source]
    if not found:
        raise typer.Exit(f"no rejected rows from a source matching {source!r}") from None
    _print_rejects(found, as_json, None)


@app.command()
def settings(
    show_secrets: bool = typer.Option(False, help="Print secret values too."),
    example: bool = typer.Option(False, help="Print the text of .env.example instead."),
) -> None:
    """Print the effective settings (secrets masked)."""
    if example:
        from retailstream.settings import env_example

        typer.echo(env_example(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("setting", "value")
    for name, value in get_settings().model_dump().items():
        shown = value.get_secret_value() if show_secrets and hasattr(value, "get_secret_value") else value
        table.add_row(name, str(shown))
    Console().print(table)


@app.command("secrets")
def secrets_cmd() -> None:
    """Generate missing credentials into the ignored .env (idempotent)."""
    added = ensure_env_file()
    typer.echo(f"generated: {', '.join(added)}" if added else ".env already complete")


def main() -> None:  # pragma: no cover - console entry point
    app()
