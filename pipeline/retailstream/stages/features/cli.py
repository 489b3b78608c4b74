"""``retailstream features upload|build``: the feature files into HDFS, then into Hive."""

from __future__ import annotations

from pathlib import Path

import typer

from retailstream.settings import get_settings

features_app = typer.Typer(no_args_is_help=True, help="Stage 2: feature files → HDFS → PySpark → Hive.")


@features_app.command("upload")
def upload_cmd(
    source: Path = typer.Option(None, help="Folder of feature CSVs (default: datasets/incoming/features)."),
    hdfs_dir: str = typer.Option(None, help="HDFS folder (default: <hdfs_raw_dir>/features)."),
) -> None:
    """Upload the feature files to HDFS; files HDFS already holds unchanged are skipped."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from retailstream.stages.features.upload import features_source_dir, upload_features

    source = source or features_source_dir(get_settings())
    total = sum(path.stat().st_size for path in source.glob("*.csv"))
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("features → HDFS", total=total)
        sent_per_file: dict[str, int] = {}

        def advance(name: str, sent: int) -> None:
            if sent >= 0:  # HdfsCLI reports -1 once a file is complete
                progress.advance(task, sent - sent_per_file.get(name, 0))
                sent_per_file[name] = sent

        report = upload_features(get_settings(), source_dir=source, hdfs_dir=hdfs_dir, progress=advance)
    typer.echo(
        f"{report.hdfs_dir}: {len(report.uploaded)} uploaded ({report.bytes_uploaded:,} bytes), "
        f"{len(report.skipped)} unchanged"
    )


@features_app.command("build")
def build_cmd(
    source: str = typer.Option(None, help="HDFS folder of raw feature files (default: the upload's)."),
    database: str = typer.Option(None, help="Hive database (default: settings.hive_database)."),
) -> None:
    """Clean the raw feature files with PySpark into the Hive tables features and features_quarantine."""
    from retailstream.stages.features.build import build_features_table

    report = build_features_table(get_settings(), source=source, database=database)
    typer.echo(
        f"{report.table}: {report.rows_out:,} rows loaded of {report.rows_in:,} "
        f"({report.rows_quarantined:,} quarantined, {report.rows_duplicate:,} duplicates → "
        f"{report.quarantine_table}); years {sorted(report.rows_by_year)}"
    )
