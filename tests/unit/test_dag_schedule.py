"""Starting a lab must not run the pipeline: the DAG's first scheduled run is the next Monday, whatever
the time since the last one."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

import pytest

from retailstream.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def dag():
    spec = importlib.util.spec_from_file_location(
        "retailstream_pipeline_dag", PROJECT_ROOT / "pipeline" / "dags" / "retailstream_pipeline.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.retailstream()


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 30, 6, 5, tzinfo=UTC),  # minutes after the Monday run time
        datetime(2026, 11, 30, 18, 30, tzinfo=UTC),  # the fresh lab of the issue: 12.5 h after it
        datetime(2026, 12, 3, 12, 0, tzinfo=UTC),  # mid-week
    ],
)
def test_a_fresh_dag_waits_for_the_next_monday(dag, monkeypatch, now):
    from airflow.timetables import trigger
    from airflow.timetables.base import TimeRestriction

    monkeypatch.setattr(trigger, "utcnow", lambda: now)
    info = dag.timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=None, latest=None, catchup=dag.catchup),
    )
    assert info.run_after == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def test_the_dags_tasks_are_the_steps(dag):
    """Task ids and the graph come from retailstream.steps: one name per step, end to end."""
    from retailstream.steps import STEPS

    assert [t.task_id for t in dag.topological_sort()] == [step.name for step in STEPS]
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == {
        step.name: set(step.upstream) for step in STEPS
    }
