"""Run the real `retailstream` DAG once with ``dag.test()`` — no scheduler, a throwaway metadata DB.

Airflow reads its configuration when first imported, so this runs in a child process whose environment
carries both the Airflow settings (a temporary AIRFLOW_HOME, SQLite) and the pipeline's
``RETAILSTREAM_*`` settings (typically a namespace). The DAG is loaded from the real dags folder:
a DAG defined inside a test would not be serialized.

    python -m retailstream.orchestration.dag_test [LOGICAL_DATE]   → one JSON line with the outcome
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from retailstream.settings import PROJECT_ROOT

DAG_ID = "retailstream"
DAGS_FOLDER = PROJECT_ROOT / "pipeline" / "dags"


def airflow_env(airflow_home: Path) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__METRICS__STATSD_ON": "False",
    }


def prepare_airflow_home(env: dict[str, str], airflow_home: Path) -> dict[str, str]:
    """A fresh metadata DB in ``airflow_home`` the first time; returns the child processes' environment."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, **env, **airflow_env(airflow_home)}
    if not (airflow_home / "airflow.db").exists():
        subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
            env=child_env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return child_env


def start_dag_test(env: dict[str, str], airflow_home: Path, logical_date: datetime | None = None):
    """Start one DAG run in a child process (a fresh metadata DB the first time); returns the Popen."""
    child_env = prepare_airflow_home(env, airflow_home)
    argv = [sys.executable, "-m", "retailstream.orchestration.dag_test"]
    # The run's output goes to its log file, not a pipe: a caller that watches the run instead of reading
    # the pipe would block the run once the pipe's 64 KB buffer is full (a Spark task writes more).
    log = airflow_home / "dag_test.log"
    with log.open("a") as out:
        out.write(f"--- run {logical_date.isoformat() if logical_date else 'now'}\n")
        out.flush()
        process = subprocess.Popen(
            argv + ([logical_date.isoformat()] if logical_date else []),
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    process.log_offset = log.stat().st_size  # this run's output starts here
    return process


def finish_dag_test(process: subprocess.Popen, airflow_home: Path, timeout: float = 1800) -> dict:
    """Wait for a run started by ``start_dag_test``; returns {"run_id", "state", "tasks": {id: state},
    "tries": {id: tries}, "seconds": the run's wall time, "durations": {id: seconds}}."""
    process.wait(timeout=timeout)
    log = airflow_home / "dag_test.log"
    with log.open() as run_log:
        run_log.seek(process.log_offset)
        output = run_log.read()
    lines = [line for line in output.splitlines() if line.startswith('{"state"')]
    if process.returncode != 0 or not lines:
        tail = "\n".join(output.splitlines()[-30:])
        raise RuntimeError(f"dag.test exited {process.returncode}; log: {log}\n{tail}")
    return json.loads(lines[-1])


def run_dag_test(
    env: dict[str, str], airflow_home: Path, logical_date: datetime | None = None, timeout: float = 1800
) -> dict:
    return finish_dag_test(start_dag_test(env, airflow_home, logical_date), airflow_home, timeout)


def task_states(airflow_home: Path) -> dict[str, tuple[str | None, int]]:
    """(state, try number) of every task instance of the run in progress, read from its metadata DB
    (the run is another process: this is how a test learns which task runs now)."""
    import sqlite3

    database = airflow_home / "airflow.db"
    if not database.exists():
        return {}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as conn:
        try:
            rows = conn.execute(
                "SELECT ti.task_id, ti.state, ti.try_number FROM task_instance ti "
                "JOIN dag_run dr ON dr.run_id = ti.run_id AND dr.dag_id = ti.dag_id "
                "WHERE dr.state = 'running'"
            ).fetchall()
        except sqlite3.OperationalError:  # migrated but no run yet, or locked a moment
            return {}
    return {task: (state, tries) for task, state, tries in rows}


def main(logical_date: datetime) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    dag_run = bag.get_dag(DAG_ID).test(logical_date=logical_date)
    instances = dag_run.get_task_instances()
    tasks = {ti.task_id: str(ti.state) for ti in instances}
    tries = {ti.task_id: ti.try_number for ti in instances}
    # The run's wall as Airflow saw it: first task start → last task end (dag.test dates the run itself
    # at its logical date).
    started = [ti.start_date for ti in instances if ti.start_date]
    ended = [ti.end_date for ti in instances if ti.end_date]
    seconds = (max(ended) - min(started)).total_seconds() if started and ended else None
    outcome = {"state": str(dag_run.state), "run_id": dag_run.run_id, "tasks": tasks, "tries": tries}
    durations = {ti.task_id: round(ti.duration or 0, 1) for ti in instances}
    print(json.dumps({**outcome, "seconds": seconds, "durations": durations}))


if __name__ == "__main__":
    main(datetime.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else datetime.now(UTC))
