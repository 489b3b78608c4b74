"""The pipeline's steps as thin, JSON-returning calls into the stage packages.

The Airflow DAG's tasks, `retailstream pipeline run` and the tests all call these, so there is one
definition of what each step does. Each stage pushes its own metrics (``stage_run``); these wrappers
only pick what is worth showing in XCom and in the demo summary.
"""

from __future__ import annotations

import re
from dataclasses import asdict, is_dataclass
from pathlib import Path

from retailstream.settings import Settings, get_settings
from retailstream.steps import STEPS


def _jsonable(value):
    if is_dataclass(value):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def upload(settings: Settings | None = None) -> dict:
    from retailstream.stages.upload.upload import upload_incoming

    totals = upload_incoming(settings or get_settings()).to_dict()["totals"]
    return {"files": totals}


def crawl_raw(settings: Settings | None = None) -> dict:
    from retailstream.emulation.glue_crawler import crawl_for
    from retailstream.stages.crawl.crawler import crawl_raw as crawl

    s = settings or get_settings()
    report = crawl(s, crawl=crawl_for(s))
    return {"database": report.database, "tables": [t.name for t in report.tables]}


def clean(settings: Settings | None = None) -> dict:
    from retailstream.emulation.glue_jobs import start_run

    run = start_run(settings, wait=True)
    return _jsonable({"run_id": run.get("Id"), "state": run.get("JobRunState"), "report": run.get("Report")})


def crawl_curated(settings: Settings | None = None) -> dict:
    from retailstream.emulation.glue_crawler import crawl_for
    from retailstream.stages.crawl.crawler import crawl_curated as crawl

    s = settings or get_settings()
    report = crawl(s, crawl=crawl_for(s))
    return {"database": report.database, "tables": [t.name for t in report.tables]}


def load(settings: Settings | None = None, timeout: float = 600) -> dict:
    """Wait until the S3 events of the curated objects are drained into RDS by the Lambda, then check
    that RDS holds exactly what the latest Glue run left in S3 (reconciliation): every object it wrote
    loaded in that version, every object it removed no longer loaded."""
    from retailstream.emulation.glue_jobs import latest_run
    from retailstream.emulation.sqs_event_source import drain
    from retailstream.stages.load.handler import retract_vanished
    from retailstream.stages.load.rds_loader import reconcile_with_curated

    s = settings or get_settings()
    run = latest_run(s) or {}
    report = (run.get("Report") or {}) if run.get("JobRunState") == "SUCCEEDED" else {}
    written, removed = report.get("curated_objects", []), report.get("removed_objects", [])
    drained = drain(timeout, s, keys=[o["key"] for o in written] or None).to_dict()
    drained["retracted_here"] = len(retract_vanished(s))
    drained.update(reconcile_with_curated(written, removed, s))
    return drained


def features_hdfs(settings: Settings | None = None) -> dict:
    from retailstream.stages.features.upload import upload_features

    report = upload_features(settings or get_settings())
    return {
        "uploaded": len(report.uploaded),
        "skipped": len(report.skipped),
        "retracted": len(report.retracted),
        "bytes": report.bytes_uploaded,
    }


def features_hive(settings: Settings | None = None) -> dict:
    from retailstream.stages.features.build import build_features_table

    return _jsonable(build_features_table(settings or get_settings()))


def consolidate(settings: Settings | None = None) -> dict:
    from retailstream.stages.consolidate.report import consolidate

    report = consolidate(settings or get_settings(), fail_on_error=True)
    return {
        "run_id": report.run_id,
        "rows_checked": report.rows_checked(),
        "findings": {f"{r.table}.{r.check}": r.rows_flagged for r in report.results if r.rows_flagged},
    }


def transfer(settings: Settings | None = None, engine: str | None = None) -> dict:
    from retailstream.stages.transfer.incremental import transfer_tables

    report = transfer_tables(settings or get_settings(), engine)
    return {"engine": report.engine, "rows_moved": report.rows_moved, "tables": _jsonable(report.tables)}


def usecases(run_id: str, settings: Settings | None = None) -> dict:
    """The ten business questions over the Hive tables → RDS reporting tables and files."""
    from retailstream.stages.usecases.job import publish_use_cases

    result = publish_use_cases(settings or get_settings(), run_id=safe_run_id(run_id))
    return _jsonable({"run_id": result.run_id, "rows": result.rows, "rds_tables": result.rds_tables})


def usecases_report(run_id: str, settings: Settings | None = None) -> dict:
    """The self-contained HTML report (and findings.json) of the run's results."""
    from retailstream.stages.usecases.job import render_report

    return {"report": str(render_report(settings or get_settings(), safe_run_id(run_id)))}


def safe_run_id(run_id: str) -> str:
    """A folder- and table-safe form of an Airflow run id (manual runs carry colons and plus signs)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")


# Each step's call; the names and the graph are ``retailstream.steps.STEPS``.
CALLS = {
    "upload": upload,
    "crawl_raw": crawl_raw,
    "clean": clean,
    "crawl_curated": crawl_curated,
    "load": load,
    "features_hdfs": features_hdfs,
    "features_hive": features_hive,
    "consolidate": consolidate,
    "transfer": transfer,
    "usecases": usecases,
    "usecases_report": usecases_report,
}


def run_pipeline(run_id: str, settings: Settings | None = None, on_step=None) -> dict[str, dict]:
    """Run every step in dependency order in this process (no Airflow); returns each step's result."""
    s = settings or get_settings()
    done: dict[str, dict] = {}
    while len(done) < len(STEPS):
        for step in STEPS:
            if step.name in done or not set(step.upstream) <= set(done):
                continue
            if on_step:
                on_step(step.name, "running")
            call = CALLS[step.name]
            done[step.name] = call(run_id, s) if step.run_scoped else call(s)
            if on_step:
                on_step(step.name, "success")
    return done
