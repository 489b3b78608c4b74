"""``run_all``: compute the ten use cases from Hive, publish them (RDS, files) and render the report.

The two halves are separate functions so a scheduler can run them as two tasks:
``publish_use_cases`` (stage ``usecases``) and ``render_report`` (stage ``report``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retailstream import clients
from retailstream.monitoring.metrics import stage_run
from retailstream.settings import Settings
from retailstream.stages.usecases import publish
from retailstream.stages.usecases.source import checked_identifier
from retailstream.warehouse import identifier

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import SparkSession

    from retailstream.stages.usecases.questions import Shared
    from retailstream.stages.usecases.source import Inputs

log = logging.getLogger(__name__)

# Questions submitted to Spark at once (measured on 2 cores: more than 3 gains nothing).
CONCURRENT_QUESTIONS = 3


@dataclass
class UseCaseRun:
    run_id: str
    database: str
    run_dir: Path
    has_store_traffic: bool
    rows: dict[str, int] = field(default_factory=dict)  # result name → rows
    rds_tables: dict[str, str] = field(default_factory=dict)  # result name → RDS table
    report: Path | None = None
    reused_from: str | None = None  # the run whose results were reused (inputs unchanged)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def compute_use_cases(spark: SparkSession, database: str) -> tuple[dict[str, pa.Table], dict]:
    """Every use case's result and what was read."""
    from retailstream.stages.usecases.source import read_inputs

    inputs = read_inputs(spark, database)
    # Parquet row counts come from the files' footers: no data is read.
    input_rows = {kind: None if frame is None else frame.count() for kind, frame in inputs.by_kind().items()}
    return answer_all(inputs), input_rows


def answer_all(inputs: Inputs) -> dict[str, pa.Table]:
    """The ten answers (collected as Arrow: results are small). The questions are submitted concurrently:
    on ``prepared`` inputs each is more latency than work (planning, scheduling, collecting), and the
    two cores overlap those."""
    from retailstream.stages.usecases.questions import USE_CASES

    with prepared(inputs) as (inputs, shared):

        def answer(case) -> tuple[str, pa.Table]:
            return case.table, case.compute(*inputs.as_args(), shared=shared).toArrow()

        with ThreadPoolExecutor(CONCURRENT_QUESTIONS) as pool:
            return dict(pool.map(answer, USE_CASES))


@contextmanager
def prepared(inputs: Inputs) -> Iterator[tuple[Inputs, Shared]]:
    """The inputs as one run of the ten questions uses them, on one partition each but ``sales``, and the
    aggregates of ``sales`` most questions start from, computed once and cached. Those aggregates (a row
    per store-week or department-week), stores, features and traffic (a row per store or store-week) are
    small: on one partition a question's groupings, windows and sort over them need no shuffle, so it
    runs as one or two short Spark jobs instead of several."""
    from retailstream.stages.usecases.questions import Shared
    from retailstream.stages.usecases.source import Inputs

    small = (None if frame is None else frame.coalesce(1) for frame in inputs.as_args()[1:])
    inputs = Inputs(inputs.sales, *small)
    shared = Shared(
        *(frame.coalesce(1).persist() for frame in Shared.of(inputs.sales, inputs.stores).frames())
    )
    try:
        for frame in shared.frames():
            frame.count()  # materialized before concurrent questions share it
        yield inputs, shared
    finally:
        for frame in shared.frames():
            frame.unpersist()


def input_fingerprint(settings: Settings, database: str, table_prefix: str) -> str:
    """Every file of the four input tables plus the code that computes and publishes the results."""
    from retailstream import fingerprint
    from retailstream.stages.usecases import questions, source

    locations = []
    conn = clients.hive_connect(settings)
    try:
        cur = conn.cursor()
        for kind in source.REQUIRED + source.OPTIONAL:
            cur.execute(f"SHOW TABLES IN {database} LIKE '{kind}'")
            if not cur.fetchall():
                continue
            cur.execute(f"DESCRIBE FORMATTED {database}.{kind}")
            location = next(row[1] for row in cur.fetchall() if row[0].strip() == "Location")
            locations.append(location.removeprefix(settings.hdfs_url))
    finally:
        conn.close()
    return fingerprint.combine(
        fingerprint.hdfs_digest(locations, settings),
        fingerprint.code_digest(questions, source, publish, sys.modules[__name__]),
        database,
        settings.rds_reports_database,
        table_prefix,
    )


def _reusable_run(s: Settings, digest: str) -> Path | None:
    """The latest published run, if it was computed from exactly these inputs and its RDS tables are
    still whole (same row counts)."""
    latest = s.reports_dir / publish.LATEST
    try:
        manifest, _ = publish.read_run(latest.resolve())
    except (FileNotFoundError, OSError):
        return None
    if manifest.get("input_fingerprint") != digest:
        return None
    with clients.rds_cursor("analyst", s.rds_reports_database, settings=s) as cur:
        for info in manifest["tables"].values():
            database, table = info["rds_table"].split(".", 1)
            if database != s.rds_reports_database:
                return None
            try:  # names from a file on disk: identifier() refuses anything but a plain name
                cur.execute(f"SELECT COUNT(*) FROM {identifier(table)}")
            except Exception:  # dropped or renamed since: recompute
                return None
            if cur.fetchone()[0] != info["rows"]:
                return None
    return latest.resolve()


def publish_use_cases(
    settings: Settings,
    spark: SparkSession | None = None,
    database: str | None = None,
    run_id: str | None = None,
    table_prefix: str = "",
    force: bool = False,
) -> UseCaseRun:
    """Stage ``usecases``: compute all ten from ``<database>.*`` and publish RDS tables and files.

    When the latest run was computed from the same input files with the same code and its RDS tables
    are whole, recomputing would publish identical tables: the run reuses that run's results instead
    (files copied under the new run id, RDS untouched, no Spark), unless ``force``."""
    from retailstream.stages.usecases.questions import USE_CASES

    s = settings
    database = checked_identifier(database or s.hive_database)
    run_id = publish.checked_run_id(run_id or new_run_id())
    publish.checked_table_prefix(table_prefix)
    digest = input_fingerprint(s, database, table_prefix)
    previous = None if force else _reusable_run(s, digest)
    if previous is not None:
        with stage_run("usecases", s) as stage:
            manifest, results = publish.read_run(previous)
            reused_from = manifest.get("reused_from") or manifest["run_id"]
            manifest = {**manifest, "run_id": run_id, "reused_from": reused_from}
            run_dir = s.reports_dir / run_id
            stage.bytes = publish.write_run_files(run_dir, results, manifest)
            stage.rows_in = sum(count or 0 for count in manifest["input_rows"].values())
            stage.rows_out = sum(table.num_rows for table in results.values())
            stage.details = {"run_id": run_id, "database": database, "reused_from": reused_from}
        log.info("use cases of %s unchanged since run %s: reused as run %s", database, reused_from, run_id)
        return UseCaseRun(
            run_id=run_id,
            database=database,
            run_dir=run_dir,
            has_store_traffic=manifest["has_store_traffic"],
            rows={name: table.num_rows for name, table in results.items()},
            rds_tables={
                name: info["rds_table"].split(".", 1)[1] for name, info in manifest["tables"].items()
            },
            reused_from=reused_from,
        )
    with stage_run("usecases", s) as stage:
        if spark is None:
            from retailstream.spark import get_spark

            spark = get_spark("retailstream-usecases", s)
        results, input_rows = compute_use_cases(spark, database)
        keys = {case.table: case.key for case in USE_CASES}
        rds_tables = publish.publish_rds(results, keys, run_id, s, table_prefix)
        manifest = {
            "run_id": run_id,
            "database": database,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "has_store_traffic": bool(input_rows["store_traffic"]),  # absent, or emptied by a retraction
            "input_rows": input_rows,
            "input_fingerprint": digest,
            "tables": {
                name: {"rows": table.num_rows, "rds_table": f"{s.rds_reports_database}.{rds_tables[name]}"}
                for name, table in results.items()
            },
        }
        run_dir = s.reports_dir / run_id
        stage.bytes = publish.write_run_files(run_dir, results, manifest)
        stage.rows_in = sum(count or 0 for count in input_rows.values())
        stage.rows_out = sum(table.num_rows for table in results.values())
        stage.details = {"run_id": run_id, "database": database}
    log.info("use cases of %s published as run %s (%s)", database, run_id, run_dir)
    return UseCaseRun(
        run_id=run_id,
        database=database,
        run_dir=run_dir,
        has_store_traffic=manifest["has_store_traffic"],
        rows={name: table.num_rows for name, table in results.items()},
        rds_tables=rds_tables,
    )


def render_report(settings: Settings, run_id: str | None = None) -> Path:
    """Stage ``report``: render ``<run>/report.html`` from the run's files; point ``latest`` at it."""
    from retailstream.quarantine import QUARANTINE_FILE, list_rejects, summary
    from retailstream.stages.usecases.report import write_report

    s = settings
    run_dir = publish.resolve_run_dir(s.reports_dir, run_id)
    with stage_run("usecases_report", s) as stage:
        manifest, tables = publish.read_run(run_dir)
        rejects = list_rejects(s)
        (run_dir / QUARANTINE_FILE).write_text(
            json.dumps({"summary": summary(rejects), "rows": [r.to_dict() for r in rejects]}, indent=1)
        )
        path = write_report(run_dir, manifest, tables, summary(rejects))
        publish.point_latest(s.reports_dir, run_dir.name)
        stage.rows_in = stage.rows_out = sum(table.num_rows for table in tables.values())
        stage.bytes = path.stat().st_size
    return path


def run_all(
    settings: Settings,
    spark: SparkSession | None = None,
    database: str | None = None,
    run_id: str | None = None,
    table_prefix: str = "",
) -> UseCaseRun:
    """Compute the ten use cases, publish them to RDS and files, and render the HTML report."""
    run = publish_use_cases(settings, spark, database, run_id, table_prefix)
    run.report = render_report(settings, run.run_id)
    return run
