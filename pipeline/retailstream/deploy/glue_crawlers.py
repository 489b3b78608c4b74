"""The raw and curated Glue crawlers as AWS needs them (targets, role, schema-change policy). Idempotent."""

from __future__ import annotations

import logging

from retailstream import clients
from retailstream.settings import Settings, get_settings
from retailstream.stages.crawl.crawler import dataset_folders

log = logging.getLogger(__name__)


def crawler_definitions(s: Settings) -> dict[str, dict]:
    def targets(bucket: str) -> dict:
        return {"S3Targets": [{"Path": f"s3://{bucket}/{folder}/"} for folder in dataset_folders(s)]}

    common = {
        "Role": s.glue_role_arn,
        "SchemaChangePolicy": {
            "UpdateBehavior": "UPDATE_IN_DATABASE",
            "DeleteBehavior": "DEPRECATE_IN_DATABASE",
        },
    }
    return {
        s.glue_raw_crawler: {**common, "DatabaseName": s.glue_raw_database, "Targets": targets(s.raw_bucket)},
        s.glue_curated_crawler: {
            **common,
            "DatabaseName": s.glue_curated_database,
            "Targets": targets(s.curated_bucket),
        },
    }


def register_crawlers(settings: Settings | None = None) -> None:
    """Create the raw and curated crawlers (idempotent)."""
    s = settings or get_settings()
    glue = clients.aws_client("glue", s)
    for name, definition in crawler_definitions(s).items():
        try:
            glue.get_crawler(Name=name)
        except glue.exceptions.EntityNotFoundException:
            glue.create_crawler(Name=name, **definition)
            log.info("crawl.crawler_created name=%s", name)
