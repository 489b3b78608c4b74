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
    compare: Path | None = typer.Option(
        None,
        "--compare",
        help="Print beside it the profile of this tree, folder or file (e.g. the folder of the real Kaggle "
        "files).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON."),
) -> None:
    """Print the dataset properties: stores, departments, weeks, holidays, markdowns, NA counts, rows, and
    the chain's shape (holiday uplift by type, who leads the weeks, seasonality, returns)."""
    from retailstream.datasets.profile import profile_path

    target = path if path is not None else _datasets_dir(None) / "incoming"
    for folder in (target, compare):
        if folder is not None and not folder.exists():
            typer.echo(f"error: {folder} does not exist (run `retailstream data prepare`)", err=True)
            raise typer.Exit(2)
    with _reported_errors():
        results = [profile_path(folder) for folder in (target, compare) if folder is not None]
    if as_json:
        shown = results[0] if compare is None else {"profile": results[0], "compare": results[1]}
        typer.echo(json.dumps(shown, indent=2))
    else:
        _print_profiles(results)


_WEEK_LABELS = {
    "before_christmas": "before Christmas",
    "christmas": "Christmas",
    "thanksgiving": "Thanksgiving",
    "super_bowl": "Super Bowl",
    "labor_day": "Labor Day",
}


def _leaders(leaders: dict, who: str) -> str:
    """'41 (A) 34 %, 5 (A) 31 % (4 leaders)': the most frequent weekly leaders and their share of weeks."""
    names = []
    for entry in leaders["top"]:
        kind = f" ({entry['store_type']})" if entry.get("store_type") else ""
        names.append(f"{entry[who]}{kind} {entry['share_pct']:.0f} %")
    count = leaders["distinct"]
    return f"{', '.join(names)} ({count} leader{'' if count == 1 else 's'})"


def _chain_facts(chain: dict | None) -> list[tuple[str, str]]:
    if chain is None:
        return []
    uplift = chain["holiday_uplift_pct_by_type"]
    markdowns = chain["markdowns"]
    weeks = ", ".join(
        f"{week['week']} {_WEEK_LABELS.get(week['label'], 'ordinary')} {week['index']:.0f}"
        for week in chain["largest_weeks"]
    )
    facts = [
        ("holiday uplift by store type", ", ".join(f"{kind} {pct:+.1f} %" for kind, pct in uplift.items())),
        ("top stores (share of weeks led)", _leaders(chain["top_stores"], "store")),
        ("top departments (share of weeks led)", _leaders(chain["top_departments"], "dept")),
        ("largest weeks (100 = average store-week)", weeks),
        (
            "month profile (100 = average store-week)",
            " ".join(f"{m} {i:.0f}" for m, i in chain["month_index"].items()),
        ),
    ]
    if markdowns is not None and markdowns["first_week"] is not None:
        coverage = (
            f"{markdowns['store_weeks_pct']:.1f} % of store-weeks from {markdowns['first_week']}; "
            f"{markdowns['negative_amounts_pct']:.2f} % of amounts negative"
        )
        facts.append(("markdown coverage", coverage))
    return facts


def _returns(result: dict) -> str:
    share = f" ({result['chain']['negative_sales_pct']:.2f} % of rows)" if result["chain"] else ""
    return f"{result['negative_sales']:,}{share}"


def _facts(result: dict) -> dict[str, str]:
    holidays = result["holiday_weeks_in_sales"]
    sales_range = f"{result['first_sales_week']} .. {result['last_sales_week']}"
    facts = [
        ("stores", result["stores"]),
        ("store types", ", ".join(f"{kind} {count}" for kind, count in result["store_types"].items())),
        ("departments", result["departments"]),
        ("sales weeks", f"{result['sales_weeks']} ({sales_range})"),
        ("feature weeks", result["feature_weeks"]),
        ("holiday weeks in the sales range", f"{len(holidays)}: {', '.join(holidays)}"),
        ("first markdown week", result["first_markdown_week"]),
        ("first week without CPI", result["first_week_without_cpi"]),
        ("negative weekly sales (returns)", _returns(result)),
        ("store traffic weeks", result["traffic_weeks"] or "none (the real Kaggle data has no visits)"),
        ("average weekly customers per store", result["average_weekly_customers"]),
        *_chain_facts(result["chain"]),
    ]
    return {name: str(value) for name, value in facts}


def _print_profiles(results: list[dict]) -> None:
    """One table of properties with a column per profile (the second one is the --compare folder), then
    each profile's rows per dataset."""
    from rich.console import Console
    from rich.table import Table

    title = "profile of " + " vs ".join(result["path"] for result in results)
    # Folder names as column headers keep the table readable in a narrow terminal; the title has the paths.
    columns = ["value"] if len(results) == 1 else [Path(result["path"]).name for result in results]
    facts = Table("property", *columns, title=title, title_justify="left")
    per_result = [_facts(result) for result in results]
    names = list(dict.fromkeys(name for result_facts in per_result for name in result_facts))
    for name in names:
        facts.add_row(name, *(result_facts.get(name, "") for result_facts in per_result))

    console = Console()
    console.print(facts)
    for result in results:
        rows = Table(
            "dataset",
            "files",
            "rows",
            "rejected",
            "missing values per column",
            title=f"rows of {result['path']}",
        )
        for kind, count in result["rows"].items():
            counts = result["missing_values"].get(kind, {})
            missing = ", ".join(f"{name} {n:,}" for name, n in counts.items() if n)
            rejected = result["rejected_rows"].get(kind, 0)
            rows.add_row(kind, str(result["files"][kind]), f"{count:,}", f"{rejected:,}", missing or "none")
        console.print(rows)
        for example in result["rejection_examples"]:
            console.print(f"rejected: {example}", markup=False, highlight=False)
