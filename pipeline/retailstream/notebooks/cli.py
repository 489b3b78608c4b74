"""`retailstream notebooks run RUN_ID`."""

from __future__ import annotations

import typer

notebooks_app = typer.Typer(no_args_is_help=True, help="The notebooks, executed against a pipeline run.")


@notebooks_app.command()
def run(run_id: str = typer.Argument(..., help="An Airflow run id or its reports/ folder name.")) -> None:
    """Execute every notebook against the run's Hive tables into reports/<run>/notebooks/ (.ipynb + .html)."""
    from retailstream.notebooks.execute import NotebookError, run_notebooks

    try:
        executed = run_notebooks(run_id)
    except NotebookError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    for notebook in executed:
        typer.echo(f"{notebook.name}: {notebook.charts} charts in {notebook.seconds:.0f}s → {notebook.html}")
