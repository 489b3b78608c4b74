"""`retailstream usecases run|report`."""

from __future__ import annotations

import typer

from retailstream.settings import get_settings

usecases_app = typer.Typer(no_args_is_help=True, help="The ten business use cases → RDS, files, HTML report.")


@usecases_app.command()
def run(
    database: str = typer.Option(None, "--database", help="Hive database to read (default: settings)"),
    run_id: str = typer.Option(None, "--run-id", help="names reports/<run-id>/ (default: UTC timestamp)"),
    table_prefix: str = typer.Option("", "--table-prefix", help="prefix of the RDS reporting tables"),
    report: bool = typer.Option(True, "--report/--no-report", help="also render report.html"),
) -> None:
    """Compute all ten use cases from Hive; publish RDS tables, Parquet/CSV files and the HTML report."""
    from rich.console import Console
    from rich.table import Table

    from retailstream.stages.usecases.job import publish_use_cases, render_report
    from retailstream.stages.usecases.source import MissingInputError

    try:
        result = publish_use_cases(
            get_settings(), database=database, run_id=run_id, table_prefix=table_prefix
        )
    except (MissingInputError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    table = Table("result", "rows", "RDS table", title=f"run {result.run_id} from Hive {result.database}")
    for name, rows in result.rows.items():
        table.add_row(name, f"{rows:,}", result.rds_tables[name])
    console = Console()
    console.print(table)
    if not result.has_store_traffic:
        console.print("no store_traffic table: UC1 reports average weekly sales (labelled), not visits")
    console.print(f"files: {result.run_dir}")
    if report:
        console.print(f"report: {render_report(get_settings(), result.run_id)}")


@usecases_app.command("report")
def report_cmd(
    run_id: str = typer.Option(None, "--run-id", help="the run to render (default: reports/latest)"),
) -> None:
    """(Re-)render report.html of a published run (default: the latest) from its files."""
    from retailstream.stages.usecases.job import render_report

    try:
        typer.echo(f"report: {render_report(get_settings(), run_id)}")
    except (FileNotFoundError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
