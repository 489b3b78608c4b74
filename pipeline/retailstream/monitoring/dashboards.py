"""Grafana dashboards as code (grafana-foundation-sdk), generated into ``grafana/dashboards/*.json``.

Three dashboards, all on the Prometheus datasource provisioned with uid ``retailstream-prometheus``
(``grafana/provisioning/datasources/prometheus.yml``):

- **RetailStream pipeline** — the per-run stage metrics pushed by ``stage_run``: last status, freshness,
  durations against the budgets, rows in/out/quarantined/duplicate, quarantine ratio, bytes. Filtered by
  the ``pipeline`` and ``stage`` template variables.
- **RetailStream services** — engine health from the service probes, the load-event queues, Prometheus
  scrape targets, alert notifications delivered.
- **RetailStream Airflow** — Airflow's StatsD metrics through statsd_exporter: scheduler, executor,
  pools, task instances and DAG runs by ``dag_id``.

``retailstream monitoring dashboards`` rewrites the JSON; a unit test keeps the committed files equal to
the generated ones, and ``check_panel_queries`` runs every panel's PromQL against a live Prometheus.
The classic dashboard JSON model is generated (not the SDK's v2 resources, which the SDK recommends in a
DeprecationWarning): it is what Grafana's file provisioning loads, in every Grafana version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models import prometheus as prometheus_models
from grafana_foundation_sdk.models.common import DataSourceRef

from retailstream.settings import PROJECT_ROOT, Settings, get_settings

DASHBOARDS_DIR = PROJECT_ROOT / "grafana" / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="retailstream-prometheus")
TAGS = ["retailstream"]

# Pipeline-overview filter, used by every query of that dashboard.
PIPE = 'pipeline="$pipeline", stage=~"$stage"'
WEEK_PLUS_GRACE = (7 * 24 + 6) * 3600  # NoSuccessfulRunInWindow's threshold (prometheus/rules/pipeline.yml)


class _Ids:
    """Unique panel ids within one dashboard (Grafana needs them for links and panel views)."""

    def __init__(self) -> None:
        self.last = 0

    def __call__(self) -> int:
        self.last += 1
        return self.last


def _query(expr: str, legend: str = "", ref: str = "A", instant: bool = False, table_format: bool = False):
    query = prometheus.Dataquery().expr(expr).ref_id(ref)
    if legend:
        query = query.legend_format(legend)
    if instant:
        query = query.instant()
    if table_format:
        query = query.format(prometheus_models.PromQueryFormat.TABLE)
    return query


def _thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=value, color=color) for value, color in steps])
    )


def _status_mapping(ok: str, failed: str) -> list[models.ValueMap]:
    return [
        models.ValueMap(
            options={
                "1": models.ValueMappingResult(text=ok, color="green", index=0),
                "0": models.ValueMappingResult(text=failed, color="red", index=1),
            }
        )
    ]


def _last_value() -> common.ReduceDataOptions:
    return common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def _timeseries(ids: _Ids, title: str, description: str, unit: str, *queries, width: int = 12):
    return (
        timeseries.Panel()
        .id(ids())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(list(queries))
        .unit(unit)
        .line_interpolation(common_models.LineInterpolation.STEP_AFTER)
        .legend(
            common.VizLegendOptions()
            .show_legend(True)
            .display_mode(common_models.LegendDisplayMode.LIST)
            .placement(common_models.LegendPlacement.BOTTOM)
        )
        .span(width)
        .height(8)
    )


def _stat(ids: _Ids, title: str, description: str, unit: str, query, width: int, height: int = 5):
    return (
        stat.Panel()
        .id(ids())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query)
        .unit(unit)
        .reduce_options(_last_value())
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .span(width)
        .height(height)
    )


def _dashboard(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .refresh("30s")
        .timezone("utc")
        .link(
            dashboard.DashboardLink("RetailStream")
            .type(models.DashboardLinkType.DASHBOARDS)
            .tags(TAGS)
            .as_dropdown(True)
        )
    )


def pipeline_overview() -> dashboard.Dashboard:
    ids = _Ids()
    pipeline_var = (
        dashboard.QueryVariable("pipeline")
        .label("Pipeline")
        .datasource(DATASOURCE)
        .query("label_values(retailstream_stage_last_status, pipeline)")
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .current(models.VariableOption(selected=True, text="retailstream", value="retailstream"))
    )
    stage_var = (
        dashboard.QueryVariable("stage")
        .label("Stage")
        .datasource(DATASOURCE)
        .query('label_values(retailstream_stage_last_status{pipeline="$pipeline"}, stage)')
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(models.VariableOption(selected=True, text="All", value="$__all"))
    )
    last_run_table = (
        table.Panel()
        .id(ids())
        .title("Last run of each stage")
        .description(
            "One row per stage: status of its last run (1 ok, 0 failed), when that run ended, its duration "
            "and, for the last successful run, rows read/written/quarantined/dropped as duplicates and "
            "bytes moved. rows in = rows out + quarantined + duplicates when nothing was lost."
        )
        .datasource(DATASOURCE)
        .targets(
            [
                _query(
                    f"retailstream_stage_last_status{{{PIPE}}}", ref="status", instant=True, table_format=True
                ),
                _query(
                    f"retailstream_stage_last_run_timestamp_seconds{{{PIPE}}} * 1000",
                    ref="ended",
                    instant=True,
                    table_format=True,
                ),
                _query(
                    f"retailstream_stage_duration_seconds{{{PIPE}}}",
                    ref="seconds",
                    instant=True,
                    table_format=True,
                ),
                *(
                    _query(f"retailstream_stage_{name}{{{PIPE}}}", ref=name, instant=True, table_format=True)
                    for name in ("rows_in", "rows_out", "rows_quarantined", "rows_duplicate", "bytes")
                ),
            ]
        )
        .with_transformation(models.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            models.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True, "__name__": True, "job": True, "instance": True},
                    "renameByName": {
                        "Value #status": "status",
                        "Value #ended": "last run ended",
                        "Value #seconds": "duration",
                        "Value #rows_in": "rows in",
                        "Value #rows_out": "rows out",
                        "Value #rows_quarantined": "quarantined",
                        "Value #rows_duplicate": "duplicates",
                        "Value #bytes": "bytes",
                    },
                },
            )
        )
        .override_by_name(
            "status", [models.DynamicConfigValue(id_val="mappings", value=_status_mapping("OK", "FAILED"))]
        )
        .override_by_name("last run ended", [models.DynamicConfigValue(id_val="unit", value="dateTimeAsIso")])
        .override_by_name("duration", [models.DynamicConfigValue(id_val="unit", value="s")])
        .override_by_name("bytes", [models.DynamicConfigValue(id_val="unit", value="bytes")])
        .span(24)
        .height(9)
    )
    return (
        _dashboard(
            "retailstream-pipeline",
            "RetailStream pipeline",
            "Per-run metrics of the ten pipeline stages, pushed to the Pushgateway by stage_run.",
        )
        .time("now-7d", "now")
        .with_variable(pipeline_var)
        .with_variable(stage_var)
        .with_row(dashboard.Row("Last run").id(ids()))
        .with_panel(
            _stat(
                ids,
                "Last run status",
                "Result of each stage's last run: OK, or FAILED (alert PipelineRunFailed fires until a run "
                "of that stage succeeds).",
                "none",
                _query(f"retailstream_stage_last_status{{{PIPE}}}", "{{stage}}", instant=True),
                width=16,
            )
            .mappings(_status_mapping("OK", "FAILED"))
            .color_mode(common_models.BigValueColorMode.BACKGROUND)
            .text_mode(common_models.BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(
            _stat(
                ids,
                "Failed stages",
                "How many stages' last run failed.",
                "none",
                _query(f"count(retailstream_stage_last_status{{{PIPE}}} == 0) or vector(0)", instant=True),
                width=4,
            )
            .thresholds(_thresholds((None, "green"), (1, "red")))
            .color_mode(common_models.BigValueColorMode.BACKGROUND)
        )
        .with_panel(
            _stat(
                ids,
                "Firing alerts",
                "Alerts currently firing for this pipeline (PipelineRunFailed, StageSlowerThanBudget, "
                "NoSuccessfulRunInWindow, QuarantineRatioHigh); Alertmanager at :9093 lists them.",
                "none",
                _query('count(ALERTS{alertstate="firing", pipeline="$pipeline"}) or vector(0)', instant=True),
                width=4,
            )
            .thresholds(_thresholds((None, "green"), (1, "orange")))
            .color_mode(common_models.BigValueColorMode.BACKGROUND)
        )
        .with_panel(
            _stat(
                ids,
                "Freshness: time since last success",
                "Time since each stage last succeeded. The DAG runs weekly (Mondays 06:00 UTC): orange after "
                "7 days, red after 7 days + 6 h (alert NoSuccessfulRunInWindow).",
                "s",
                _query(
                    f"time() - retailstream_stage_last_success_timestamp_seconds{{{PIPE}}}",
                    "{{stage}}",
                    instant=True,
                ),
                width=24,
            )
            .thresholds(_thresholds((None, "green"), (7 * 24 * 3600, "orange"), (WEEK_PLUS_GRACE, "red")))
            .color_mode(common_models.BigValueColorMode.BACKGROUND)
            .text_mode(common_models.BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(last_run_table)
        .with_row(dashboard.Row("Durations").id(ids()))
        .with_panel(
            _timeseries(
                ids,
                "Duration per stage",
                "Wall time of each stage's last run (a step at every run), and the stage budgets "
                "(prometheus/rules/stage_budgets.yml) as dashed lines.",
                "s",
                _query(f"retailstream_stage_duration_seconds{{{PIPE}}}", "{{stage}}"),
                _query('retailstream:stage_budget_seconds{stage=~"$stage"}', "{{stage}} budget", ref="B"),
            ).override_by_regexp(
                ".* budget",
                [
                    models.DynamicConfigValue(
                        id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}
                    )
                ],
            )
        )
        .with_panel(
            bargauge.Panel()
            .id(ids())
            .title("Last run duration / budget")
            .description(
                "Each stage's last duration as a share of its budget; above 100% the alert "
                "StageSlowerThanBudget fires."
            )
            .datasource(DATASOURCE)
            .with_target(
                _query(
                    f"retailstream_stage_duration_seconds{{{PIPE}}} / on (stage) group_left () "
                    "retailstream:stage_budget_seconds",
                    "{{stage}}",
                    instant=True,
                )
            )
            .unit("percentunit")
            .min(0)
            .max(1.2)
            .thresholds(_thresholds((None, "green"), (0.8, "orange"), (1, "red")))
            .display_mode(common_models.BarGaugeDisplayMode.GRADIENT)
            .orientation(common_models.VizOrientation.HORIZONTAL)
            .reduce_options(_last_value())
            .span(12)
            .height(8)
        )
        .with_row(dashboard.Row("Rows and bytes").id(ids()))
        .with_panel(
            _timeseries(
                ids,
                "Rows read and written per stage",
                "Rows the last successful run of each stage read (in) and loaded or wrote (out).",
                "short",
                _query(f"retailstream_stage_rows_in{{{PIPE}}}", "{{stage}} in"),
                _query(f"retailstream_stage_rows_out{{{PIPE}}}", "{{stage}} out", ref="B"),
            )
        )
        .with_panel(
            _timeseries(
                ids,
                "Rows quarantined and duplicates per stage",
                "Rows the last successful run rejected to quarantine (with a reason) and rows it dropped as "
                "duplicates of rows already loaded.",
                "short",
                _query(f"retailstream_stage_rows_quarantined{{{PIPE}}}", "{{stage}} quarantined"),
                _query(f"retailstream_stage_rows_duplicate{{{PIPE}}}", "{{stage}} duplicates", ref="B"),
            )
        )
        .with_panel(
            _timeseries(
                ids,
                "Quarantine ratio per stage",
                "Quarantined rows / rows in, for stages that read rows. Above 5% (red line) the alert "
                "QuarantineRatioHigh fires.",
                "percentunit",
                _query(f"retailstream:stage_quarantine_ratio{{{PIPE}}}", "{{stage}}"),
            )
            .thresholds(_thresholds((None, "green"), (0.05, "red")))
            .thresholds_style(
                common.GraphThresholdsStyleConfig().mode(common_models.GraphThresholdsStyleMode.LINE)
            )
        )
        .with_panel(
            _timeseries(
                ids,
                "Bytes moved per stage",
                "Bytes the last successful run of each stage uploaded, wrote or transferred.",
                "bytes",
                _query(f"retailstream_stage_bytes{{{PIPE}}}", "{{stage}}"),
            )
        )
    )


def services_health() -> dashboard.Dashboard:
    ids = _Ids()
    return (
        _dashboard(
            "retailstream-services",
            "RetailStream services",
            "Health of the lab's engines (protocol health checks) and of the monitoring path.",
        )
        .time("now-6h", "now")
        .with_row(dashboard.Row("Engines").id(ids()))
        .with_panel(
            _stat(
                ids,
                "Engine health now",
                "Each engine's protocol health check at the last scrape (SELECT 1 on RDS, S3 ListBuckets, an "
                "HDFS write/read, a metastore Thrift call, a HiveServer2 query, Airflow and Jupyter APIs). "
                "DOWN for a minute fires ServiceDown.",
                "none",
                _query("retailstream_service_up", "{{service}}", instant=True),
                width=24,
            )
            .mappings(_status_mapping("UP", "DOWN"))
            .color_mode(common_models.BigValueColorMode.BACKGROUND)
            .text_mode(common_models.BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(
            statetimeline.Panel()
            .id(ids())
            .title("Engine health over time")
            .description("UP/DOWN of every engine's health check, scrape by scrape.")
            .datasource(DATASOURCE)
            .with_target(_query("retailstream_service_up", "{{service}}"))
            .mappings(_status_mapping("UP", "DOWN"))
            .merge_values(True)
            .show_value(common_models.VisibilityMode.NEVER)
            .span(24)
            .height(8)
        )
        .with_panel(
            _timeseries(
                ids,
                "Health check duration",
                "How long each engine took to answer its health check; one taking 8 s counts as down.",
                "s",
                _query("retailstream_service_probe_duration_seconds", "{{service}}"),
            )
        )
        .with_row(dashboard.Row("Load events (Lambda's SQS event source)").id(ids()))
        .with_panel(
            _stat(
                ids,
                "Dead-letter queue",
                "Load events that failed on every delivery and now wait in retail-curated-events-dlq: their "
                "objects are not in RDS. Above 0 for a minute fires EventsInDeadLetterQueue.",
                "none",
                _query('sum(retailstream_events_queue_messages{queue="dlq"})', instant=True),
                width=6,
                height=8,
            )
            .thresholds(_thresholds((None, "green"), (1, "red")))
            .color_mode(common_models.BigValueColorMode.BACKGROUND)
        )
        .with_panel(
            _timeseries(
                ids,
                "Event queues",
                "Messages in the load queue (retail-curated-events) and its dead-letter queue, by state "
                "(visible: waiting, in_flight: being handled, delayed), as the events runner sees them.",
                "short",
                _query("retailstream_events_queue_messages", "{{queue}} {{state}}"),
                width=18,
            )
        )
        .with_row(dashboard.Row("Monitoring path").id(ids()))
        .with_panel(
            _stat(
                ids,
                "Scrape targets",
                "Processes Prometheus scrapes directly: Prometheus, Pushgateway, Alertmanager, "
                "statsd_exporter, the events runner, the alert receiver, the service probes. DOWN for a "
                "minute fires ScrapeTargetDown.",
                "none",
                _query("up", "{{job}}", instant=True),
                width=24,
                height=4,
            )
            .mappings(_status_mapping("UP", "DOWN"))
            .color_mode(common_models.BigValueColorMode.BACKGROUND)
            .text_mode(common_models.BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(
            _timeseries(
                ids,
                "Scrape duration",
                "How long each scrape took; the service-probes scrape runs every health check.",
                "s",
                _query("scrape_duration_seconds", "{{job}}"),
            )
        )
        .with_panel(
            _timeseries(
                ids,
                "Alert notifications delivered (per hour)",
                "Notifications Alertmanager delivered to the webhook receiver, firing and resolved.",
                "short",
                _query("increase(retailstream_alert_notifications_total[1h])", "{{status}}"),
            )
        )
    )


def airflow_tasks() -> dashboard.Dashboard:
    ids = _Ids()
    dag_filter = 'dag_id=~"$dag_id"'
    dag_var = (
        dashboard.QueryVariable("dag_id")
        .label("DAG")
        .datasource(DATASOURCE)
        .query("label_values(airflow_ti_finish_total, dag_id)")
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(models.VariableOption(selected=True, text="All", value="$__all"))
    )
    return (
        _dashboard(
            "retailstream-airflow",
            "RetailStream Airflow",
            "Airflow StatsD metrics via statsd_exporter (names, labels: prometheus/statsd_mapping.yml).",
        )
        .time("now-24h", "now")
        .with_variable(dag_var)
        .with_row(dashboard.Row("Scheduler").id(ids()))
        .with_panel(
            _stat(
                ids,
                "Scheduler heartbeats per minute",
                "Scheduler loops per minute; 0 for two minutes fires AirflowSchedulerHeartbeatMissing.",
                "none",
                _query("sum(rate(airflow_scheduler_heartbeat_total[5m])) * 60", instant=True),
                width=6,
            )
            .thresholds(_thresholds((None, "red"), (1, "green")))
            .color_mode(common_models.BigValueColorMode.BACKGROUND)
        )
        .with_panel(
            _stat(
                ids,
                "DAG runs running",
                "DAG runs the scheduler currently tracks as running.",
                "none",
                _query("sum(airflow_scheduler_dagruns_running)", instant=True),
                width=6,
            )
        )
        .with_panel(
            _stat(
                ids,
                "Executor open slots",
                "Free task slots of the executor (LocalExecutor, parallelism 4).",
                "none",
                _query("sum(airflow_executor_open_slots)", instant=True),
                width=6,
            )
        )
        .with_panel(
            _stat(
                ids,
                "Tasks starving",
                "Tasks the scheduler could not queue for lack of pool slots.",
                "none",
                _query("sum(airflow_scheduler_tasks_starving)", instant=True),
                width=6,
            ).thresholds(_thresholds((None, "green"), (1, "orange")))
        )
        .with_panel(
            _timeseries(
                ids,
                "Scheduler loop duration (mean)",
                "Mean time of one scheduler loop and of its critical section over the last 5 minutes.",
                "s",
                _query(
                    "rate(airflow_scheduler_scheduler_loop_duration_seconds_sum[5m]) / "
                    "rate(airflow_scheduler_scheduler_loop_duration_seconds_count[5m])",
                    "loop",
                ),
                _query(
                    "rate(airflow_scheduler_critical_section_duration_seconds_sum[5m]) / "
                    "rate(airflow_scheduler_critical_section_duration_seconds_count[5m])",
                    "critical section",
                    ref="B",
                ),
            )
        )
        .with_panel(
            _timeseries(
                ids,
                "Executor and pool slots",
                "Tasks running and queued in the executor, and open slots per pool.",
                "short",
                _query("airflow_executor_running_tasks", "running ({{executor}})"),
                _query("airflow_executor_queued_tasks", "queued ({{executor}})", ref="B"),
                _query("airflow_pool_open_slots", "open slots ({{pool}})", ref="C"),
            )
        )
        .with_row(dashboard.Row("Tasks and DAG runs").id(ids()))
        .with_panel(
            table.Panel()
            .id(ids())
            .title("Task instances finished, by state")
            .description(
                "Task instances that finished since statsd_exporter started, per DAG, task and state."
            )
            .datasource(DATASOURCE)
            .with_target(
                _query(
                    f"sum by (dag_id, task_id, state) (airflow_ti_finish_total{{{dag_filter}}})",
                    instant=True,
                    table_format=True,
                )
            )
            .with_transformation(
                models.DataTransformerConfig(
                    id_val="organize",
                    options={"excludeByName": {"Time": True}, "renameByName": {"Value": "task instances"}},
                )
            )
            .span(12)
            .height(8)
        )
        .with_panel(
            _timeseries(
                ids,
                "Task instances finished per hour",
                "Finished task instances per hour by DAG and state (success, failed, up_for_retry, …).",
                "short",
                _query(
                    f"sum by (dag_id, state) (increase(airflow_ti_finish_total{{{dag_filter}}}[1h]))",
                    "{{dag_id}} {{state}}",
                ),
            )
        )
        .with_panel(
            _timeseries(
                ids,
                "Mean task duration",
                "Mean run time of each task since statsd_exporter started.",
                "s",
                _query(
                    f"sum by (dag_id, task_id) (airflow_task_duration_seconds_sum{{{dag_filter}}}) / "
                    f"sum by (dag_id, task_id) (airflow_task_duration_seconds_count{{{dag_filter}}})",
                    "{{dag_id}}.{{task_id}}",
                ),
            )
        )
        .with_panel(
            _timeseries(
                ids,
                "Mean DAG run duration",
                "Mean duration of DAG runs since statsd_exporter started, by DAG and final state.",
                "s",
                _query(
                    f"sum by (dag_id, state) (airflow_dagrun_duration_seconds_sum{{{dag_filter}}}) / "
                    f"sum by (dag_id, state) (airflow_dagrun_duration_seconds_count{{{dag_filter}}})",
                    "{{dag_id}} {{state}}",
                ),
            )
        )
    )


DASHBOARDS = {
    "pipeline-overview.json": pipeline_overview,
    "services-health.json": services_health,
    "airflow-tasks.json": airflow_tasks,
}


def render(board: dashboard.Dashboard) -> str:
    return JSONEncoder(sort_keys=True, indent=2).encode(board.build()) + "\n"


def generated() -> dict[str, str]:
    """File name → dashboard JSON text, as generated from this module."""
    return {name: render(build()) for name, build in DASHBOARDS.items()}


def write_dashboards(directory: Path = DASHBOARDS_DIR, dry_run: bool = False) -> list[Path]:
    """Write every dashboard whose JSON changed; return those paths (only report them when dry_run)."""
    changed = []
    for name, text in generated().items():
        path = directory / name
        if path.exists() and path.read_text() == text:
            continue
        changed.append(path)
        if not dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return changed


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref_id: str
    expr: str


def panel_queries(boards: dict[str, str] | None = None) -> list[PanelQuery]:
    """Every PromQL query of every panel (rows excluded) of the generated dashboards."""
    queries = []
    for text in (boards or generated()).values():
        board = json.loads(text)
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                queries.append(PanelQuery(board["title"], panel["title"], target["refId"], target["expr"]))
    return queries


def variable_queries(boards: dict[str, str] | None = None) -> dict[str, str]:
    """Template variable name → its ``label_values(...)`` query, over all dashboards."""
    return {
        variable["name"]: variable["query"]
        for text in (boards or generated()).values()
        for variable in json.loads(text).get("templating", {}).get("list", [])
        if variable.get("type") == "query"
    }


def substitute(expr: str, variables: dict[str, str]) -> str:
    """``expr`` with Grafana's ``$name``/``${name}`` variables replaced (what Grafana sends Prometheus)."""

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables:
            raise KeyError(f"no value for dashboard variable ${name} in {expr!r}")
        return variables[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def check_panel_queries(
    settings: Settings | None = None, variables: dict[str, str] | None = None, lookback: float = 900
) -> list[PanelQuery]:
    """Run every panel query against Prometheus over the last ``lookback`` seconds (a range query, as a
    Grafana panel does); return the queries that returned no series. Variables default to the dashboards'
    own defaults: ``pipeline`` = settings.pipeline_name, every stage and DAG."""
    import time

    import requests

    s = settings or get_settings()
    values = {"pipeline": s.pipeline_name, "stage": ".*", "dag_id": ".*", **(variables or {})}
    empty = []
    now = time.time()
    for query in panel_queries():
        response = requests.get(
            f"{s.prometheus_url}/api/v1/query_range",
            params={"query": substitute(query.expr, values), "start": now - lookback, "end": now, "step": 15},
            timeout=30,
        )
        body = response.json()
        if body.get("status") != "success":
            raise ValueError(f"{query.dashboard} / {query.panel}: {body.get('error')} in {query.expr!r}")
        if not body["data"]["result"]:
            empty.append(query)
    return empty
