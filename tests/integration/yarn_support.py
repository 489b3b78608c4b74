"""Run Spark code on the lab's YARN from a test: in a child process (the test session keeps its one
local SparkSession), whose settings say ``spark_master=yarn``; and read the ResourceManager's record of
the application."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import requests

from retailstream.settings import Settings


def run_on_yarn(code: str, settings: Settings, env: dict[str, str] | None = None) -> str:
    """Run ``code`` with ``spark`` bound to a YARN SparkSession (stopped afterwards); return the
    application's name. Raises with the child's output when it fails."""
    app = f"test-yarn-{uuid.uuid4().hex[:8]}"
    program = (
        "from retailstream.spark import get_spark\n"
        f"spark = get_spark({app!r})\n"
        "try:\n"
        + "".join(f"    {line}\n" for line in code.strip().splitlines())
        + "finally:\n    spark.stop()\n"
    )
    child_env = {**os.environ, "RETAILSTREAM_SPARK_MASTER": "yarn", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", program], env=child_env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"the YARN Spark job failed:\n{done.stderr[-4000:]}"
    return app


def yarn_application(settings: Settings, name: str) -> dict:
    response = requests.get(
        f"{settings.yarn_resourcemanager_url}/ws/v1/cluster/apps",
        params={"applicationTypes": "SPARK"},
        timeout=10,
    )
    apps = [app for app in (response.json()["apps"] or {}).get("app", []) if app["name"] == name]
    assert len(apps) == 1, f"the ResourceManager lists {len(apps)} applications named {name}"
    return apps[0]
