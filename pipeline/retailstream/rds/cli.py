"""``retailstream rds schema``: the RDS database's tables and views."""

from __future__ import annotations

import typer

from retailstream.stages.consolidate.cli import consolidate_cmd

rds_app = typer.Typer(no_args_is_help=True, help="RDS (MariaDB): the schema.")


@rds_app.command("schema")
def schema_cmd() -> None:
    """Create the RDS tables and views (idempotent)."""
    from retailstream.rds.schema import ensure_schema

    ensure_schema()
    typer.echo("RDS schema is up to date")


rds_app.command("consolidate", hidden=True)(consolidate_cmd)  # its name before 2026-12
