"""`make demo`: prepare the data, trigger the DAG through Airflow's REST API, follow it live, summarise.

The summary's numbers come from where the pipeline itself records them: per-stage rows and durations
from the Pushgateway (what every stage pushed for this run), the ten headline answers from the use-case
run's ``findings.json``, task states and durations from Airflow. A run that found nothing new (another
run did the work) moves no rows, so the summary also shows what every hop holds now (``pipeline_state``).
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.live import Live
from rich.table import Table

from retailstream.monitoring.metrics import PREFIX, STAGES
from retailstream.orchestration.airflow_api import AirflowClient, TaskState
from retailstream.orchestration.stages import safe_run_id
from retailstream.settings import Settings, get_settings
from retailstream.steps import NAMES

DAG_ID = "retailstream"
STATE_STYLE = {
    "success": "green",
    "failed": "red",
    "upstream_failed": "red",
    "running": "yellow",
    "up_for_retry": "magenta",
    "queued": "cyan",
    "scheduled": "cyan",
}


@dataclass
class StageMetrics:
    stage: str
    status: float | None = None
    rows_in: float | None = None
    rows_out: float | None = None
    rows_quarantined: float | None = None
    rows_duplicate: float | None = None
    duration_seconds: float | None = None
    last_run_timestamp_seconds: float | None = None


def stage_metrics(settings: Settings | None = None) -> dict[str, StageMetrics]:
    """The gauges each stage last pushed for this pipeline, read back from the Pushgateway."""
    s = settings or get_settings()
    text = requests.get(f"{s.pushgateway_url}/metrics", timeout=10).text
    found: dict[str, StageMetrics] = {}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith(PREFIX):
            continue
        field = family.name.removeprefix(PREFIX).replace("last_status", "status")
        for sample in family.samples:
            labels = sample.labels
            if labels.get("pipeline") != s.pipeline_name or labels.get("stage") not in STAGES:
                continue
            metrics = found.setdefault(labels["stage"], StageMetrics(labels["stage"]))
            if hasattr(metrics, field):
                setattr(metrics, field, sample.value)
    return found


def _progress_table(states: list[TaskState], started: float) -> Table:
    by_id = {t.task_id: t for t in states}
    table = Table(title=f"DAG {DAG_ID} — {time.monotonic() - started:.0f}s", expand=False)
    for column in ("task", "state", "try", "seconds"):
        table.add_column(column)
    for task_id in NAMES:
        t = by_id.get(task_id)
        state = (t.state if t else None) or "none"
        style = STATE_STYLE.get(state, "dim")
        duration = f"{t.duration:.1f}" if t and t.duration else ""
        table.add_row(task_id, f"[{style}]{state}[/{style}]", str(t.try_number if t else ""), duration)
    return table


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def summary_tables(run_started_epoch: float, settings: Settings, findings: list[dict]) -> list[Table]:
    metrics = stage_metrics(settings)
    stages = Table(title="Per stage (rows; the upload and HDFS stages count files)")
    for column in ("stage", "status", "in", "out", "quarantined", "duplicates", "seconds"):
        stages.add_column(column, justify="right" if column not in ("stage", "status") else "left")
    for stage in STAGES:
        m = metrics.get(stage)
        if not m:
            stages.add_row(stage, "[dim]no metrics[/dim]", "", "", "", "", "")
            continue
        fresh = (m.last_run_timestamp_seconds or 0) >= run_started_epoch - 1
        status = (
            ("[green]ok[/green]" if m.status == 1 else "[red]failed[/red]") if fresh else "[dim]stale[/dim]"
        )
        stages.add_row(
            stage,
            status,
            _number(m.rows_in),
            _number(m.rows_out),
            _number(m.rows_quarantined),
            _number(m.rows_duplicate),
            f"{m.duration_seconds:.1f}" if m.duration_seconds is not None else "-",
        )
    answers = Table(title="The ten questions — headline answers", show_lines=True)
    answers.add_column("#", justify="right")
    answers.add_column("question")
    answers.add_column("answer")
    for item in findings:
        answers.add_row(str(item["number"]), item["title"], item["finding"])
    return [stages, answers]


def pipeline_state(settings: Settings) -> list[tuple[str, str, str]]:
    """(hop, what, how much) for every place the data lives, read from the services themselves."""
    import io

    import pyarrow.parquet as pq

    from retailstream import clients
    from retailstream.s3util import iter_objects
    from retailstream.stages.upload.upload import dataset_prefixes

    s = settings
    s3 = clients.aws_client("s3", s)
    rows: list[tuple[str, str, str]] = []
    raw = {name: sum(1 for _ in iter_objects(s3, s.raw_bucket, p)) for name, p in dataset_prefixes(s).items()}
    rows.append(("S3 raw", "files delivered", ", ".join(f"{k} {v:,}" for k, v in raw.items())))
    curated = {}
    for name, prefix in dataset_prefixes(s).items():
        curated[name] = sum(
            pq.read_metadata(
                io.BytesIO(s3.get_object(Bucket=s.curated_bucket, Key=o["Key"])["Body"].read())
            ).num_rows
            for o in iter_objects(s3, s.curated_bucket, prefix)
        )
    rows.append(("S3 curated", "rows (Parquet)", ", ".join(f"{k} {v:,}" for k, v in curated.items())))
    rejected = sum(
        s3.get_object(Bucket=s.quarantine_bucket, Key=o["Key"])["Body"].read().count(b"\n")
        for o in iter_objects(s3, s.quarantine_bucket, "")
    )
    rows.append(("S3 quarantine", "rejected rows", f"{rejected:,}"))
    with clients.rds_cursor("analyst", settings=s) as cur:
        counts = {}
        for table in ("stores", "sales", "store_traffic", "load_quarantine"):
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            counts[table] = cur.fetchone()[0]
    rows.append((f"RDS {s.rds_database}", "rows", ", ".join(f"{k} {v:,}" for k, v in counts.items())))
    hdfs = clients.hdfs_client(s).list(f"{s.hdfs_raw_dir}/features")
    rows.append(("HDFS", f"{s.hdfs_raw_dir}/features", f"{sum(not n.startswith('_') for n in hdfs)} files"))
    conn = clients.hive_connect(s)
    try:
        cur = conn.cursor()
        hive = {}
        for table in ("features", "stores", "sales", "store_traffic"):
            cur.execute(f"SHOW TABLES IN {s.hive_database} LIKE '{table}'")
            if cur.fetchall():
                cur.execute(f"SELECT COUNT(*) FROM {s.hive_database}.{table}")
                hive[table] = cur.fetchall()[0][0]
    finally:
        conn.close()
    rows.append((f"Hive {s.hive_database}", "rows", ", ".join(f"{k} {v:,}" for k, v in hive.items())))
    return rows


def state_table(settings: Settings) -> Table:
    table = Table(title="Where the data is now (whichever run put it there)")
    for column in ("hop", "what", "now"):
        table.add_column(column)
    for row in pipeline_state(settings):
        table.add_row(*row)
    return table


def dataset_note(settings: Settings, manifest: dict) -> str | None:
    """Say so when the prepared dataset is not the one the pipeline ingested last."""
    from retailstream import clients
    from retailstream.datasets.layout import dataset_identity, describe_dataset
    from retailstream.stages.upload.upload import DATASET_KEY

    s3 = clients.aws_client("s3", settings)
    try:
        previous = json.loads(s3.get_object(Bucket=settings.raw_bucket, Key=DATASET_KEY)["Body"].read())
    except (s3.exceptions.NoSuchKey, s3.exceptions.NoSuchBucket):
        return None
    current = dataset_identity(manifest)
    if previous == current:
        return None
    return (
        "[bold yellow]dataset changed[/bold yellow]: the pipeline last ingested "
        f"{describe_dataset(previous)}; now {describe_dataset(current)}. This run replaces it: files no "
        "longer delivered are retracted, with every row derived from them, from S3, RDS, HDFS and Hive."
    )


def read_findings(report_dir: Path) -> list[dict]:
    path = report_dir / "findings.json"
    return json.loads(path.read_text()) if path.exists() else []


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def links(settings: Settings, report: Path | None, notebooks: list[Path] = ()) -> Table:
    """Every UI and endpoint as the host reaches it (a compose stack publishes them on other ports)."""
    s = settings
    hiveserver2 = s.public_url("hiveserver2", f"{s.hiveserver2_host}:{s.hiveserver2_port}")
    rds = s.public_url("rds", f"{s.rds_host}:{s.rds_port}")
    table = Table(title="Where to look", show_header=False)
    rows = [
        ("report", s.public_path(report) if report else "-"),
        *((f"notebook {path.stem}", s.public_path(path.with_suffix(".html"))) for path in notebooks),
        (
            "Airflow",
            f"{s.public_url('airflow', s.airflow_url)}/dags/{DAG_ID}  "
            f"(user {s.airflow_admin_user}, password in .env)",
        ),
        # Debian's build serves the classic UI
        ("Prometheus", f"{s.public_url('prometheus', s.prometheus_url)}/classic/alerts"),
        (
            "Alertmanager",
            f"{s.public_url('alertmanager', s.alertmanager_url)}/api/v2/alerts  "
            "(no web UI in Debian's package; amtool)",
        ),
        ("Pushgateway", s.public_url("pushgateway", s.pushgateway_url)),
        ("JupyterLab", f"{jupyter_url(s, notebooks)}  (token in .env: RETAILSTREAM_JUPYTER_TOKEN)"),
        ("HiveServer2", f"jdbc:hive2://{hiveserver2}/{s.hive_database}"),
        ("RDS", f"mysql://{s.rds_analyst_user}@{rds}/{s.rds_reports_database}"),
    ]
    if _answers(f"{s.grafana_url}/api/health"):  # the compose stack runs it when its image could be pulled
        grafana = s.public_url("grafana", s.grafana_url)
        rows.insert(3, ("Grafana", f"{grafana}/dashboards  (admin, password in .env)"))
    for name, where in rows:
        table.add_row(name, where)
    return table


def jupyter_url(settings: Settings, notebooks: list[Path] = ()) -> str:
    """JupyterLab, at the executed notebooks' folder when JupyterLab's root (the project) holds it."""
    jupyter = settings.public_url("jupyter", settings.jupyter_url)
    folder = notebooks[0].parent if notebooks else None
    if folder is None or not folder.is_relative_to(settings.home):
        return f"{jupyter}/lab"
    return f"{jupyter}/lab/tree/{quote(str(folder.relative_to(settings.home)))}"


# The demo's synthetic data: the 1x chain, with a few bad rows and a resubmitted month so that
# quarantine and "newest file wins" show up in the summary.
DEMO_DATA = {"scale": 1, "seed": 42, "defects": 25}


def dashboards_status(settings: Settings, wait: float = 30) -> str:
    """Whether every Grafana panel's PromQL returns data now (Prometheus scrapes every few seconds, so
    give it a moment after the run)."""
    from retailstream.monitoring.dashboards import check_panel_queries, panel_queries

    deadline = time.monotonic() + wait
    while (empty := check_panel_queries(settings)) and time.monotonic() < deadline:
        time.sleep(3)
    total = len(panel_queries())
    if not empty:
        return f"dashboards: all {total} panel queries return data in Prometheus"
    missing = "; ".join(f"{q.dashboard} / {q.panel}" for q in empty)
    return f"[yellow]dashboards: {len(empty)} of {total} panel queries return no data yet:[/yellow] {missing}"


TRANSCRIPT = "demo-terminal.ansi"  # in the run's reports folder: what the demo printed, with its colours
TRANSCRIPT_WIDTH = 140


class _Terminal:
    """The demo's console plus a recording copy of what it prints, saved as the run's transcript (the
    walkthrough types it out). The copy is not interactive: it gets the live task table once, finished."""

    def __init__(self, screen: Console):
        self.screen = screen
        self.copy = Console(
            record=True,
            file=io.StringIO(),
            width=TRANSCRIPT_WIDTH,
            force_interactive=False,
            color_system="truecolor",
        )

    def print(self, *objects) -> None:
        self.screen.print(*objects)
        self.copy.print(*objects)

    def rule(self, title: str) -> None:
        self.screen.rule(title)
        self.copy.rule(title)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.copy.export_text(styles=True))


def run_demo(settings: Settings | None = None, timeout: float = 3600) -> int:
    """The whole demo; returns a process exit code (0 when the DAG run succeeded and the notebooks ran)."""
    from retailstream.datasets.generator import GenerationRequest
    from retailstream.datasets.prepare import prepare

    s = settings or get_settings()
    probe = Console()
    # Logs and CI are not terminals: keep the summary tables readable there too.
    out = _Terminal(probe if probe.is_terminal else Console(width=150))
    out.rule("RetailStream demo")
    outcome = prepare(s.datasets_dir, GenerationRequest(**DEMO_DATA), max_inflated_mb=s.max_inflated_mb)
    rows = ", ".join(f"{k} {v:,}" for k, v in outcome.manifest["rows"].items())
    out.print(f"data: {outcome.action} ({outcome.manifest['source']}): {rows}")
    for note in outcome.notes:
        out.print(f"note: {note}")
    if change := dataset_note(s, outcome.manifest):
        out.print(change)
    client = AirflowClient(s)
    errors = client.import_errors()
    if errors:
        out.print(f"[red]DAG import errors:[/red] {errors}")
        return 1
    client.wait_for_dag(DAG_ID)
    client.set_paused(DAG_ID, False)
    started_epoch, started = time.time(), time.monotonic()
    run_id = client.trigger(DAG_ID, run_id=f"demo__{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    out.print(f"triggered [bold]{run_id}[/bold] through {s.public_url('airflow', s.airflow_url)}/api/v2")
    last: list[TaskState] = []

    def show(states: list[TaskState]) -> None:
        last[:] = states
        live.update(_progress_table(states, started))

    with Live(_progress_table([], started), console=out.screen, refresh_per_second=2) as live:
        state = client.follow(DAG_ID, run_id, on_update=show, timeout=timeout)
    if not out.screen.is_interactive:
        out.screen.line()  # a non-interactive Live prints its last table without the closing newline
    out.copy.print(_progress_table(last, started))
    out.print(f"DAG run {run_id}: [bold]{state}[/bold] in {time.monotonic() - started:.0f}s")
    report_dir = s.reports_dir / safe_run_id(run_id)
    report = report_dir / "report.html"
    for table in summary_tables(started_epoch, s, read_findings(report_dir)):
        out.print(table)
    out.print(state_table(s))
    notebooks = _run_notebooks(out, run_id, s) if state == "success" else None
    out.print(links(s, report if report.exists() else None, [n.notebook for n in notebooks or ()]))
    out.print(dashboards_status(s))
    if state != "success":
        failed = [t for t in client.task_states(DAG_ID, run_id) if t.state == "failed"]
        airflow = s.public_url("airflow", s.airflow_url)
        for t in failed:
            out.print(f"[red]{t.task_id} failed[/red] — log: {airflow}/dags/{DAG_ID}/runs/{run_id}")
    out.save(report_dir / TRANSCRIPT)
    return 0 if state == "success" and notebooks is not None else 1


def _run_notebooks(out: _Terminal, run_id: str, s: Settings) -> list | None:
    """Execute the notebooks against this run; None when one failed (said on the terminal)."""
    from retailstream.notebooks.execute import NotebookError, run_notebooks

    out.print("notebooks: executing them against this run (one kernel each, one after the other)")
    try:
        executed = run_notebooks(run_id, s)
    except NotebookError as error:
        out.print(f"[red]notebooks: {error}[/red]")
        return None
    for notebook in executed:
        out.print(f"notebook {notebook.name}: {notebook.charts} charts, {notebook.seconds:.0f}s")
    return executed
