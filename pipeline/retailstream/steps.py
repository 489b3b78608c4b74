"""The pipeline's steps: one name each, used end to end.

A step's name is its Airflow task id, the ``stage`` label of its pushed metrics, its quarantine stage
and its line in ``retailstream pipeline run``. Its ``stage`` is the package under
``retailstream.stages`` and the CLI group that hold its code. A stage with one step gives the step its
own name; a stage with several names them ``<stage>_<part>``, the first of ``usecases`` excepted (it
*is* the use cases; ``usecases_report`` renders them).

The DAG (``pipeline/dags/retailstream_pipeline.py``) and ``retailstream pipeline run`` are built from
this table; ``orchestration.stages`` maps each name to the call that runs it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    name: str
    stage: str
    upstream: tuple[str, ...] = ()
    # The step names its outputs after the run (the report folder): rerunning a logical date rewrites
    # the same folder. Its call takes the run id.
    run_scoped: bool = False


STEPS: tuple[Step, ...] = (
    Step("upload", "upload"),
    Step("crawl_raw", "crawl", ("upload",)),
    Step("clean", "clean", ("crawl_raw",)),
    Step("crawl_curated", "crawl", ("clean",)),
    Step("load", "load", ("clean",)),
    Step("features_hdfs", "features"),
    Step("features_hive", "features", ("features_hdfs",)),
    Step("consolidate", "consolidate", ("load",)),
    Step("transfer", "transfer", ("consolidate",)),
    Step("usecases", "usecases", ("transfer", "features_hive", "crawl_curated"), run_scoped=True),
    Step("usecases_report", "usecases", ("usecases",), run_scoped=True),
)
NAMES: tuple[str, ...] = tuple(step.name for step in STEPS)
STAGES: tuple[str, ...] = tuple(dict.fromkeys(step.stage for step in STEPS))
# Metric labels of earlier releases (one stage had four names): `lab up` deletes their pushed groups, or
# the freshness alert would fire for them a week after an upgrade.
RETIRED_NAMES = ("crawl", "glue_job", "lambda_load", "report")


def step(name: str) -> Step:
    for candidate in STEPS:
        if candidate.name == name:
            return candidate
    raise ValueError(f"unknown step {name!r}; known: {', '.join(NAMES)}")
