"""Stage 4: the whole `retailstream` DAG (the real dags folder, ``dag.test()``) on small data, in
namespaces of the shared lab, with reconciliation asserted at every hop:
files → S3 raw → curated → RDS → Hive, features → HDFS → Hive, and the reporting tables.

The clean namespace receives its sales in two weekly drops (two logical dates) and a third run with
nothing new; the outage namespace loses RDS in the middle of a run, must retry, notify and — after
recovery — end with exactly the clean namespace's results.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests
from typer.testing import CliRunner

from retailstream import clients
from retailstream.cli import app
from retailstream.emulation.glue_jobs import job_runs
from retailstream.lab import namespace
from retailstream.orchestration.dag_test import finish_dag_test, run_dag_test, start_dag_test, task_states
from retailstream.orchestration.demo import stage_metrics
from retailstream.settings import namespace_env, namespaced_values

STORES, SEED, DEFECTS = 3, 7, 4
HELD_BACK_MONTHS = ("2012-09", "2012-10")  # the second weekly drop
MONDAYS = [datetime(2026, 11, day, 6, tzinfo=UTC) for day in (2, 9, 16)]


def _namespace(base, tag: str, root: Path):
    s = base.model_copy(update=namespaced_values(base, tag, root))
    namespace.destroy(s)
    namespace.provision(s)
    result = CliRunner().invoke(
        app,
        [
            "data",
            "generate",
            "--stores",
            str(STORES),
            "--seed",
            str(SEED),
            "--defects",
            str(DEFECTS),
            "--out",
            str(s.datasets_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    return s, namespace_env(base, tag, root)


def _manifest(s) -> dict:
    return json.loads((s.datasets_dir / "incoming" / "_manifest.json").read_text())


def _defects(s) -> dict:
    return json.loads((s.datasets_dir / "incoming" / "_defects.json").read_text())


def _count(cur, sql: str, *params) -> int:
    cur.execute(sql, params)
    return int(cur.fetchone()[0])


def _hive_count(s, table: str) -> int:
    conn = clients.hive_connect(s)
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT COUNT(*) FROM {s.hive_database}.{table}")
        return int(cur.fetchall()[0][0])
    finally:
        conn.close()


def _reporting_tables(s) -> dict[str, list[tuple]]:
    with clients.rds_cursor("analyst", s.rds_reports_database, settings=s) as cur:
        cur.execute("SHOW TABLES")
        tables = sorted(row[0] for row in cur.fetchall())
        snapshot = {}
        for table in tables:
            cur.execute(f"SELECT * FROM `{table}`")
            snapshot[table] = sorted(cur.fetchall(), key=repr)
    return snapshot


DATA_TABLES = {"stores": "stores", "sales": "sales", "store_traffic": "store_traffic"}


def _snapshot(s) -> dict:
    """What every hop holds (values, not timestamps): curated S3, the quarantine, RDS, HDFS, Hive and the
    reporting tables."""
    from retailstream.datasets.contract import contract

    s3 = clients.aws_client("s3", s)
    snapshot: dict = {"reporting": _reporting_tables(s)}

    def objects(bucket: str) -> dict[str, bytes]:
        return {
            o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
        }

    snapshot["curated"] = objects(s.curated_bucket)
    snapshot["quarantine"] = {  # the records without the run that wrote them
        key: [{k: v for k, v in json.loads(line).items() if k != "run_id"} for line in body.splitlines()]
        for key, body in objects(s.quarantine_bucket).items()
    }
    columns = {kind: ", ".join([*contract(kind).names, "source_key"]) for kind in DATA_TABLES}
    with clients.rds_cursor("analyst", s.rds_database, settings=s) as cur:
        for kind, table in DATA_TABLES.items():
            cur.execute(f"SELECT {columns[kind]} FROM {table}")
            snapshot[f"rds.{table}"] = sorted(tuple(str(v) for v in row) for row in cur.fetchall())
    snapshot["hdfs.features"] = sorted(
        n for n in clients.hdfs_client(s).list(f"{s.hdfs_raw_dir}/features") if not n.startswith("_")
    )
    conn = clients.hive_connect(s)
    try:
        cur = conn.cursor()
        hive_columns = {**columns, "features": ", ".join(contract("features").names)}
        for kind, names in hive_columns.items():
            cur.execute(f"SELECT {names} FROM {s.hive_database}.{kind}")
            snapshot[f"hive.{kind}"] = sorted(tuple(str(v) for v in row) for row in cur.fetchall())
    finally:
        conn.close()
    return snapshot


def _kaggle_files(out: Path, seed: int) -> Path:
    """Another chain in the real Kaggle files' shape (train.csv, features.csv, stores.csv; no traffic)."""
    from retailstream.datasets.generator import GenerationRequest, generate

    generate(out / "chain", GenerationRequest(stores=STORES, seed=seed, defects=0))
    incoming = out / "chain" / "incoming"
    kaggle = out / "kaggle"
    kaggle.mkdir()
    shutil.copy(incoming / "stores" / "stores.csv", kaggle / "stores.csv")
    for name, pattern in (("train.csv", "sales/store=*/*.csv"), ("features.csv", "features/*.csv")):
        parts = [path.read_text().splitlines() for path in sorted(incoming.glob(pattern))]
        (kaggle / name).write_text("\n".join([parts[0][0]] + [line for p in parts for line in p[1:]]) + "\n")
    return kaggle


def _deliver(s, request=None, kaggle: Path | None = None) -> dict:
    """Put the real files into the namespace's datasets folder (or take them away) and prepare it."""
    from retailstream.datasets.generator import GenerationRequest
    from retailstream.datasets.prepare import prepare

    for name in ("train.csv", "features.csv", "stores.csv"):
        (s.datasets_dir / name).unlink(missing_ok=True)
        if kaggle:
            shutil.copy(kaggle / name, s.datasets_dir / name)
    return prepare(s.datasets_dir, request or GenerationRequest(stores=STORES, seed=SEED, defects=DEFECTS))


def _rds_state(s) -> dict:
    with clients.rds_cursor("analyst", s.rds_database, settings=s) as cur:
        return {
            table: (_count(cur, f"SELECT COUNT(*) FROM {table}"), _max_updated(cur, table))
            for table in ("stores", "sales", "store_traffic")
        }


def _max_updated(cur, table: str):
    cur.execute(f"SELECT MAX(updated_at) FROM {table}")
    return cur.fetchone()[0]


@pytest.fixture(scope="module")
def clean(lab, settings, tmp_path_factory):
    """A namespace that got its data in two weekly drops, then a run with nothing new."""
    root = tmp_path_factory.mktemp("e2e-clean")
    s, env = _namespace(settings, f"e2e_{uuid.uuid4().hex[:6]}", root)
    incoming = s.datasets_dir / "incoming"
    held = root / "held-back"
    for month in HELD_BACK_MONTHS:
        for path in incoming.glob(f"sales/store=*/sales_{month}*.csv"):
            target = held / path.relative_to(incoming)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
    held_files = sorted(str(p.relative_to(held)) for p in held.rglob("*.csv"))

    runs = [run_dag_test(env, root / "airflow", MONDAYS[0])]
    states = [_rds_state(s)]
    first_run_metrics = stage_metrics(s)
    shutil.copytree(held, incoming, dirs_exist_ok=True)  # the next week's files arrive
    runs.append(run_dag_test(env, root / "airflow", MONDAYS[1]))
    states.append(_rds_state(s))
    reporting_after_drop = _reporting_tables(s)
    runs.append(run_dag_test(env, root / "airflow", MONDAYS[2]))
    states.append(_rds_state(s))
    yield {
        "settings": s,
        "runs": runs,
        "rds_states": states,
        "first_run_metrics": first_run_metrics,
        "held_files": held_files,
        "glue_runs": list(reversed(job_runs(s))),  # oldest first
        "reporting_after_drop": reporting_after_drop,
        "reporting": _reporting_tables(s),
        "snapshot": _snapshot(s),
    }
    namespace.destroy(s)


def test_every_dag_run_succeeds(clean):
    for run in clean["runs"]:
        assert run["state"] == "success", run
        assert set(run["tasks"].values()) == {"success"}, run


def test_files_to_s3_raw(clean):
    s = clean["settings"]
    manifest = _manifest(s)
    expected = {f["path"]: f["sha256"] for f in manifest["files"] if f["dataset"] != "features"}
    s3 = clients.aws_client("s3", s)
    stored = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=s.raw_bucket):
        for obj in page.get("Contents", []):
            if not obj["Key"].startswith("_"):
                head = s3.head_object(Bucket=s.raw_bucket, Key=obj["Key"])
                stored[obj["Key"]] = head["Metadata"].get("sha256")
    assert stored == expected


def test_raw_to_curated_reconciles_with_the_injected_defects(clean):
    s = clean["settings"]
    manifest, defects = _manifest(s), _defects(s)
    sales = [run["Report"]["datasets"]["sales"] for run in clean["glue_runs"]]
    assert sum(r["rows_in"] for r in sales) == manifest["rows"]["sales"]
    assert sum(r["rows_quarantined"] for r in sales) == len(defects["bad_rows"])
    assert sum(r["rows_duplicate"] for r in sales) == manifest["defects"]["duplicate_keys"]
    for r in sales:
        assert r["rows_in"] == r["rows_curated"] + r["rows_quarantined"] + r["rows_duplicate"]
    s3 = clients.aws_client("s3", s)
    curated_rows = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=s.curated_bucket, Prefix="sales/"):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=s.curated_bucket, Key=obj["Key"])["Body"].read()
            curated_rows += pq.read_metadata(io.BytesIO(body)).num_rows
    expected_curated = (
        manifest["rows"]["sales"] - len(defects["bad_rows"]) - manifest["defects"]["duplicate_keys"]
    )
    assert curated_rows == expected_curated
    quarantined = sum(
        len(s3.get_object(Bucket=s.quarantine_bucket, Key=o["Key"])["Body"].read().splitlines())
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=s.quarantine_bucket)
        for o in page.get("Contents", [])
    )
    assert quarantined == len(defects["bad_rows"])


def test_every_stage_reports_a_reconciled_first_run(clean):
    """What each stage pushed for the first run adds up, hop by hop."""
    metrics = clean["first_run_metrics"]
    glue = clean["glue_runs"][0]["Report"]["totals"]
    assert metrics["clean"].rows_in == glue["rows_in"]
    assert metrics["load"].rows_in == glue["rows_curated"]  # every curated row reached the loader
    assert metrics["transfer"].rows_in == metrics["load"].rows_out
    for stage, m in metrics.items():
        assert m.status == 1, stage
        if stage != "usecases":  # an aggregation: its rows out are answers, not moved input rows
            assert m.rows_in == m.rows_out + m.rows_quarantined + m.rows_duplicate, stage


def test_curated_to_rds_and_rds_to_hive(clean):
    s = clean["settings"]
    manifest, defects = _manifest(s), _defects(s)
    expected_sales = (
        manifest["rows"]["sales"] - len(defects["bad_rows"]) - manifest["defects"]["duplicate_keys"]
    )
    with clients.rds_cursor("analyst", s.rds_database, settings=s) as cur:
        assert _count(cur, "SELECT COUNT(*) FROM sales") == expected_sales
        assert _count(cur, "SELECT COUNT(*) FROM stores") == manifest["rows"]["stores"]
        assert _count(cur, "SELECT COUNT(*) FROM store_traffic") == manifest["rows"]["store_traffic"]
        cur.execute(
            "SELECT SUM(rows_in), SUM(rows_loaded), SUM(rows_quarantined), SUM(rows_duplicate) "
            "FROM load_audit"
        )
        rows_in, loaded, quarantined, duplicate = (int(v) for v in cur.fetchone())
        assert rows_in == loaded + quarantined + duplicate
        assert loaded == expected_sales + manifest["rows"]["stores"] + manifest["rows"]["store_traffic"]
        cur.execute("SELECT ROUND(SUM(weekly_sales), 2) FROM sales")
        rds_total = float(cur.fetchone()[0])
    for table in ("stores", "sales", "store_traffic"):
        assert _hive_count(s, table) == manifest["rows"][table] - (
            len(defects["bad_rows"]) + manifest["defects"]["duplicate_keys"] if table == "sales" else 0
        )
    conn = clients.hive_connect(s)
    cur = conn.cursor()
    cur.execute(f"SELECT ROUND(SUM(weekly_sales), 2) FROM {s.hive_database}.sales")
    assert float(cur.fetchall()[0][0]) == pytest.approx(rds_total, abs=0.01)
    conn.close()


def test_features_to_hdfs_to_hive(clean):
    s = clean["settings"]
    manifest = _manifest(s)
    feature_files = [f for f in manifest["files"] if f["dataset"] == "features"]
    hdfs_files = [n for n in clients.hdfs_client(s).list(f"{s.hdfs_raw_dir}/features") if n.endswith(".csv")]
    assert len(hdfs_files) == len(feature_files)
    loaded, quarantined = _hive_count(s, "features"), _hive_count(s, "features_quarantine")
    assert loaded + quarantined == manifest["rows"]["features"]
    assert loaded == STORES * 182  # every store, every feature week


def test_reporting_tables_and_report(clean):
    s = clean["settings"]
    reporting = clean["reporting"]
    assert len(reporting) == 10 and all(name.startswith("uc") for name in reporting)
    assert all(rows for rows in reporting.values())
    report = (s.reports_dir / "latest" / "report.html").read_text()
    for table in reporting:
        assert table in report or table[:4].upper() in report
    # the report links to every stage's rejected rows, each with where it came from and why
    assert 'href="quarantine.json"' in report
    quarantine = json.loads((s.reports_dir / "latest" / "quarantine.json").read_text())
    defects = _defects(s)
    assert quarantine["summary"]["clean"] == len(defects["bad_rows"])
    glue = {(r["source"], r["line"]) for r in quarantine["rows"] if r["stage"] == "clean"}
    assert glue == {(bad["file"], bad["line"]) for bad in defects["bad_rows"]}
    assert all(r["reason"] and r["source"] for r in quarantine["rows"])


def test_weekly_drops_are_processed_once(clean):
    first, second, third = clean["glue_runs"][-3:]
    held = set(clean["held_files"])
    assert held, "the test should hold files back"
    sales_files = [f for f in _manifest(clean["settings"])["files"] if f["dataset"] == "sales"]
    assert first["Report"]["datasets"]["sales"]["files"] == len(sales_files) - len(held)
    assert second["Report"]["datasets"]["sales"]["files"] == len(held)
    assert third["Report"]["totals"]["files"] == 0
    before, after_drop, after_rerun = clean["rds_states"]
    assert after_drop["sales"][0] > before["sales"][0]
    assert after_rerun == after_drop  # nothing new: same counts, no row touched
    assert clean["reporting"] == clean["reporting_after_drop"]


def test_rds_outage_retries_notifies_and_recovers(clean, lab, settings, tmp_path):
    s, env = _namespace(settings, f"e2e_outage_{uuid.uuid4().hex[:6]}", tmp_path)
    receiver = f"{settings.alert_receiver_url}/alerts"
    since = time.time()
    airflow_home = tmp_path / "airflow"
    try:
        process = start_dag_test(env, airflow_home, MONDAYS[0])
        s3 = clients.aws_client("s3", s)
        deadline = time.monotonic() + 300

        def curated_and_features_built() -> bool:
            if not s3.list_objects_v2(Bucket=s.curated_bucket, Prefix="sales/").get("KeyCount"):
                return False
            try:  # the Hive metastore keeps its catalog in the same MariaDB: let features finish first
                return _hive_count(s, "features") > 0
            except Exception:
                return False

        while not curated_and_features_built():
            assert process.poll() is None and time.monotonic() < deadline, "the run ended before curating"
            time.sleep(1)
        lab.stop("mariadb")  # RDS goes away mid-run, before the Lambda loads
        failed = finish_dag_test(process, airflow_home)
        assert failed["state"] == "failed"
        assert failed["tasks"]["load"] == "failed"
        assert failed["tasks"]["usecases"] == "upstream_failed"
        log = (airflow_home / "dag_test.log").read_text()
        assert log.count("RdsUnavailable") >= 3, "load should have been tried three times"

        deadline = time.monotonic() + 60
        while True:
            alerts = [
                a
                for n in requests.get(receiver, params={"since": since}, timeout=5).json()
                for a in n["alerts"]
                if a["labels"].get("pipeline") == s.pipeline_name and a["labels"].get("task_id") == "load"
            ]
            if alerts or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert alerts and alerts[0]["labels"]["alertname"] == "PipelineTaskFailed"
    finally:
        lab.up()  # RDS back (and everything healthy) whatever happened above

    recovered = run_dag_test(env, airflow_home, MONDAYS[1])
    assert recovered["state"] == "success", recovered
    assert _reporting_tables(s) == clean["reporting"]
    namespace.destroy(s)


def test_changing_the_dataset_gives_a_clean_runs_tables(clean, settings, tmp_path):
    """Synthetic → real ends exactly as a clean real run, and real → synthetic exactly as a clean
    synthetic run: at every hop, nothing of the other dataset is left (e.g. its store_traffic)."""
    kaggle = _kaggle_files(tmp_path, seed=SEED + 4)

    real, real_env = _namespace(settings, f"e2e_real_{uuid.uuid4().hex[:6]}", tmp_path / "real")
    switch, switch_env = _namespace(settings, f"e2e_switch_{uuid.uuid4().hex[:6]}", tmp_path / "switch")
    try:
        assert _deliver(real, kaggle=kaggle).action == "split"
        assert run_dag_test(real_env, tmp_path / "real-airflow", MONDAYS[0])["state"] == "success"
        clean_real = _snapshot(real)
        assert clean_real["rds.store_traffic"] == [] and clean_real["hive.store_traffic"] == []

        airflow = tmp_path / "switch-airflow"
        assert run_dag_test(switch_env, airflow, MONDAYS[0])["state"] == "success"  # the synthetic chain
        assert _deliver(switch, kaggle=kaggle).action == "split"
        assert run_dag_test(switch_env, airflow, MONDAYS[1])["state"] == "success"
        assert _snapshot(switch) == clean_real

        assert _deliver(switch).action == "generated"
        assert run_dag_test(switch_env, airflow, MONDAYS[2])["state"] == "success"
        assert _snapshot(switch) == clean["snapshot"]
    finally:
        namespace.destroy(real)
        namespace.destroy(switch)


def _wait_for(process, airflow_home: Path, condition, what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition(task_states(airflow_home)):
        assert process.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.5)


def _failed_tries(states: dict[str, tuple[str | None, int]]) -> int:
    """Tries of the run that ended in failure so far (Airflow numbers a try when it schedules it)."""
    return sum(
        tries if state in ("up_for_retry", "failed") else max(tries - 1, 0)
        for state, tries in states.values()
        if state is not None
    )


# (task, the service killed once it runs); one service down at a time, brought back as soon as a try
# fails. Which task fails is not fixed: the task may have finished with the service before the kill
# (the use cases ask HiveServer2 only at their start), and then the next task that needs it fails. A
# service stays down until some task fails, so every fault must cost at least one failed try. moto
# forgets the namespace's buckets and queues: that run must fail, the next one (after `lab up` and the
# namespace provisioned again) must end exactly as a clean run.
FAULTS = {
    "hdfs-metastore-hiveserver2": [
        ("features_hive", "datanode"),
        ("transfer", "metastore"),
        ("usecases", "thriftserver"),
    ],
    "moto": [("clean", "moto")],
}
STARTED = ("running", "success", "up_for_retry", "failed", "upstream_failed")


@pytest.mark.restarts_lab
@pytest.mark.parametrize("faults", list(FAULTS))
def test_a_service_killed_mid_run_ends_as_a_clean_run(clean, lab, settings, tmp_path, faults):
    s, env = _namespace(settings, f"e2e_fault_{uuid.uuid4().hex[:6]}", tmp_path)
    airflow_home = tmp_path / "airflow"
    process = None
    try:
        process = start_dag_test(env, airflow_home, MONDAYS[0])
        for task, service in FAULTS[faults]:

            def started(states, task=task):
                return states.get(task, (None, 0))[0] in STARTED

            _wait_for(process, airflow_home, started, f"{task} started")
            before = _failed_tries(task_states(airflow_home))
            lab.kill(service)  # SIGKILL; it stays down until `lab.up()`

            def noticed(states, before=before):
                return _failed_tries(states) > before

            _wait_for(process, airflow_home, noticed, f"a task failed without {service}")
            lab.up()
        outcome = finish_dag_test(process, airflow_home)
        if outcome["state"] != "success":
            namespace.provision(s)  # what `make up` gives a namespace: its buckets and queues again
            assert run_dag_test(env, airflow_home, MONDAYS[1])["state"] == "success"
        assert faults != "moto" or outcome["state"] == "failed", "a run cannot succeed without its data"
        assert _snapshot(s) == clean["snapshot"]
    finally:
        if process is not None and process.poll() is None:  # a failed wait leaves the run going
            process.kill()
            process.wait()
        lab.up()
        namespace.destroy(s)
