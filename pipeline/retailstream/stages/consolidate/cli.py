"""`retailstream consolidate run`: the consolidation checks on the RDS tables before the transfer."""

from __future__ import annotations

import typer

from retailstream.settings import get_settings

consolidate_app = typer.Typer(no_args_is_help=True, help="Stage 1→3: consolidation checks on the RDS tables.")


@consolidate_app.command("run")
def consolidate_cmd(
    suffix: str = typer.Option("", help="Check the tables named <table><suffix>."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when a check of severity error fires."),
) -> None:
    """Run the consolidation checks, record them in consolidation_report and print them."""
    from rich.console import Console
    from rich.table import Table

    from retailstream.stages.consolidate.report import consolidate

    report = consolidate(get_settings(), suffix=suffix)
    table = Table("table", "check", "severity", "flagged", "of rows", "e.g.", title=f"run {report.run_id}")
    for r in report.results:
        style = {"error": "red", "warning": "yellow"}.get(r.severity, "") if r.rows_flagged else "dim"
        sample = ", ".join(str(tuple(row.values())) for row in r.sample[:3])
        table.add_row(
            r.table, r.check, r.severity, f"{r.rows_flagged:,}", f"{r.rows_checked:,}", sample, style=style
        )
    Console(width=160).print(table)
    if strict and not report.ok:
        raise typer.Exit(1)
