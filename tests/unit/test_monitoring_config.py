"""Prometheus, Alertmanager and statsd_exporter configuration, checked by the tools that load it:
promtool (config, rules, rule unit tests), amtool, and statsd_exporter's own config check."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from retailstream.lab.configs import monitoring_configs
from retailstream.layout import LabLayout
from retailstream.monitoring.metrics import STAGES
from retailstream.settings import PROJECT_ROOT, get_settings

PROMETHEUS_DIR = PROJECT_ROOT / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
REQUIRED_ALERTS = {
    "PipelineRunFailed",
    "StageSlowerThanBudget",
    "NoSuccessfulRunInWindow",
    "QuarantineRatioHigh",
    "ServiceDown",
}


def _run(*cmd: str | Path) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _rules() -> list[dict]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def test_promtool_checks_the_rule_files():
    assert RULE_FILES
    out = _run("promtool", "check", "rules", *RULE_FILES).stdout
    assert out.count("SUCCESS") == len(RULE_FILES)


def test_promtool_rule_unit_tests_pass():
    assert {p.name for p in RULE_TESTS} >= {"pipeline_test.yml", "freshness_test.yml", "services_test.yml"}
    out = _run("promtool", "test", "rules", *RULE_TESTS).stdout
    assert out.count("SUCCESS") == len(RULE_TESTS)


def test_every_required_alert_is_unit_tested():
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    assert alerts >= REQUIRED_ALERTS
    assert alerts <= tested, f"alerts without a firing unit test: {alerts - tested}"


def test_every_alert_says_what_and_how_bad():
    for rule in _rules():
        if "alert" in rule:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_every_stage_has_a_budget():
    budgets = {
        rule["labels"]["stage"]
        for rule in _rules()
        if rule.get("record") == "retailstream:stage_budget_seconds"
    }
    assert budgets == set(STAGES)


def test_rendered_prometheus_config_is_valid_and_scrapes_every_exporter(tmp_path):
    settings = get_settings()
    configs = monitoring_configs(settings)
    (tmp_path / "prometheus.yml").write_text(configs["prometheus.yml"])
    out = _run("promtool", "check", "config", tmp_path / "prometheus.yml").stdout
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in out
    jobs = {job["job_name"]: job for job in yaml.safe_load(configs["prometheus.yml"])["scrape_configs"]}
    expected = {
        "pushgateway": (settings.pushgateway_host, settings.pushgateway_port),
        "statsd-exporter": (settings.statsd_host, settings.statsd_exporter_port),
        "events-runner": (settings.events_runner_host, settings.events_runner_metrics_port),
        "alert-receiver": (settings.alert_receiver_host, settings.alert_webhook_port),
        "service-probes": (settings.service_probes_host, settings.service_probe_port),
    }
    for job, (host, port) in expected.items():
        assert jobs[job]["static_configs"][0]["targets"] == [f"{host}:{port}"]
    assert jobs["pushgateway"]["honor_labels"] is True  # keep the pushed job/stage/pipeline labels


def test_rendered_alertmanager_config_is_valid_and_routes_to_the_webhook(tmp_path):
    settings = get_settings()
    text = monitoring_configs(settings)["alertmanager.yml"]
    (tmp_path / "alertmanager.yml").write_text(text)
    _run("amtool", "check-config", tmp_path / "alertmanager.yml")
    config = yaml.safe_load(text)
    receivers = {r["name"]: r for r in config["receivers"]}
    assert config["route"]["receiver"] == "pipeline-webhook"
    webhook = receivers["pipeline-webhook"]["webhook_configs"][0]
    assert webhook["url"] == f"http://{settings.alert_receiver_host}:{settings.alert_webhook_port}/alerts"
    assert webhook["send_resolved"] is True
    assert receivers["oncall-email"]["email_configs"][0]["to"]  # the e-mail example is valid config
    assert "pipeline" in config["route"]["group_by"]


def test_statsd_exporter_accepts_the_mapping():
    binary = LabLayout.of().bin / "statsd_exporter"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run `make setup`", pytrace=False)
    result = _run(
        binary, "--check-config", f"--statsd.mapping-config={PROMETHEUS_DIR / 'statsd_mapping.yml'}"
    )
    assert "Configuration check successful" in result.stderr + result.stdout


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_statsd_mapping_turns_airflow_names_into_bounded_labels():
    """A private statsd_exporter with the mapping receives Airflow's StatsD lines over UDP."""
    udp, web = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    exporter = subprocess.Popen(
        [
            str(LabLayout.of().bin / "statsd_exporter"),
            f"--statsd.mapping-config={PROMETHEUS_DIR / 'statsd_mapping.yml'}",
            f"--statsd.listen-udp=127.0.0.1:{udp}",
            "--statsd.listen-tcp=",
            f"--web.listen-address=127.0.0.1:{web}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lines = [
        "airflow.ti.finish.retailstream.load_sales.success:1|c",
        "airflow.ti.finish:1|c",  # the same event without identifiers: dropped
        "airflow.dag.retailstream.load_sales.duration:2500|ms",
        "airflow.dagrun.duration.failed.retailstream:60000|ms",
        "airflow.executor.open_slots.LocalExecutor:3|g",
        "airflow.executor.open_slots:3|g",
        "airflow.pool.running_slots.default_pool:1|g",
        "airflow.operator_failures_PythonOperator:1|c",
        "airflow.local_task_job.task_exit.4711.retailstream.load_sales.0:1|c",  # job id: unbounded
        "airflow.scheduler_heartbeat:1|c",
    ]
    try:
        deadline = time.monotonic() + 10
        text = ""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while "airflow_scheduler_heartbeat_total" not in text and time.monotonic() < deadline:
                for line in lines:
                    sock.sendto(line.encode(), ("127.0.0.1", udp))
                time.sleep(0.3)
                try:
                    text = requests.get(f"http://127.0.0.1:{web}/metrics", timeout=2).text
                except requests.ConnectionError:
                    continue
    finally:
        exporter.terminate()
        exporter.wait(10)
    samples = {line.split(" ")[0] for line in text.splitlines() if line.startswith("airflow")}
    assert 'airflow_ti_finish_total{dag_id="retailstream",state="success",task_id="load_sales"}' in samples
    assert 'airflow_task_duration_seconds_sum{dag_id="retailstream",task_id="load_sales"}' in samples
    assert 'airflow_dagrun_duration_seconds_count{dag_id="retailstream",state="failed"}' in samples
    assert 'airflow_executor_open_slots{executor="LocalExecutor"}' in samples
    assert 'airflow_pool_running_slots{pool="default_pool"}' in samples
    assert 'airflow_operator_failures_total{operator="PythonOperator"}' in samples
    assert "airflow_scheduler_heartbeat_total" in samples
    names = {sample.split("{")[0] for sample in samples}
    assert not {"airflow_ti_finish", "airflow_executor_open_slots_LocalExecutor"} & names
    assert not [n for n in names if "task_exit" in n]
    task_seconds = next(
        line for line in text.splitlines() if line.startswith("airflow_task_duration_seconds_sum")
    )
    assert float(task_seconds.split(" ")[1]) == pytest.approx(2.5)  # StatsD milliseconds → seconds
