"""`retailstream crawl run|show`: the Glue Data Catalog of the raw and curated buckets."""

from __future__ import annotations

import json

import typer

crawl_app = typer.Typer(no_args_is_help=True, help="Stage 1: crawl S3 into the Glue Data Catalog.")


@crawl_app.command("run")
@crawl_app.command("crawl", hidden=True)  # its name before 2026-12
def crawl(
    zone: str = typer.Argument("all", help="raw, curated or all"),
    as_json: bool = typer.Option(False, "--json", help="Print the crawl reports as JSON."),
) -> None:
    """Infer tables and partitions from the objects and create/update them through the Glue API."""
    from retailstream.emulation.glue_crawler import crawl_for
    from retailstream.settings import get_settings
    from retailstream.stages.crawl.crawler import crawl_curated, crawl_raw

    s = get_settings()
    if zone not in ("raw", "curated", "all"):
        raise typer.BadParameter("zone must be raw, curated or all")
    reports = []
    if zone in ("raw", "all"):
        reports.append(crawl_raw(s, crawl=crawl_for(s)))
    if zone in ("curated", "all"):
        reports.append(crawl_curated(s, crawl=crawl_for(s)))
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], indent=1))
        return
    for report in reports:
        for t in report.tables:
            columns = ", ".join(f"{c} {ty}" for c, ty in t.columns)
            keys = f" partitioned by {', '.join(t.partition_keys)}" if t.partition_keys else ""
            typer.echo(
                f"{report.database}.{t.name} ({t.classification}, {t.objects} objects, {t.action}; "
                f"+{t.partitions_added}/-{t.partitions_removed} partitions): {columns}{keys}"
            )


@crawl_app.command("show")
def show(database: str = typer.Argument(None, help="Default: both stage-1 databases.")) -> None:
    """Tables, columns and partition counts as the Glue Data Catalog holds them."""
    from retailstream import clients
    from retailstream.settings import get_settings

    s = get_settings()
    glue = clients.aws_client("glue")
    for name in [database] if database else [s.glue_raw_database, s.glue_curated_database]:
        for table in glue.get_tables(DatabaseName=name)["TableList"]:
            partitions = sum(
                len(page["Partitions"])
                for page in glue.get_paginator("get_partitions").paginate(
                    DatabaseName=name, TableName=table["Name"]
                )
            )
            columns = ", ".join(f"{c['Name']} {c['Type']}" for c in table["StorageDescriptor"]["Columns"])
            keys = ", ".join(k["Name"] for k in table.get("PartitionKeys", []))
            typer.echo(
                f"{name}.{table['Name']}: {columns}"
                + (f" | partitions ({keys}): {partitions}" if keys else "")
            )
