"""`retailstream walkthrough record|script`."""

from __future__ import annotations

from pathlib import Path

import typer

walkthrough_app = typer.Typer(
    no_args_is_help=True, help="A narrated walkthrough video of the lab (MP4, subtitles, chapters)."
)


@walkthrough_app.command()
def record(
    out: Path = typer.Option(None, help="Output folder (default: reports/walkthrough; replaced)."),
    demo: bool = typer.Option(True, help="Run the demo first (else: record the latest demo run)."),
) -> None:
    """Run the demo, then record the narrated walkthrough of its run: every page checked, then captured."""
    import time

    from rich.console import Console

    from retailstream.orchestration.demo import run_demo
    from retailstream.settings import get_settings
    from retailstream.walkthrough.recorder import WalkthroughError
    from retailstream.walkthrough.recorder import record as record_walkthrough

    settings = get_settings()
    console = Console()
    if demo and run_demo(settings):
        console.print("[red]the demo failed: no walkthrough recorded[/red]")
        raise typer.Exit(1)
    started = time.monotonic()
    try:
        manifest = record_walkthrough(settings, out, on_progress=console.print)
    except WalkthroughError as error:
        console.print(f"[red]walkthrough: {error}[/red]")
        raise typer.Exit(1) from None
    where = out or settings.reports_dir / "walkthrough"
    minutes, seconds = divmod(round(manifest["seconds"]), 60)
    took = time.monotonic() - started
    console.print(
        f"walkthrough of run {manifest['run_id']}: {minutes} min {seconds:02d} s, "
        f"{len(manifest['chapters'])} chapters, {manifest['bytes'] / 1e6:.1f} MB — "
        f"{where / manifest['video']}, {where / 'index.html'} (recorded in {took:.0f} s)"
    )
    for chapter in manifest["chapters"]:
        start = round(chapter["start"])
        console.print(f"  {start // 60}:{start % 60:02d}  {chapter['title']}")


@walkthrough_app.command()
def script() -> None:
    """Print the narration, chapter by chapter, with the spoken length of every beat (nothing recorded)."""
    import tempfile

    from rich.console import Console

    from retailstream.walkthrough.recorder import WalkthroughError, speak
    from retailstream.walkthrough.script import load_script
    from retailstream.walkthrough.video import place

    console = Console()
    chapters = load_script()
    with tempfile.TemporaryDirectory() as folder:
        try:
            speech = speak(chapters, Path(folder))
        except WalkthroughError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from None
        total = 0.0
        for number, chapter in enumerate(chapters, start=1):
            console.rule(f"{number}. {chapter.title}")
            for beat in chapter.beats:
                for played in filter(None, (beat, beat.otherwise)):
                    seconds = place(0, speech[played]).seconds
                    shown = played.page or ("terminal" if played.terminal else f"card: {played.card.title}")
                    alternative = " (otherwise)" if played is beat.otherwise else ""
                    console.print(f"[bold]{seconds:5.1f} s  {shown}{alternative}[/bold]\n{played.say}\n")
                total += place(0, speech[beat]).seconds
        console.print(
            f"about {total / 60:.1f} minutes (each page's own beat; terminal beats may add a little)"
        )
