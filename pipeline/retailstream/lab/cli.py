"""`retailstream lab up|status|down|clean`."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, help="Start, inspect and stop the native lab.")
# Wide enough for the status table when output is not a terminal (CI logs, pipes).
console = Console(width=None if Console().is_terminal else 170)


def _lab():
    from retailstream.lab.control import Lab

    return Lab()


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(1)


@app.command()
def up() -> None:
    """Start every service; returns when all pass their protocol health check."""
    from retailstream.lab.control import LabError

    try:
        seconds = _lab().up(log=lambda msg: console.print(f"  {msg}"))
    except LabError as exc:
        _fail(exc)
    console.print(f"[green]lab up[/green] in {seconds:.1f}s — `make status` lists the services")


@app.command()
def status() -> None:
    """One row per service: state, pid, ports, health, resident memory, UI."""
    rows = _lab().status()
    table = Table("service", "version", "state", "pid", "ports", "health", "RSS MB", "UI / endpoint")
    for r in rows:
        health = "[green]ok[/green]" if r.healthy else f"[red]{r.detail or '-'}[/red]"
        table.add_row(
            r.name,
            r.version,
            r.state,
            str(r.pid or "-"),
            ",".join(map(str, r.ports)) or "-",
            health,
            f"{r.rss_mb:.0f}",
            r.ui,
        )
    console.print(table)
    total = sum(r.rss_mb for r in rows)
    console.print(f"total resident memory: {total / 1024:.2f} GB")
    if not all(r.healthy for r in rows):
        raise typer.Exit(1)


@app.command()
def down() -> None:
    """Stop every service (data is kept)."""
    from retailstream.lab.control import LabError

    try:
        _lab().down()
    except LabError as exc:
        _fail(exc)
    console.print("lab down")


@app.command()
def clean() -> None:
    """Stop the lab and wipe its state (keeps downloaded jars)."""
    _lab().clean()
    console.print("lab state wiped")
