"""Stage 1, catalog: the project's Glue crawler (raw and curated tables and partitions)."""

from retailstream.catalog.crawler import CrawlReport, crawl_curated, crawl_raw

__all__ = ["CrawlReport", "crawl_curated", "crawl_raw"]
