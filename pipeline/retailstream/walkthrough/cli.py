"""`retailstream walkthrough record`."""

from __future__ import annotations

import io
from pathlib import Path

import typer

walkthrough_app = typer.Typer(
    no_args_is_help=True, help="A recorded walkthrough of the lab (slides + video)."
)


@walkthrough_app.command()
def record(
    out: Path = typer.Option(None, help="Output folder (default: reports/walkthrough; replaced)."),
    demo: bool = typer.Option(
        True, help="Run the demo first and open the walkthrough with its terminal output."
    ),
) -> None:
    """Run the demo (recording its terminal), then capture every UI after the latest successful run."""
    from rich.console import Console
    from rich.text import Text

    from retailstream.orchestration.demo import TRANSCRIPT, TRANSCRIPT_WIDTH, run_demo
    from retailstream.orchestration.stages import safe_run_id
    from retailstream.settings import get_settings
    from retailstream.walkthrough.recorder import WalkthroughError, latest_successful_run
    from retailstream.walkthrough.recorder import record as record_walkthrough

    settings = get_settings()
    console = Console()
    terminal = None
    if demo:
        if run_demo(settings):
            console.print("[red]the demo run failed: no walkthrough recorded[/red]")
            raise typer.Exit(1)
        # The demo saved what it printed beside the run's report.
        transcript = settings.reports_dir / safe_run_id(latest_successful_run(settings)) / TRANSCRIPT
        terminal = Console(record=True, width=TRANSCRIPT_WIDTH, file=io.StringIO())
        terminal.print(Text.from_ansi(transcript.read_text()))
    try:
        manifest = record_walkthrough(
            settings, out, terminal, on_slide=lambda title: console.print(f"capturing: {title}")
        )
    except WalkthroughError as error:
        console.print(f"[red]walkthrough: {error}[/red]")
        raise typer.Exit(1) from None
    where = out or settings.reports_dir / "walkthrough"
    console.print(
        f"walkthrough of run {manifest['run_id']}: {len(manifest['slides'])} slides, "
        f"{where / manifest['video']} ({len(manifest['slides']) * manifest['seconds_per_slide']} s), "
        f"{where / 'index.html'}"
    )
