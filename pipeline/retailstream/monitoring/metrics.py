"""Per-run stage metrics, pushed to the Pushgateway (job ``settings.metrics_job``, labels stage+pipeline).

Batch stages are not scraped, so each run pushes gauges describing itself. Usage::

    with stage_run("upload") as run:
        ...
        run.rows_in += n; run.rows_out += m; run.bytes += size

On success every gauge is pushed, including the last-success timestamp; on failure only status,
duration and the run timestamp are pushed (POST semantics keep the previous last-success value).
A Pushgateway outage is logged, never fatal: metrics must not break the pipeline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from prometheus_client import CollectorRegistry, Gauge, delete_from_gateway, pushadd_to_gateway

from retailstream import steps
from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)

STAGES = steps.NAMES  # the `stage` label of every pushed group is a step name
PREFIX = "retailstream_stage_"


@dataclass
class StageReport:
    """The one record of a step's run: what ``stage_run`` yields to the stage, pushes when the run ends
    and leaves for the stage to return. What a stage knows beyond the row counts (per dataset, per
    object, per table) goes in ``details``."""

    stage: str  # the step's name (retailstream.steps), the `stage` label of its metrics
    rows_in: int = 0
    rows_out: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    bytes: int = 0
    seconds: float = 0.0
    ok: bool = False
    details: dict = field(default_factory=dict)

    def reconciles(self) -> bool:
        """Input rows are all accounted for: loaded, quarantined or dropped as duplicates."""
        return self.rows_in == self.rows_out + self.rows_quarantined + self.rows_duplicate

    def to_dict(self) -> dict:
        return asdict(self)


def push_stage_metrics(run: StageReport, settings: Settings | None = None) -> None:
    s = settings or get_settings()
    registry = CollectorRegistry()
    labels = ("stage", "pipeline")

    def gauge(name: str, doc: str, value: float) -> None:
        Gauge(PREFIX + name, doc, labels, registry=registry).labels(run.stage, s.pipeline_name).set(value)

    now = time.time()
    gauge("last_status", "1 when the stage's last run succeeded, 0 when it failed", 1 if run.ok else 0)
    gauge("duration_seconds", "wall time of the stage's last run", run.seconds)
    gauge("last_run_timestamp_seconds", "when the stage's last run ended", now)
    if run.ok:
        gauge("last_success_timestamp_seconds", "when the stage last succeeded", now)
        gauge("rows_in", "rows the last successful run read", run.rows_in)
        gauge("rows_out", "rows the last successful run loaded or wrote", run.rows_out)
        gauge("rows_quarantined", "rows the last successful run quarantined", run.rows_quarantined)
        gauge("rows_duplicate", "rows the last successful run dropped as duplicates", run.rows_duplicate)
        gauge("bytes", "bytes the last successful run moved", run.bytes)
    try:
        pushadd_to_gateway(
            s.pushgateway_url,
            job=s.metrics_job,
            registry=registry,
            grouping_key={"stage": run.stage, "pipeline": s.pipeline_name},
            timeout=5,
        )
    except OSError as exc:
        log.warning("metrics for stage %s not pushed (%s): %s", run.stage, s.pushgateway_url, exc)


def delete_pushed_metrics(settings: Settings) -> None:
    """Drop every Pushgateway group of ``settings.pipeline_name`` (stage and pipeline gauges), e.g. a
    test pipeline's, so Prometheus stops seeing its series."""
    pipeline = settings.pipeline_name
    stages = STAGES + steps.RETIRED_NAMES
    groups = [{"stage": stage, "pipeline": pipeline} for stage in stages] + [{"pipeline": pipeline}]
    for grouping_key in groups:
        delete_from_gateway(
            settings.pushgateway_url, job=settings.metrics_job, grouping_key=grouping_key, timeout=5
        )


@contextmanager
def stage_run(stage: str, settings: Settings | None = None) -> Iterator[StageReport]:
    """Time the step's run, let the stage fill in its report, push it when the run ends (ok or not)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}")
    run = StageReport(stage)
    started = time.monotonic()
    try:
        yield run
        run.ok = True
    finally:
        run.seconds = round(time.monotonic() - started, 3)
        push_stage_metrics(run, settings)
        log.info(
            "stage=%s ok=%s rows_in=%d rows_out=%d rows_quarantined=%d rows_duplicate=%d seconds=%.2f",
            stage,
            run.ok,
            run.rows_in,
            run.rows_out,
            run.rows_quarantined,
            run.rows_duplicate,
            run.seconds,
        )
