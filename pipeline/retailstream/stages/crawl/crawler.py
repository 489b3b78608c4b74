"""The crawl stage: catalog the raw and curated buckets in the Glue Data Catalog, by the registered
crawler (``StartCrawler``, real AWS) or the crawl the lab passes in.

Emulators accept ``StartCrawler`` but never crawl, so the lab crawls
(``retailstream.emulation.glue_crawler``): for each dataset folder
(``sales/``, ``stores/``, ``store_traffic/``) under a bucket prefix it lists the objects, takes the
partition keys from ``key=value`` folders, samples a few files for the columns — CSV/JSON values are
typed as Glue's classifiers do (bigint, double, boolean, date, string; wider type on conflict), Parquet
columns come from the file footer — and creates or updates the table and its partitions through the
Glue API. Column names are lower-cased like Glue's; a partition key that repeats a column name (the raw
``store=NN`` folders over files with a ``Store`` column) is renamed ``<key>_partition``, since Hive and
Athena refuse the repetition. With ``settings.use_real_crawler`` the registered crawler is started
with ``StartCrawler`` instead (real AWS).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from retailstream import clients
from retailstream.monitoring.metrics import stage_run
from retailstream.s3util import S3Location
from retailstream.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class TableReport:
    name: str
    location: str
    classification: str
    objects: int
    columns: list[tuple[str, str]]
    partition_keys: list[str]
    action: str  # created | updated | unchanged
    partitions_added: int = 0
    partitions_removed: int = 0


@dataclass
class CrawlReport:
    database: str
    source: str
    seconds: float = 0.0
    tables: list[TableReport] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def dataset_folders(s: Settings) -> list[str]:
    return [s.sales_prefix, s.stores_prefix, s.traffic_prefix]


# (settings, where, database, crawler name) → what the crawl left in the catalog
Crawl = Callable[[Settings, S3Location, str, str], "CrawlReport"]


def crawl_raw(
    settings: Settings,
    *,
    prefix: str = "",
    database: str | None = None,
    crawl: Crawl | None = None,
) -> CrawlReport:
    """Catalog the raw bucket (CSV, sales partitioned by store) into ``retail_raw``."""
    s = settings
    where = S3Location(s.raw_bucket, prefix)
    return _crawl(s, "crawl_raw", s.glue_raw_crawler, where, database or s.glue_raw_database, crawl)


def crawl_curated(
    settings: Settings,
    *,
    location: S3Location | None = None,
    database: str | None = None,
    crawl: Crawl | None = None,
) -> CrawlReport:
    """Catalog the curated bucket (Parquet, sales partitioned by year and month) into ``retail_curated``."""
    s = settings
    where = location or S3Location(s.curated_bucket)
    return _crawl(
        s, "crawl_curated", s.glue_curated_crawler, where, database or s.glue_curated_database, crawl
    )


def _crawl(
    s: Settings, step: str, crawler: str, where: S3Location, database: str, crawl: Crawl | None
) -> CrawlReport:
    """``crawl``: how the crawler runs — by default the registered crawler through ``StartCrawler``
    (real AWS); the lab passes its own (``retailstream.emulation.glue_crawler``)."""
    with stage_run(step, s) as run:
        report = (crawl or start_real_crawler)(s, where, database, crawler)
        run.rows_in = run.rows_out = sum(t.objects for t in report.tables)  # objects catalogued
        run.details = {"database": database, "tables": [t.name for t in report.tables]}
    return report


def start_real_crawler(
    s: Settings, where: S3Location, database: str, crawler: str, timeout: float = 1800
) -> CrawlReport:
    """StartCrawler on real AWS and wait until it is READY again; report the tables it left."""
    glue = clients.aws_client("glue", s)
    began = time.monotonic()
    glue.start_crawler(Name=crawler)
    while glue.get_crawler(Name=crawler)["Crawler"]["State"] != "READY":
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"crawler {crawler} still running after {timeout:.0f}s")
        time.sleep(10)
    report = CrawlReport(
        database=database, source=f"crawler {crawler}", seconds=round(time.monotonic() - began, 3)
    )
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        for table in page["TableList"]:
            descriptor = table["StorageDescriptor"]
            report.tables.append(
                TableReport(
                    table["Name"],
                    descriptor.get("Location", ""),
                    table.get("Parameters", {}).get("classification", ""),
                    int(table.get("Parameters", {}).get("objectCount", 0)),
                    [(c["Name"], c["Type"]) for c in descriptor.get("Columns", [])],
                    [k["Name"] for k in table.get("PartitionKeys", [])],
                    "crawled",
                )
            )
    return report
