"""`retailstream lab up|status|down|clean`."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    no_args_is_help=True, help="Start, inspect and stop the lab (native, or the compose stack)."
)
# Wide enough for the status table when output is not a terminal (CI logs, pipes).
console = Console(width=None if Console().is_terminal else 170)


def _lab():
    from retailstream.lab.control import open_lab

    return open_lab()


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
    console.print(f"total resident memory: {total / 1024:.2f} GiB")
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


@app.command("class-archive")
def class_archive() -> None:
    """Write the Spark drivers' class-data archive for this Spark and JDK (`make setup` runs it)."""
    from retailstream.spark import build_class_archive

    console.print(f"Spark class archive: {build_class_archive()}")


@app.command("run-service")
def run_service(name: str = typer.Argument(..., help="A service name, as listed by `lab status`.")) -> None:
    """Run one service in the foreground (a compose container's command): configs, prepare hook, exec."""
    from retailstream.lab.container import run_service as run

    try:
        run(name)
    except ValueError as exc:
        _fail(exc)


@app.command()
def check(
    name: str = typer.Argument(..., help="A service name, as listed by `lab status`."),
    after_hooks: bool = typer.Option(
        False, help="Also require that `run-service` finished the service's ready hook (container health)."
    ),
) -> None:
    """One service's protocol health check; exit 1 with the reason when it fails."""
    from retailstream.lab import health
    from retailstream.lab.container import check as run_check

    try:
        run_check(name, after_hooks=after_hooks)
    except (ValueError, health.Unhealthy) as exc:
        _fail(exc)
    console.print(f"{name}: ok")


@app.command()
def bootstrap(
    wait: bool = typer.Option(False, help="Retry the checks until they pass or --timeout runs out."),
    timeout: float = typer.Option(600, help="Seconds to wait for the whole stack (with --wait)."),
) -> None:
    """Every service's protocol check in dependency order, from this process (the compose stack's
    one-shot `bootstrap` service: the stack is usable when it exits 0)."""
    from retailstream.lab.container import wait_until_healthy

    try:
        passed = wait_until_healthy(timeout=timeout if wait else 0, log=lambda msg: console.print(f"  {msg}"))
    except TimeoutError as exc:
        _fail(exc)
    console.print(f"[green]stack healthy[/green]: {len(passed)} services")
