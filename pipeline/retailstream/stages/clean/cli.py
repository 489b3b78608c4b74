"""`retailstream clean run|status|register|execute`: the clean-and-merge Glue job."""

from __future__ import annotations

import json

import typer

clean_app = typer.Typer(no_args_is_help=True, help="Stage 1: the clean-and-merge Glue job and its runner.")


def _logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@clean_app.command("register")
def register() -> None:
    """Upload the job script; create or update the job and its SCHEDULED trigger."""
    from retailstream.deploy.glue_job import register_job
    from retailstream.settings import get_settings

    job = register_job()
    s = get_settings()
    script = job["Command"]["ScriptLocation"]
    typer.echo(f"{job['Name']}: {script}; trigger {s.glue_trigger_name} {s.glue_job_schedule}")


@clean_app.command("run")
def run(
    wait: bool = typer.Option(True, help="Wait for the run to finish."),
    raw_uri: str = typer.Option(None, help="Override --raw_uri (default: the raw bucket)."),
    curated_uri: str = typer.Option(None, help="Override --curated_uri."),
    quarantine_uri: str = typer.Option(None, help="Override --quarantine_uri."),
    state_uri: str = typer.Option(None, help="Override --state_uri (bookmark and run records)."),
) -> None:
    """StartJobRun and execute it with the local job runner; prints the run record."""
    from retailstream.emulation.glue_jobs import ConcurrentRunsExceeded, JobRunFailed, start_run

    _logging()
    given = {
        "--raw_uri": raw_uri,
        "--curated_uri": curated_uri,
        "--quarantine_uri": quarantine_uri,
        "--state_uri": state_uri,
    }
    try:
        record = start_run(wait=wait, arguments={k: v for k, v in given.items() if v})
    except JobRunFailed as failed:
        typer.echo(json.dumps(failed.run, indent=1), err=True)
        raise typer.Exit(1) from None
    except ConcurrentRunsExceeded as busy:
        typer.echo(str(busy), err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(record, indent=1))


@clean_app.command("status")
def status(run_id: str = typer.Argument(None, help="One run (default: a table of all runs).")) -> None:
    """The runs our job runner recorded (state, duration, rows in/curated/quarantined/duplicate)."""
    from rich.console import Console
    from rich.table import Table

    from retailstream.emulation.glue_jobs import job_run, job_runs

    if run_id:
        typer.echo(json.dumps(job_run(run_id), indent=1))
        return
    table = Table(
        "run", "state", "started", "seconds", "rows in", "curated", "quarantined", "duplicate", "objects"
    )
    for run in job_runs():
        totals = run.get("Report", {}).get("totals", {})
        table.add_row(
            run["Id"][:16],
            run.get("JobRunState", "?"),
            run.get("StartedOn", ""),
            str(run.get("ExecutionTime", "")),
            *(
                str(totals.get(k, ""))
                for k in ("rows_in", "rows_curated", "rows_quarantined", "rows_duplicate")
            ),
            str(len(run.get("Report", {}).get("curated_objects", []))),
        )
    Console(width=160).print(table)


@clean_app.command("execute", hidden=True)
def execute(run_id: str) -> None:
    """Execute a started run (what `run --no-wait` launches in the background)."""
    from retailstream.emulation.glue_jobs import JobRunFailed, execute_run

    _logging()
    try:
        execute_run(run_id)
    except JobRunFailed:
        raise typer.Exit(1) from None
