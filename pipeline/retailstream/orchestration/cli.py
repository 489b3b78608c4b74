"""`retailstream pipeline run|trigger|demo`."""

from __future__ import annotations

import time

import typer
from rich.console import Console

pipeline_app = typer.Typer(no_args_is_help=True, help="Run the whole pipeline (in-process or via Airflow).")


@pipeline_app.command()
def run(
    run_id: str = typer.Option("", help="Names the use-case report folder (default: a timestamp)."),
) -> None:
    """Every step in dependency order in this process, without Airflow (same functions as the DAG)."""
    from retailstream.orchestration.stages import run_pipeline

    console = Console()
    results = run_pipeline(
        run_id or f"local__{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}",
        on_step=lambda name, state: console.print(f"{name}: {state}"),
    )
    console.print(results["usecases_report"])


@pipeline_app.command()
def trigger(follow: bool = typer.Option(True, help="Follow the run until it finishes.")) -> None:
    """Trigger the `retailstream` DAG through Airflow's REST API."""
    from retailstream.orchestration.airflow_api import AirflowClient
    from retailstream.orchestration.demo import DAG_ID

    client = AirflowClient()
    client.set_paused(DAG_ID, False)
    run_id = client.trigger(DAG_ID)
    typer.echo(f"triggered {run_id}")
    if follow:
        state = client.follow(DAG_ID, run_id, on_update=lambda states: None)
        typer.echo(f"{run_id}: {state}")
        raise typer.Exit(0 if state == "success" else 1)


@pipeline_app.command()
def demo() -> None:
    """Prepare the data, run the DAG through Airflow with a live view, and print the summary."""
    from retailstream.orchestration.demo import run_demo

    raise typer.Exit(run_demo())
