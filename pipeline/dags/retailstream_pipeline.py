"""RetailStream: the whole pipeline, weekly.

    upload → crawl_raw → clean → load → consolidate → transfer ──────┐
                             └→ crawl_curated ──────────────────────┤
    features_hdfs → features_hive ──────────────────────────────────┤
                                 usecases_report ← usecases ←───────┘

Every task is a thin call into ``retailstream.orchestration.stages`` (the same functions
`retailstream pipeline run` uses); the graph and the task names come from ``retailstream.steps.STEPS``
(a task's name is also its metric label and its step in the docs).

Schedule: Mondays 06:00 UTC — the same instant as the Glue job's SCHEDULED trigger
(``cron(0 6 ? * MON *)``, ``settings.glue_job_schedule``). On AWS the trigger would start the job by
itself; here the emulator never fires triggers, so this DAG's ``clean`` task starts the run.

Weekly drops: each stage only processes what is new (upload skips files whose checksum is already in S3,
the Glue job keeps a bookmark of processed raw objects, the loader is idempotent on its keys, the
transfer follows a saved watermark), so a backfill over several weeks handles each week's new files once
and rerunning a logical date changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from retailstream.orchestration.notify import notify_task_failure, record_success
from retailstream.orchestration.stages import CALLS
from retailstream.steps import STEPS, Step

DEFAULT_ARGS = {
    "owner": "retailstream",
    "retries": 2,
    "retry_delay": timedelta(seconds=15),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(minutes=30),
    "on_failure_callback": notify_task_failure,
}


def _step_task(step: Step):
    fn = CALLS[step.name]

    if step.run_scoped:

        def run(dag_run=None) -> dict:
            return fn(dag_run.run_id)

    else:

        def run() -> dict:
            return fn()

    run.__doc__ = fn.__doc__
    return task(task_id=step.name, multiple_outputs=False)(run)


@dag(
    dag_id="retailstream",
    # Starting the lab (or unpausing) never fires a run for the Monday already past: without a
    # start_date, run_immediately=False still runs the past Monday when it is < 10 % of a week old (an
    # Airflow quirk), a zero timedelta never does. Manual runs and backfills work at any time.
    schedule=CronTriggerTimetable("0 6 * * 1", timezone="UTC", run_immediately=timedelta(0)),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=DEFAULT_ARGS,
    on_success_callback=record_success,
    tags=["retailstream"],
    doc_md=__doc__,
)
def retailstream():
    tasks = {step.name: _step_task(step)() for step in STEPS}
    for step in STEPS:
        for parent in step.upstream:
            tasks[parent] >> tasks[step.name]


retailstream()
