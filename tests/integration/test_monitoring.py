"""Monitoring end to end on the running lab: stage metrics through the Pushgateway, Airflow's StatsD through
statsd_exporter, engine health through the probes, into Prometheus; an induced stage failure through
Prometheus' rules and Alertmanager to the webhook receiver; every Grafana panel query against the data.

Pipeline metrics are pushed under a unique ``pipeline`` label and deleted afterwards, so the real
pipeline's series (and alerts) are never touched."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests
from prometheus_client import delete_from_gateway

from retailstream.monitoring.alert_receiver import received_notifications
from retailstream.monitoring.dashboards import check_panel_queries, substitute, variable_queries
from retailstream.monitoring.metrics import PREFIX, STAGES, stage_run

LAB_CHECK_DAG = "retailstream_lab_check"
STAGE_GAUGES = (
    "last_status",
    "duration_seconds",
    "last_run_timestamp_seconds",
    "last_success_timestamp_seconds",
    "rows_in",
    "rows_out",
    "rows_quarantined",
    "rows_duplicate",
    "bytes",
)


def _query(settings, promql: str) -> list[dict]:
    body = requests.get(
        f"{settings.prometheus_url}/api/v1/query", params={"query": promql}, timeout=10
    ).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def _wait(what: str, probe, timeout: float, interval: float = 1.0):
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f}s", pytrace=False)
        time.sleep(interval)


@pytest.fixture
def test_pipeline(settings):
    """Settings whose pipeline label is unique to this test; its Pushgateway groups are deleted after."""
    name = f"test-monitoring-{uuid.uuid4().hex[:8]}"
    yield settings.model_copy(update={"pipeline_name": name})
    for stage in STAGES:
        delete_from_gateway(
            settings.pushgateway_url,
            job=settings.metrics_job,
            grouping_key={"stage": stage, "pipeline": name},
        )


def _airflow_headers(settings) -> dict[str, str]:
    response = requests.post(
        f"{settings.airflow_url}/auth/token",
        json={"username": settings.airflow_admin_user, "password": settings.secret("airflow_admin_password")},
        timeout=10,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def lab_check_run(lab, settings) -> dict:
    """One run of the lab-check DAG, triggered through Airflow's REST API, finished successfully."""
    headers = _airflow_headers(settings)
    dag_url = f"{settings.airflow_url}/api/v2/dags/{LAB_CHECK_DAG}"
    # The DAG processor parses new DAG files every 15 s: on a fresh lab the DAG may not be known yet.
    _wait(
        f"DAG {LAB_CHECK_DAG} parsed by Airflow",
        lambda: requests.get(dag_url, headers=headers, timeout=10).ok,
        60,
    )
    run = requests.post(f"{dag_url}/dagRuns", headers=headers, json={"logical_date": None}, timeout=10)
    assert run.status_code == 200, run.text
    run_url = f"{dag_url}/dagRuns/{run.json()['dag_run_id']}"

    def finished():
        state = requests.get(run_url, headers=headers, timeout=10).json()["state"]
        return state if state in ("success", "failed") else None

    assert _wait(f"{LAB_CHECK_DAG} run finished", finished, 180, interval=2) == "success"
    yield run.json()
    requests.delete(run_url, headers=_airflow_headers(settings), timeout=10).raise_for_status()


def test_prometheus_scrapes_every_exporter_and_every_engine_is_up(lab, settings):
    jobs = {
        "prometheus",
        "pushgateway",
        "alertmanager",
        "statsd-exporter",
        "alert-receiver",
        "service-probes",
    }
    if "events-runner" in {svc.name for svc in lab.services()}:
        jobs.add("events-runner")

    def targets_up():
        up = {r["metric"]["job"]: r["value"][1] for r in _query(settings, "up")}
        return all(up.get(job) == "1" for job in jobs) and up

    up = _wait(f"every scrape target up ({sorted(jobs)})", targets_up, 45)
    assert jobs <= set(up)

    engines = {"rds", "s3", "hdfs_namenode", "hdfs_datanode", "hive_metastore", "hiveserver2", "airflow_db"}
    engines |= {"yarn_resourcemanager", "yarn_nodemanager"}

    def engines_up():  # a lab started a moment ago may not have had its first probe scrape yet
        health = {r["metric"]["service"]: r["value"][1] for r in _query(settings, "retailstream_service_up")}
        return engines <= set(health) and health

    health = _wait(f"a probe result for every engine ({sorted(engines)})", engines_up, 45)
    assert {service for service in engines if health[service] != "1"} == set()


def test_alert_rules_are_loaded_and_evaluate_cleanly(lab, settings):
    groups = requests.get(f"{settings.prometheus_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
    required = {
        "PipelineRunFailed",
        "StageSlowerThanBudget",
        "NoSuccessfulRunInWindow",
        "QuarantineRatioHigh",
    }
    assert required | {"ServiceDown", "retailstream:stage_budget_seconds"} <= set(rules)
    broken = {name: rule.get("lastError") for name, rule in rules.items() if rule["health"] == "err"}
    assert broken == {}
    budgets = {
        r["metric"]["stage"]: float(r["value"][1])
        for r in _query(settings, "retailstream:stage_budget_seconds")
    }
    assert set(budgets) == set(STAGES) and all(seconds > 0 for seconds in budgets.values())


def _alert_at_receiver(settings, since: float, pipeline: str, status: str) -> dict | None:
    for notification in received_notifications(since, settings):
        for alert in notification["alerts"]:
            labels = alert["labels"]
            if (labels.get("alertname"), labels.get("pipeline"), alert["status"]) == (
                "PipelineRunFailed",
                pipeline,
                status,
            ):
                return alert
    return None


def test_a_failed_stage_fires_pipeline_run_failed_at_the_receiver_then_resolves(lab, test_pipeline):
    pipeline = test_pipeline.pipeline_name
    started = time.time()
    with pytest.raises(RuntimeError, match="induced"), stage_run("transfer", settings=test_pipeline):
        raise RuntimeError("induced failure for the monitoring test")

    fired = _wait(
        "PipelineRunFailed notification at the webhook receiver",
        lambda: _alert_at_receiver(test_pipeline, started, pipeline, "firing"),
        60,
    )
    fired_after = time.time() - started
    assert fired["labels"]["stage"] == "transfer"
    assert fired["labels"]["severity"] == "critical"
    assert fired["annotations"]["summary"] == f"Stage transfer of pipeline {pipeline} failed"

    with stage_run("transfer", settings=test_pipeline) as run:
        run.rows_in = run.rows_out = 10
    recovered = time.time()
    resolved = _wait(
        "the resolved PipelineRunFailed notification",
        lambda: _alert_at_receiver(test_pipeline, started, pipeline, "resolved"),
        60,
    )
    assert resolved["labels"]["stage"] == "transfer"
    assert resolved["endsAt"] > fired["startsAt"]
    print(f"fired after {fired_after:.1f}s, resolved {time.time() - recovered:.1f}s after the successful run")


def test_airflow_task_metrics_reach_prometheus_through_statsd(lab_check_run, settings):
    selector = (
        f'airflow_ti_finish_total{{dag_id="{LAB_CHECK_DAG}", task_id="probe_services", state="success"}}'
    )
    finished = _wait(
        "the lab-check task's StatsD counter in Prometheus", lambda: _query(settings, selector), 45
    )
    assert float(finished[0]["value"][1]) >= 1
    durations = _query(settings, f'airflow_task_duration_seconds_count{{dag_id="{LAB_CHECK_DAG}"}}')
    assert durations and float(durations[0]["value"][1]) >= 1


def _push_every_stage(settings) -> dict[str, int]:
    """Every stage runs once under the test's pipeline label, with plausible numbers (under 1% quarantine)."""
    rows_in = {}
    for i, stage in enumerate(STAGES):
        with stage_run(stage, settings=settings) as run:
            run.rows_in = 1000 * (i + 1)
            run.rows_quarantined = i
            run.rows_duplicate = 2 * i
            run.rows_out = run.rows_in - run.rows_quarantined - run.rows_duplicate
            run.bytes = 4096 * (i + 1)
        rows_in[stage] = run.rows_in
    return rows_in


def test_every_pipeline_series_and_every_dashboard_query_has_data(
    lab, settings, test_pipeline, lab_check_run
):
    pipeline = test_pipeline.pipeline_name
    rows_in = _push_every_stage(test_pipeline)

    def pipeline_series():
        found = _query(settings, f'{{__name__=~"{PREFIX}.+", pipeline="{pipeline}"}}')
        return len(found) == len(STAGES) * len(STAGE_GAUGES) and found

    series = _wait("every stage gauge of the test pipeline in Prometheus", pipeline_series, 45)
    assert {(r["metric"]["__name__"].removeprefix(PREFIX), r["metric"]["stage"]) for r in series} == {
        (gauge, stage) for gauge in STAGE_GAUGES for stage in STAGES
    }
    pushed = {
        r["metric"]["stage"]: int(float(r["value"][1]))
        for r in series
        if r["metric"]["__name__"].endswith("rows_in")
    }
    assert pushed == rows_in

    variables = {"pipeline": pipeline, "stage": ".*", "dag_id": ".*"}
    # Some Airflow gauges arrive only every few scheduler loops: allow them a minute and a half.
    deadline = time.monotonic() + 90
    while (empty := check_panel_queries(settings, variables)) and time.monotonic() < deadline:
        time.sleep(5)
    assert [f"{q.dashboard} / {q.panel} [{q.ref_id}]: {q.expr}" for q in empty] == []

    for name, query in variable_queries().items():
        selector, label = re.fullmatch(r"label_values\((.+), (\w+)\)", query).groups()
        values = requests.get(
            f"{settings.prometheus_url}/api/v1/label/{label}/values",
            params={"match[]": substitute(selector, variables)},
            timeout=10,
        ).json()["data"]
        assert values, f"dashboard variable ${name} ({query}) has no values"
        if name == "pipeline":
            assert pipeline in values
        if name == "dag_id":
            assert LAB_CHECK_DAG in values
