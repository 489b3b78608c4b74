"""The compose stack's per-container commands (`lab run-service`, `lab check`, `lab bootstrap`), run here
as plain processes: a private Alertmanager on a free port and a private lab folder, next to the lab."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

RETAILSTREAM = [str(Path(sys.executable).with_name("retailstream"))]


def _cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RETAILSTREAM, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_bootstrap_checks_every_service_of_the_running_lab(lab):
    result = _cli("lab", "bootstrap")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"stack healthy: {len(lab.services())} services" in result.stdout
    assert "thriftserver: healthy" in result.stdout


def test_check_names_the_failure_and_unknown_services(lab):
    assert _cli("lab", "check", "prometheus").returncode == 0
    unknown = _cli("lab", "check", "no-such-service")
    assert unknown.returncode == 1 and "unknown service 'no-such-service'" in unknown.stdout


@pytest.fixture
def private_alertmanager_env(tmp_path: Path) -> dict:
    """Settings of a second Alertmanager: its own port (and cluster-free), its own lab folder."""
    return {
        **os.environ,
        "RETAILSTREAM_LAB_DIR": str(tmp_path / "lab"),
        "RETAILSTREAM_ALERTMANAGER_PORT": str(_free_port()),
        "RETAILSTREAM_ALERTMANAGER_HOST": "127.0.0.1",  # this container or host, not the stack's own
    }


def test_run_service_execs_the_service_and_is_healthy_only_after_its_ready_hook(private_alertmanager_env):
    env = private_alertmanager_env
    # Before the service and its ready hook ran, the container health check fails and says why.
    early = _cli("lab", "check", "--after-hooks", "alertmanager", env=env)
    assert early.returncode == 1 and "ready hook not finished" in early.stdout
    proc = subprocess.Popen(
        [*RETAILSTREAM, "lab", "run-service", "alertmanager"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # the compose health check's command
            check = subprocess.run(
                [sys.executable, "-m", "retailstream.lab.healthcheck", "alertmanager"],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if check.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert check.returncode == 0, check.stdout
        # exec: the process compose started is the service itself, not a Python wrapper around it.
        assert psutil.Process(proc.pid).name() == "prometheus-alertmanager"
        assert (Path(env["RETAILSTREAM_LAB_DIR"]) / "conf" / "alertmanager.yml").exists()
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "alertmanager: ready hook done" in output
