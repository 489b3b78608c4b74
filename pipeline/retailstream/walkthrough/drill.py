"""An alert drill for the recording, under a pipeline label of its own (``walkthrough-drill``), so the real
pipeline's series and alerts are untouched: a failed run of one stage fires PipelineRunFailed, its next
successful run resolves it; the alert a failing Airflow task posts (PipelineTaskFailed) is posted once
and ends by itself. Both travel the real path: Pushgateway → Prometheus rule → Alertmanager → webhook
receiver, and Alertmanager's API → the receiver."""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

from retailstream.monitoring.alert_receiver import received_notifications
from retailstream.monitoring.metrics import delete_pushed_metrics, stage_run
from retailstream.orchestration.demo import DAG_ID
from retailstream.orchestration.notify import send_alert
from retailstream.settings import Settings

PIPELINE = "walkthrough-drill"
STEP = "transfer"  # its metric label and its task id
WAIT = 90  # seconds; an alert reaches the receiver in ≈15 s (rules and scrapes every 5 s, group_wait 5 s)


class DrillError(RuntimeError):
    """An alert of the drill did not reach the webhook receiver in time."""


class AlertDrill:
    def __init__(self, settings: Settings):
        self.settings = settings.model_copy(update={"pipeline_name": PIPELINE})
        self.since = 0.0

    def start(self) -> None:
        """Fail the stage and post the task alert; the alerts travel while the recorder captures pages."""
        self.since = time.time()
        with contextlib.suppress(RuntimeError), stage_run(STEP, settings=self.settings):
            raise RuntimeError("walkthrough drill: an induced failure")
        posted = send_alert(
            {"alertname": "PipelineTaskFailed", "dag_id": DAG_ID, "task_id": STEP},
            {
                "summary": f"{DAG_ID}.{STEP} failed (drill)",
                "description": f"walkthrough drill: the alert a failing {STEP} task posts",
            },
            self.settings,
            lasts=timedelta(seconds=20),
        )
        if not posted:
            raise DrillError(f"Alertmanager ({self.settings.alertmanager_url}) refused the drill's alert")

    def finish(self) -> None:
        """Wait for both alerts to fire, let the stage succeed, wait for both to resolve."""
        self._wait("PipelineRunFailed", "firing")
        with stage_run(STEP, settings=self.settings) as run:
            run.rows_in = run.rows_out = 0
        for alertname in ("PipelineRunFailed", "PipelineTaskFailed"):
            self._wait(alertname, "resolved")

    def cleanup(self) -> None:
        """Drop the drill's pushed series, so that nothing of it lingers in Prometheus."""
        with contextlib.suppress(OSError):
            delete_pushed_metrics(self.settings)

    def _wait(self, alertname: str, status: str) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for notification in received_notifications(self.since, self.settings):
                for alert in notification["alerts"]:
                    labels = alert["labels"]
                    if (labels.get("alertname"), labels.get("pipeline"), alert["status"]) == (
                        alertname,
                        PIPELINE,
                        status,
                    ):
                        return
            time.sleep(2)
        raise DrillError(
            f"the drill's {alertname} alert was not {status} at {self.settings.alert_receiver_url} "
            f"within {WAIT}s: check Prometheus' rules and Alertmanager (`retailstream lab status`)"
        )
