"""The local Glue job runner: what stands in for Glue's execution of ``retail-clean-merge-sales``.

``retailstream.deploy.glue_job`` registers the job. An emulator accepts ``StartJobRun`` but
runs nothing (moto marks the run SUCCEEDED at once) and never fires triggers (Airflow enforces the
schedule), so ``start_run`` starts the run through the API and then executes it here, as Glue would:
it downloads the job's ``ScriptLocation``, runs it with the job's default arguments merged with the
run's, and records the run — state, timings, error, output log and the script's reconciliation
report — under ``<state_uri>/runs/<run id>/`` in S3, where `retailstream clean status` reads it back.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import ClientError

from retailstream import clients
from retailstream.deploy.glue_job import SCRIPT_NAME, TIMEOUT_MINUTES, packaged_script
from retailstream.monitoring.metrics import stage_run
from retailstream.s3util import S3Location
from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)

TERMINAL = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED")


class JobRunFailed(RuntimeError):
    def __init__(self, run: dict):
        super().__init__(f"Glue job run {run['Id']} {run['JobRunState']}: {run.get('ErrorMessage', '')}")
        self.run = run


class ConcurrentRunsExceeded(RuntimeError):
    """Glue's ConcurrentRunsExceededException: the job allows one run at a time (MaxConcurrentRuns=1)."""


@contextmanager
def run_slot(state_uri: str) -> Iterator[None]:
    """The job's single run slot for one state location, held while a run executes: two runs over the
    same bookmark would both merge the same pending files. A host-local lock is enough because the
    local job runner executes every run on the host that started it."""
    digest = hashlib.sha256(state_uri.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"retailstream-glue-{digest}.lock"
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConcurrentRunsExceeded(
                f"ConcurrentRunsExceededException: a run of the job over {state_uri} is still running "
                "(MaxConcurrentRuns=1)"
            ) from None
        yield  # closing the file releases the lock, also when the process dies


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _run_location(arguments: dict, run_id: str) -> S3Location:
    state = S3Location.parse(arguments["--state_uri"])
    return S3Location(state.bucket, state.key("runs", run_id))


def _exists(s3, uri: str) -> bool:
    where = S3Location.parse(uri)
    try:
        s3.head_object(Bucket=where.bucket, Key=where.prefix)
    except ClientError:
        return False
    return True


def _refuse(run: dict, where: S3Location, s3, reason: str) -> None:
    """Fail a run before its script starts: what the job names in S3 is not what deploy uploads."""
    run.update(
        JobRunState="FAILED",
        CompletedOn=_now(),
        ErrorMessage=f"{reason}: `retailstream clean register` uploads it again",
    )
    _save(s3, where, run)
    raise JobRunFailed(run)


def _save(s3, where: S3Location, run: dict) -> None:
    s3.put_object(
        Bucket=where.bucket,
        Key=where.key("run.json"),
        Body=json.dumps(run, indent=1, default=str).encode(),
        ContentType="application/json",
    )


def start_run(
    settings: Settings | None = None, arguments: dict[str, str] | None = None, wait: bool = True
) -> dict:
    """StartJobRun through the Glue API, then execute the run locally; with ``wait`` return the
    finished run (raising ``JobRunFailed`` if it failed), else return at once with the run RUNNING.
    Like Glue, refuses to start while another run over the same locations executes
    (``ConcurrentRunsExceeded``), without recording a run."""
    s = settings or get_settings()
    glue, s3 = clients.aws_client("glue", s), clients.aws_client("s3", s)
    job = glue.get_job(JobName=s.glue_job_name)["Job"]
    merged = {**job.get("DefaultArguments", {}), **(arguments or {})}
    with run_slot(merged["--state_uri"]):
        pass  # free now; execute_run takes it (a start racing this one fails its run instead)
    run_id = glue.start_job_run(JobName=s.glue_job_name, Arguments=arguments or {})["JobRunId"]
    run = {
        "Id": run_id,
        "JobName": s.glue_job_name,
        "JobRunState": "RUNNING",
        "StartedOn": _now(),
        "Arguments": arguments or {},
    }
    _save(s3, _run_location(merged, run_id), run)
    log.info("glue.run_started job=%s run=%s", s.glue_job_name, run_id)
    if wait:
        return execute_run(run_id, s)
    cli = Path(sys.executable).with_name("retailstream")
    subprocess.Popen(
        [str(cli), "glue", "execute", run_id],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return run


def execute_run(run_id: str, settings: Settings | None = None) -> dict:
    """Run the job script for a started run and record how it went (the local job runner)."""
    s = settings or get_settings()
    glue, s3 = clients.aws_client("glue", s), clients.aws_client("s3", s)
    job = glue.get_job(JobName=s.glue_job_name)["Job"]
    arguments = glue.get_job_run(JobName=s.glue_job_name, RunId=run_id)["JobRun"].get("Arguments", {})
    merged = {**job.get("DefaultArguments", {}), **arguments}
    where = _run_location(merged, run_id)
    run = job_run(run_id, s, arguments=merged) or {
        "Id": run_id,
        "JobName": s.glue_job_name,
        "StartedOn": _now(),
    }
    try:
        with run_slot(merged["--state_uri"]):
            return _execute(run, job, merged, where, s3, s)
    except ConcurrentRunsExceeded as busy:
        run.update(JobRunState="FAILED", CompletedOn=_now(), ErrorMessage=str(busy))
        _save(s3, where, run)
        raise JobRunFailed(run) from busy


def _execute(run: dict, job: dict, merged: dict, where: S3Location, s3, s: Settings) -> dict:
    from retailstream.stages.clean.merge import Locations, idle_report, nothing_new, write_report

    run_id = run["Id"]
    script = S3Location.parse(job["Command"]["ScriptLocation"])
    began = time.monotonic()
    with stage_run("clean", s) as stage, tempfile.TemporaryDirectory(prefix="glue-") as workdir:
        path = Path(workdir) / SCRIPT_NAME
        body = s3.get_object(Bucket=script.bucket, Key=script.prefix)["Body"].read()
        if body != packaged_script():
            # This host runs the script with the lab's credentials: only the code this package ships.
            _refuse(run, where, s3, f"{script.uri()} is not the packaged job script")
        # Glue puts --extra-py-files on the job's path; here the installed package is that same code
        # (deploy built the zip from it), so the runner checks the job ships it and runs the script.
        missing = [
            uri for uri in merged.get("--extra-py-files", "").split(",") if uri and not _exists(s3, uri)
        ]
        if missing:
            _refuse(run, where, s3, f"--extra-py-files {', '.join(missing)} not found")
        locations = Locations(*(S3Location.parse(merged[f"--{name}"]) for name in _SCRIPT_ARGUMENTS))
        if nothing_new(locations, s3, s):
            # The script would list, compare with its bookmark and stop: conclude that here, without
            # starting an interpreter (the weekly run with nothing new is the common one).
            write_report(s3, locations, run_id, idle_report(locations, run_id))
            state, output = "SUCCEEDED", "nothing new since the job bookmark: the script was not started\n"
        else:
            path.write_bytes(body)
            command = [sys.executable, str(path), "--JOB_NAME", s.glue_job_name, "--JOB_RUN_ID", run_id]
            for name, value in merged.items():
                if name.startswith("--") and name[2:] in _SCRIPT_ARGUMENTS:
                    command += [name, value]
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=job.get("Timeout", TIMEOUT_MINUTES) * 60
                )
                state = "SUCCEEDED" if done.returncode == 0 else "FAILED"
                output = done.stdout + done.stderr
            except subprocess.TimeoutExpired as expired:
                state, output = "TIMEOUT", f"{expired.stdout or ''}{expired.stderr or ''}"
        log_key = where.key("output.log")
        s3.put_object(Bucket=where.bucket, Key=log_key, Body=output.encode())
        run.update(
            JobRunState=state,
            CompletedOn=_now(),
            ExecutionTime=round(time.monotonic() - began, 3),
            LogLocation=f"s3://{where.bucket}/{log_key}",
        )
        if state == "SUCCEEDED":
            report = json.loads(
                s3.get_object(Bucket=where.bucket, Key=where.key("report.json"))["Body"].read()
            )
            run["Report"] = report
            totals = report["totals"]
            stage.rows_in, stage.rows_out = totals["rows_in"], totals["rows_curated"]
            stage.rows_quarantined, stage.rows_duplicate = (
                totals["rows_quarantined"],
                totals["rows_duplicate"],
            )
            stage.bytes = sum(o["bytes"] for o in report["curated_objects"])
            stage.details = {"run_id": run_id, "curated_objects": len(report["curated_objects"])}
        else:
            lines = [line for line in output.strip().splitlines() if line.strip()]
            run["ErrorMessage"] = lines[-1] if lines else f"exit without output ({state})"
        _save(s3, where, run)
        log.info("glue.run_finished run=%s state=%s seconds=%.1f", run_id, state, run["ExecutionTime"])
        if state != "SUCCEEDED":
            raise JobRunFailed(run)
    return run


_SCRIPT_ARGUMENTS = ("raw_uri", "curated_uri", "quarantine_uri", "state_uri")


def job_run(run_id: str, settings: Settings | None = None, *, arguments: dict | None = None) -> dict | None:
    """Our runner's record of a run (GetJobRun as Glue would answer it), or None if unknown."""
    s = settings or get_settings()
    if arguments is None:
        glue = clients.aws_client("glue", s)
        job = glue.get_job(JobName=s.glue_job_name)["Job"]
        found = glue.get_job_run(JobName=s.glue_job_name, RunId=run_id)["JobRun"].get("Arguments", {})
        arguments = {**job.get("DefaultArguments", {}), **found}
    where = _run_location(arguments, run_id)
    s3 = clients.aws_client("s3", s)
    try:
        return json.loads(s3.get_object(Bucket=where.bucket, Key=where.key("run.json"))["Body"].read())
    except (s3.exceptions.NoSuchKey, s3.exceptions.NoSuchBucket):  # e.g. a test's run, bucket gone
        return None


def job_runs(settings: Settings | None = None) -> list[dict]:
    """Every run the Glue API knows for the job, newest first, as our runner recorded it."""
    s = settings or get_settings()
    glue = clients.aws_client("glue", s)
    job = glue.get_job(JobName=s.glue_job_name)["Job"]
    runs = []
    for page in glue.get_paginator("get_job_runs").paginate(JobName=s.glue_job_name):
        for api_run in page["JobRuns"]:
            merged = {**job.get("DefaultArguments", {}), **api_run.get("Arguments", {})}
            runs.append(
                job_run(api_run["Id"], s, arguments=merged) or {"Id": api_run["Id"], "JobRunState": "?"}
            )
    return sorted(runs, key=lambda r: r.get("StartedOn", ""), reverse=True)


def latest_run(settings: Settings | None = None) -> dict | None:
    """The newest run over the job's own locations (not a run started with other ones), as our runner
    recorded it; reads one run record instead of all of them."""
    s = settings or get_settings()
    glue = clients.aws_client("glue", s)
    defaults = glue.get_job(JobName=s.glue_job_name)["Job"].get("DefaultArguments", {})
    locations = [key for key in defaults if key.endswith("_uri")]

    def own_locations(run: dict) -> bool:  # the API may echo the defaults as the run's arguments
        arguments = {**defaults, **run.get("Arguments", {})}
        return all(arguments[key] == defaults[key] for key in locations)

    own = [
        run
        for page in glue.get_paginator("get_job_runs").paginate(JobName=s.glue_job_name)
        for run in page["JobRuns"]
        if own_locations(run)
    ]
    for api_run in sorted(own, key=lambda r: r["StartedOn"], reverse=True):
        record = job_run(api_run["Id"], s, arguments=defaults)
        if record:
            return record
    return None


def wait_for(run_id: str, settings: Settings | None = None, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = job_run(run_id, settings)
        if run and run.get("JobRunState") in TERMINAL:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"Glue job run {run_id} not finished after {timeout:.0f}s")
        time.sleep(1)
