"""Stage ``consolidate``: check the RDS tables before they are transferred, and report what was found.

The checks (``consolidation.checks``) read as the read-only ``analyst`` user; their results are written
by ``pipeline`` to ``consolidation_report`` (one row per table and check, with the keys of a few flagged
rows) and returned. Nothing is changed in the checked tables: RDS keeps what stage 1 loaded, and the
report (or ``fail_on_error``) decides whether the transfer should go ahead.

The checks are a function of the tables' contents: a run whose tables and checks are those of an earlier
run (``CHECKSUM TABLE`` of each table and the checks' SQL, in ``consolidation_runs``) returns that run's
findings instead of scanning again — a weekly run with nothing new costs one checksum pass. The one check
that depends on the clock (``updated_at_in_future``) is why a run that flagged it is never reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from retailstream import clients
from retailstream.monitoring.metrics import stage_run
from retailstream.rds.schema import ensure_schema
from retailstream.settings import Settings
from retailstream.stages.consolidate.checks import (
    TABLES,
    Severity,
    query_checks,
    row_checks,
    row_sample_sql,
    row_scan_sql,
)
from retailstream.warehouse import identifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    table: str
    check: str
    severity: Severity
    detail: str
    rows_checked: int
    rows_flagged: int
    sample: list[dict] = field(default_factory=list)


CLOCK_CHECKS = ("updated_at_in_future",)  # a row can leave this state without any change to the table


@dataclass
class ConsolidationReport:
    run_id: str
    checked_at: datetime
    results: list[CheckResult] = field(default_factory=list)
    reused: bool = False  # the findings of an earlier run over the same tables and checks

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if r.severity == "error" and r.rows_flagged]

    @property
    def ok(self) -> bool:
        return not self.errors

    def flagged(self, table: str, check: str) -> int:
        return next(r.rows_flagged for r in self.results if r.table == table and r.check == check)

    def rows_checked(self) -> int:
        return sum({r.table: r.rows_checked for r in self.results}.values())


class ConsolidationError(RuntimeError):
    def __init__(self, report: ConsolidationReport):
        self.report = report
        found = "; ".join(f"{r.table}.{r.check}: {r.rows_flagged} rows ({r.detail})" for r in report.errors)
        super().__init__(f"consolidation run {report.run_id} found errors: {found}")


def _jsonable(value):
    return value.isoformat() if isinstance(value, date) else value


def _sample(cur, sql: str, params: tuple) -> list[dict]:
    cur.execute(sql, params)
    names = [column[0] for column in cur.description]
    return [
        {name: _jsonable(value) for name, value in zip(names, row, strict=True)} for row in cur.fetchall()
    ]


def check_table(cur, kind: str, names: dict[str, str]) -> list[CheckResult]:
    """Run every check of one table; ``names`` maps each kind to its RDS table name."""
    table = names[kind]
    checks = row_checks(kind)
    sql, params = row_scan_sql(table, checks)
    cur.execute(sql, params)
    total, *flagged = (int(value) for value in cur.fetchone())
    results = []
    for check, count in zip(checks, flagged, strict=True):
        sample = _sample(cur, row_sample_sql(table, kind, check), check.params) if count else []
        results.append(CheckResult(table, check.name, check.severity, check.detail, total, count, sample))
    for check in query_checks(kind, names):
        cur.execute(check.count_sql, check.params)
        count = int(cur.fetchone()[0])
        sample = _sample(cur, check.sample_sql, check.params) if count else []
        results.append(CheckResult(table, check.name, check.severity, check.detail, total, count, sample))
    return results


def consolidate(
    settings: Settings,
    *,
    tables: Sequence[str] = TABLES,
    suffix: str = "",
    fail_on_error: bool = False,
) -> ConsolidationReport:
    """Check ``tables`` (named ``<table><suffix>`` in the RDS database), record and return the findings.

    With ``fail_on_error`` a finding of severity ``error`` raises ``ConsolidationError`` after the report
    was written.
    """
    s = settings
    names = {kind: f"{kind}{suffix}" for kind in TABLES}
    with stage_run("consolidate", s) as run:
        ensure_schema(s)
        with clients.rds_cursor("analyst", settings=s) as cur:
            digest = fingerprint(cur, tables, names)
            report = _earlier_run(cur, digest)
            if report is None:
                cur.execute("SELECT NOW(3)")
                report = ConsolidationReport(uuid.uuid4().hex, cur.fetchone()[0])
                for kind in tables:
                    report.results.extend(check_table(cur, kind, names))
        if report.reused:
            log.info("consolidate.unchanged: tables and checks as in run %s; its findings", report.run_id)
        else:
            _record(report, digest, s)
        run.rows_in = run.rows_out = report.rows_checked()
        run.details.update(
            run_id=report.run_id,
            reused=report.reused,
            flagged={f"{r.table}.{r.check}": r.rows_flagged for r in report.results},
        )
        for result in report.results:
            if result.rows_flagged:
                log.warning(
                    "%s %s.%s: %d rows (%s) e.g. %s",
                    result.severity,
                    result.table,
                    result.check,
                    result.rows_flagged,
                    result.detail,
                    result.sample,
                )
    if fail_on_error and not report.ok:
        raise ConsolidationError(report)
    return report


def fingerprint(cur, tables: Sequence[str], names: dict[str, str]) -> str:
    """sha256 of the checked tables' live checksums (one pass over each) and of every check's SQL."""
    checked = [names[kind] for kind in tables]
    cur.execute("CHECKSUM TABLE " + ", ".join(identifier(table) for table in checked))
    parts = [f"{table}={checksum}" for table, checksum in cur.fetchall()]
    for kind in tables:
        parts.append(repr(row_scan_sql(names[kind], row_checks(kind))))
        parts += [repr((c.name, c.count_sql, c.params)) for c in query_checks(kind, names)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _earlier_run(cur, digest: str) -> ConsolidationReport | None:
    cur.execute(
        "SELECT run_id, checked_at FROM consolidation_runs WHERE fingerprint = %s "
        "ORDER BY checked_at DESC LIMIT 1",
        (digest,),
    )
    found = cur.fetchone()
    if found is None:
        return None
    cur.execute(
        "SELECT table_name, check_name, severity, detail, rows_checked, rows_flagged, sample "
        "FROM consolidation_report WHERE run_id = %s",
        (found[0],),
    )
    results = sorted(
        (
            CheckResult(table, check, severity, detail, int(n), int(flagged), json.loads(sample or "[]"))
            for table, check, severity, detail, n, flagged, sample in cur.fetchall()
        ),
        key=lambda r: (r.table, r.check),
    )
    if not results or any(r.check in CLOCK_CHECKS and r.rows_flagged for r in results):
        return None
    return ConsolidationReport(found[0], found[1], results, reused=True)


def _record(report: ConsolidationReport, digest: str, s: Settings) -> None:
    with clients.rds_cursor("pipeline", settings=s) as cur:
        cur.executemany(
            "INSERT INTO consolidation_report (run_id, checked_at, table_name, check_name, severity, "
            "rows_checked, rows_flagged, detail, sample) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    report.run_id,
                    report.checked_at,
                    r.table,
                    r.check,
                    r.severity,
                    r.rows_checked,
                    r.rows_flagged,
                    r.detail,
                    json.dumps(r.sample) if r.sample else None,
                )
                for r in report.results
            ],
        )
        cur.execute(
            "INSERT INTO consolidation_runs (run_id, checked_at, fingerprint) VALUES (%s, %s, %s)",
            (report.run_id, report.checked_at, digest),
        )
