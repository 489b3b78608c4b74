"""``retailstream transfer run|sqoop-command``: RDS → HDFS staging → Hive."""

from __future__ import annotations

import typer

from retailstream.settings import get_settings

transfer_app = typer.Typer(no_args_is_help=True, help="Stage 3: RDS → Hive with Sqoop or Spark JDBC.")

TABLES = typer.Option(["stores", "sales", "store_traffic"], "--table", help="Tables to transfer.")


@transfer_app.command("run")
def run_cmd(
    engine: str = typer.Option(None, help="sqoop or spark-jdbc (default: settings.transfer_engine)."),
    tables: list[str] = TABLES,
    full: bool = typer.Option(False, "--full", help="Re-import everything and rebuild the Hive tables."),
) -> None:
    """Move the rows changed since the last run into the Hive tables."""
    from rich.console import Console
    from rich.table import Table

    from retailstream.stages.transfer.incremental import transfer_tables

    report = transfer_tables(get_settings(), engine, tables, full=full)
    out = Table("source", "target", "window", "rows", "partitions", "extract s", "publish s")
    for t in report.tables:
        lower = t.window.lower.isoformat(" ") if t.window.lower else "start"
        out.add_row(
            t.source,
            t.target,
            f"{lower} … {t.window.upper.isoformat(' ')}",
            f"{t.rows_moved:,}",
            ",".join(map(str, t.partitions)) or "-",
            f"{t.extract_seconds:.1f}",
            f"{t.publish_seconds:.1f}",
        )
    console = Console(width=160)
    console.print(out, f"engine {report.engine}: {report.rows_moved:,} rows moved")
    for t in report.tables:
        if t.mismatch:
            console.print(
                f"{t.target}: Hive held {t.mismatch[0]:,} rows, RDS {t.mismatch[1]:,} (changed outside the "
                "loader): re-imported in full"
            )


@transfer_app.command("sqoop-command")
def sqoop_command_cmd(
    tables: list[str] = TABLES,
    last_value: str = typer.Option(None, help="Window start (yyyy-mm-dd hh:mm:ss[.fff]); none: all rows."),
) -> None:
    """Print the `sqoop import` command lines the sqoop engine runs (window ending now)."""
    from datetime import datetime

    from retailstream.stages.transfer.sqoop import SqoopImport
    from retailstream.stages.transfer.tables import CHECK_COLUMN, transfer_table
    from retailstream.stages.transfer.window import Window

    s = get_settings()
    window = Window(
        datetime.fromisoformat(last_value) if last_value else None, datetime.now().replace(microsecond=0)
    )
    for name in tables:
        table = transfer_table(name)
        spec = SqoopImport(
            table=name,
            columns=tuple(table.columns),
            split_by=table.split_by,
            mappers=table.parallelism(s.transfer_parallelism),
            fetch_size=s.transfer_fetch_size,
            direct=s.transfer_sqoop_direct,
            check_column=CHECK_COLUMN,
            window=window,
            target_dir=f"{s.hdfs_staging_dir}/{name}/{s.hive_database}.{name}/delta",
        )
        typer.echo(spec.command_line(s))
