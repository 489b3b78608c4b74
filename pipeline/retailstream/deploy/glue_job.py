"""The Glue job ``retail-clean-merge-sales`` as AWS needs it: the script and the stage code uploaded to S3,
the job (Python shell, ``--extra-py-files`` with the packaged ``retailstream``) and its SCHEDULED trigger
(cron ``settings.glue_job_schedule``), created or updated through the Glue API. Idempotent."""

from __future__ import annotations

import logging
from importlib.resources import files

from botocore.exceptions import ClientError

from retailstream import clients
from retailstream.deploy.packaging import build_zip
from retailstream.s3util import S3Location, join_key
from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)

SCRIPT_NAME = "clean_merge_sales.py"
CODE_NAME = "retailstream.zip"
TIMEOUT_MINUTES = 60


def state_location(s: Settings) -> S3Location:
    return S3Location(s.raw_bucket, join_key(s.glue_state_prefix, s.glue_job_name))


def job_definition(s: Settings) -> dict:
    state = state_location(s)
    return {
        "Description": "Clean and merge raw sales, stores and traffic files into curated Parquet",
        "Role": s.glue_role_arn,
        "Command": {
            "Name": "pythonshell",
            "ScriptLocation": state.uri("scripts", SCRIPT_NAME),
            "PythonVersion": "3.9",
        },
        "DefaultArguments": {
            "--raw_uri": f"s3://{s.raw_bucket}/",
            "--curated_uri": f"s3://{s.curated_bucket}/",
            "--quarantine_uri": f"s3://{s.quarantine_bucket}/",
            "--state_uri": state.uri(),
            # The stage's code (retailstream.stages.clean.merge and the base layer) beside the script.
            "--extra-py-files": state.uri("scripts", CODE_NAME),
            "--additional-python-modules": "pandas,pyarrow",
        },
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "MaxRetries": 0,
        "Timeout": TIMEOUT_MINUTES,
        "MaxCapacity": 1.0,
    }


def packaged_script() -> bytes:
    return files("retailstream.stages.clean").joinpath("glue_script.py").read_bytes()


def _emulator_lacks(error: ClientError) -> bool:
    """moto answers the Update* calls of Glue with an internal error; delete and create instead."""
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500


def register_job(settings: Settings | None = None) -> dict:
    """Upload the script; create or update the job and its scheduled trigger. Idempotent."""
    s = settings or get_settings()
    s3, glue = clients.aws_client("s3", s), clients.aws_client("glue", s)
    definition = job_definition(s)
    script = S3Location.parse(definition["Command"]["ScriptLocation"])
    s3.put_object(
        Bucket=script.bucket, Key=script.prefix, Body=packaged_script(), ContentType="text/x-python"
    )
    code = S3Location.parse(definition["DefaultArguments"]["--extra-py-files"])
    s3.put_object(Bucket=code.bucket, Key=code.prefix, Body=build_zip(), ContentType="application/zip")
    try:
        current = glue.get_job(JobName=s.glue_job_name)["Job"]
    except glue.exceptions.EntityNotFoundException:
        glue.create_job(Name=s.glue_job_name, **definition)
        log.info("glue.job_created name=%s", s.glue_job_name)
    else:
        if any(current.get(k) != v for k, v in definition.items()):
            try:
                glue.update_job(JobName=s.glue_job_name, JobUpdate=definition)
            except ClientError as error:
                if not _emulator_lacks(error):
                    raise
                glue.delete_job(JobName=s.glue_job_name)
                glue.create_job(Name=s.glue_job_name, **definition)
            log.info("glue.job_updated name=%s", s.glue_job_name)
    _register_trigger(glue, s)
    return glue.get_job(JobName=s.glue_job_name)["Job"]


def _register_trigger(glue, s: Settings) -> None:
    actions = [{"JobName": s.glue_job_name}]
    try:
        current = glue.get_trigger(Name=s.glue_trigger_name)["Trigger"]
    except glue.exceptions.EntityNotFoundException:
        current = None
    if current and current.get("Schedule") == s.glue_job_schedule and current.get("Actions") == actions:
        return
    if current:
        try:
            glue.update_trigger(
                Name=s.glue_trigger_name, TriggerUpdate={"Schedule": s.glue_job_schedule, "Actions": actions}
            )
            return
        except ClientError as error:
            if not _emulator_lacks(error):
                raise
            glue.delete_trigger(Name=s.glue_trigger_name)
    glue.create_trigger(
        Name=s.glue_trigger_name,
        Type="SCHEDULED",
        Schedule=s.glue_job_schedule,
        Actions=actions,
        StartOnCreation=True,
        Description="Weekly clean-and-merge; in the lab the Airflow DAG enforces this schedule",
    )
    log.info("glue.trigger_created name=%s schedule=%s", s.glue_trigger_name, s.glue_job_schedule)
