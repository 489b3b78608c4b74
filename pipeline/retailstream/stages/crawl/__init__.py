"""Stage 1, catalog: crawl the raw and curated buckets into the Glue Data Catalog (tables, partitions)."""

from retailstream.stages.crawl.crawler import CrawlReport, crawl_curated, crawl_raw

__all__ = ["CrawlReport", "crawl_curated", "crawl_raw"]
