"""``retailstream data …``: generate, prepare and profile the input datasets.

Imports only typer at module level: the heavy modules load when a command runs, so the whole CLI
starts fast. A bad input file or folder is reported in one line with exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

data_app = typer.Typer(
    no_args_is_help=True,
    help="Input datasets: synthetic generator, real Kaggle files, profile.",
)

SCALE = typer.Option(1, min=1, help="45 x SCALE stores; rows grow about SCALE times.")
SEED = typer.Option(42, min=0, help="Same seed, byte-identical files.")
OUT = typer.Option(None, help="The datasets folder (default: the settings' datasets_dir).")


def _datasets_dir(out: Path | None) -> Path:
    from retailstream.settings import get_settings

    return out if out is not None else get_settings().datasets_dir


@contextmanager
def _reported_errors() -> Iterator[None]:
    from retailstream.datasets.loader import DataFileError
    from retailstream.datasets.prepare import PrepareError

    try:
        yield
    except (DataFileError, PrepareError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _store_progress(total: int) -> Iterator[Callable[[int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("generating stores"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("stores", total=total)
        yield lambda store: progress.advance(task)


def _summary(manifest: dict, incoming: Path, seconds: float | None = None) -> None:
    rows = ", ".join(f"{kind} {count:,}" for kind, count in manifest["rows"].items())
    timing = f" in {seconds:.1f} s" if seconds is not None else ""
    typer.echo(f"{incoming}: {len(manifest['files'])} files{timing}; rows: {rows}")
    defects = manifest.get("defects", {})
    if defects.get("bad_rows") or defects.get("duplicate_keys"):
        typer.echo(
            f"injected {defects['bad_rows']} bad rows and {defects['duplicate_keys']} resubmitted keys "
            f"(see {incoming / '_defects.json'})"
        )


@data_app.command()
def generate(
    scale: int = SCALE,
    seed: int = SEED,
    out: Path | None = OUT,
    defects: int = typer.Option(0, min=0, help="Known-bad sales rows to inject, plus one resubmitted file."),
    stores: int | None = typer.Option(None, min=1, help="Only the first N stores (quick tests)."),
) -> None:
    """Write the synthetic datasets to <out>/incoming (replacing what is there)."""
    from retailstream.datasets.generator import GenerationRequest
    from retailstream.datasets.generator import generate as generate_tree

    request = GenerationRequest(scale=scale, seed=seed, defects=defects, stores=stores)
    datasets_dir = _datasets_dir(out)
    started = time.perf_counter()
    with _store_progress(request.store_count) as advance:
        manifest = generate_tree(datasets_dir, request, advance)
    _summary(manifest, datasets_dir / "incoming", time.perf_counter() - started)


@data_app.command()
def prepare(scale: int = SCALE, seed: int = SEED, out: Path | None = OUT) -> None:
    """Split real Kaggle files found in <out>/ into <out>/incoming, else generate (idempotent)."""
    from retailstream.datasets.generator import GenerationRequest
    from retailstream.datasets.prepare import prepare as prepare_tree
    from retailstream.settings import get_settings

    request = GenerationRequest(scale=scale, seed=seed)
    datasets_dir = _datasets_dir(out)
    started = time.perf_counter()
    with _reported_errors(), _store_progress(request.store_count) as advance:
        outcome = prepare_tree(datasets_dir, request, advance, get_settings().max_inflated_mb)
    source = outcome.manifest["source"]
    typer.echo(f"{outcome.action} ({source} data)")
    for note in outcome.notes:
        typer.echo(f"note: {note}")
    _summary(outcome.manifest, datasets_dir / "incoming", time.perf_counter() - started)


@data_app.command()
def profile(
    path: Path | None = typer.Argument(
        None, help="A tree, folder or file (default: <datasets_dir>/incoming)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON."),
) -> None:
    """Print the dataset properties: stores, departments, weeks, holidays, markdowns, NA counts, rows."""
    from retailstream.datasets.profile import profile_path

    target = path if path is not None else _datasets_dir(None) / "incoming"
    if not target.exists():
        typer.echo(f"error: {target} does not exist (run `retailstream data prepare`)", err=True)
        raise typer.Exit(2)
    with _reported_errors():
        result = profile_path(target)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        _print_profile(result)


def _print_profile(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    holidays = result["holiday_weeks_in_sales"]
    sales_range = f"{result['first_sales_week']} .. {result['last_sales_week']}"
    facts = Table("property", "value", title=f"profile of {result['path']}", title_justify="left")
    for name, value in (
        ("stores", result["stores"]),
        ("store types", ", ".join(f"{kind} {count}" for kind, count in result["store_types"].items())),
        ("departments", result["departments"]),
        ("sales weeks", f"{result['sales_weeks']} ({sales_range})"),
        ("feature weeks", result["feature_weeks"]),
        ("holiday weeks in the sales range", f"{len(holidays)}: {', '.join(holidays)}"),
        ("first markdown week", result["first_markdown_week"]),
        ("first week without CPI", result["first_week_without_cpi"]),
        ("negative weekly sales (returns)", f"{result['negative_sales']:,}"),
        ("store traffic weeks", result["traffic_weeks"] or "none (the real Kaggle data has no visits)"),
        ("average weekly customers per store", result["average_weekly_customers"]),
    ):
        facts.add_row(name, str(value))

    rows = Table("dataset", "files", "rows", "rejected", "missing values per column", title="rows")
    for kind, count in result["rows"].items():
        counts = result["missing_values"].get(kind, {})
        missing = ", ".join(f"{name} {n:,}" for name, n in counts.items() if n)
        rejected = result["rejected_rows"].get(kind, 0)
        rows.add_row(kind, str(result["files"][kind]), f"{count:,}", f"{rejected:,}", missing or "none")

    console = Console()
    console.print(facts)
    console.print(rows)
    for example in result["rejection_examples"]:
        console.print(f"rejected: {example}", markup=False, highlight=False)
