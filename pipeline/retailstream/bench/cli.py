"""`retailstream bench [NAME...]`."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

bench_app = typer.Typer(help="Benchmarks measured side by side, reported as ratios.")


@bench_app.callback(invoke_without_command=True)
def bench(names: list[str] = typer.Argument(None, help="benchmarks to run (default: all)")) -> None:
    from retailstream.bench.core import BENCHMARKS, ratio, run_benchmarks

    unknown = set(names or []) - set(BENCHMARKS)
    if unknown:
        raise typer.BadParameter(f"unknown benchmark(s) {sorted(unknown)}; known: {sorted(BENCHMARKS)}")
    results, goals = run_benchmarks(names or None)
    table = Table("benchmark", "variant", "seconds", "rows/s", "MB/s", "× vs baseline", "notes")
    for m in results:
        r = ratio(results, m)
        table.add_row(
            m.benchmark,
            m.variant,
            f"{m.seconds:.3f}",
            f"{m.rows_per_second:,.0f}" if m.rows else "-",
            f"{m.mb_per_second:.1f}" if m.bytes else "-",
            f"{r:.1f}× vs {m.baseline}" if r else "-",
            ", ".join(f"{k}={v}" for k, v in m.notes.items()),
        )
    Console(width=170).print(table)
    measured = [goal for goal in goals if goal.measured(results) is not None]
    if measured:
        table = Table("goal", "before", "now", "goal", "met", title="Goals: now vs goal")
        for goal in measured:
            met = goal.met(results)
            table.add_row(
                goal.label, goal.before, goal.shown(goal.measured(results)), goal.goal, "yes" if met else "no"
            )
        Console(width=170).print(table)
