"""Glue job script (Python shell, no Spark): clean and merge the raw sales files into curated Parquet.

This file is the job's ``ScriptLocation``: `retailstream clean register` uploads it to S3, and the lab's
local job runner downloads it and runs it the way Glue runs a Python-shell job::

    python clean_merge_sales.py --JOB_NAME … --JOB_RUN_ID … --raw_uri s3://… --curated_uri s3://…
        --quarantine_uri s3://… --state_uri s3://…

On AWS ``awsglue.utils.getResolvedOptions`` reads the arguments; elsewhere argparse does (Glue adds
arguments of its own, which are ignored). The logic lives in ``retailstream.stages.clean.merge`` (shipped to
Glue with ``--extra-py-files``); the run's report is written to ``<state_uri>/runs/<run id>/report.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

ARGUMENTS = ("JOB_NAME", "JOB_RUN_ID", "raw_uri", "curated_uri", "quarantine_uri", "state_uri")


def resolve_options(argv: list[str]) -> dict[str, str]:
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        parser = argparse.ArgumentParser(description="clean and merge raw sales into curated Parquet")
        for name in ARGUMENTS:
            parser.add_argument(f"--{name}", required=True)
        known, _ = parser.parse_known_args(argv[1:])
        return vars(known)
    return getResolvedOptions(argv, list(ARGUMENTS))


def main(argv: list[str]) -> dict:
    from retailstream import clients
    from retailstream.s3util import S3Location
    from retailstream.settings import get_settings
    from retailstream.stages.clean.merge import Locations, clean_merge, write_report

    options = resolve_options(argv)
    settings = get_settings()
    s3 = clients.aws_client("s3", settings)
    locations = Locations(
        *(
            S3Location.parse(options[name])
            for name in ("raw_uri", "curated_uri", "quarantine_uri", "state_uri")
        )
    )
    report = clean_merge(locations, options["JOB_RUN_ID"], s3, settings)
    write_report(s3, locations, options["JOB_RUN_ID"], report)
    print(json.dumps(report["totals"]))
    return report


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    main(sys.argv)
