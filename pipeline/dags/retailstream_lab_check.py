"""Lab check: every engine answers its protocol health check, run as an Airflow task.

Triggered by hand (Airflow UI, ``airflow dags trigger retailstream_lab_check``) or by the monitoring
tests. Besides checking the engines from inside Airflow's worker environment, a run shows that Airflow's
task metrics reach Prometheus (StatsD → statsd_exporter: ``airflow_ti_finish_total``,
``airflow_task_duration_seconds``, ``airflow_dagrun_duration_seconds``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task


@dag(
    dag_id="retailstream_lab_check",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["retailstream", "monitoring"],
)
def retailstream_lab_check():
    @task
    def probe_services() -> dict[str, float]:
        from retailstream.monitoring.probe import ServiceProbes

        results = ServiceProbes().run()
        down = [f"{r.service}: {r.detail}" for r in results if not r.ok]
        if down:
            raise RuntimeError("engines failing their health check: " + "; ".join(down))
        return {r.service: round(r.seconds, 3) for r in results}

    probe_services()


retailstream_lab_check()
