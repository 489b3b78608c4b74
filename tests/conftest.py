"""Shared fixtures. Integration tests (marked `lab`) talk to the running native lab; `make test`
starts it first. One SparkSession serves the whole test session."""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest

from retailstream.settings import Settings, get_settings

# The environment the lab's services run with: a test that restarts them must not hand them its own.
LAB_ENVIRONMENT = dict(os.environ)
# The stage metrics the tests push carry a pipeline label of their own (deleted at the end), so
# `make test` never overwrites the real pipeline's series in Prometheus or fires its alerts. Set before
# any settings are read, so that child processes (a background Glue run, DAG tests) inherit it too.
TEST_PIPELINE_NAME = f"tests-{uuid.uuid4().hex[:8]}"
os.environ["RETAILSTREAM_PIPELINE_NAME"] = TEST_PIPELINE_NAME


def pytest_collection_modifyitems(config, items):
    # Tests that restart lab services run last, so they cannot disturb the others.
    items.sort(key=lambda item: item.get_closest_marker("restarts_lab") is not None)
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session", autouse=True)
def _delete_test_metrics(settings):
    yield
    from retailstream.monitoring.metrics import delete_pushed_metrics

    with contextlib.suppress(OSError):  # no Pushgateway (unit tests without the lab): nothing pushed
        delete_pushed_metrics(settings)


def _carries_test_environment(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            variables = handle.read().decode(errors="replace").split("\0")
    except OSError:  # gone, or not ours to read
        return False
    return any(
        v.startswith("PYTEST_") or v == f"RETAILSTREAM_PIPELINE_NAME={TEST_PIPELINE_NAME}" for v in variables
    )


@pytest.fixture(scope="session", autouse=True)
def _lab_left_as_found(settings):
    """After the suite no lab process may run with the test session's environment: a test that restarted
    a service would otherwise leave it pushing metrics under the test label."""
    yield
    from retailstream.lab.control import open_lab

    tainted = [pid for pid in open_lab(settings).process_tree() if _carries_test_environment(pid)]
    assert not tainted, f"lab processes started with the test session's environment: pids {tainted}"


@pytest.fixture(scope="session")
def lab(settings):
    """The running lab (native, or the compose stack the tests run in), verified healthy once per session
    (fails loudly instead of skipping)."""
    from retailstream.lab.control import open_lab

    lab = open_lab(settings, environment=LAB_ENVIRONMENT)
    unhealthy = [f"{r.name}: {r.state} {r.detail}" for r in lab.status() if not r.healthy]
    if unhealthy:
        pytest.fail("the lab is not healthy (run `make up`):\n" + "\n".join(unhealthy), pytrace=False)
    return lab


@pytest.fixture(scope="session")
def native_lab(lab, settings):
    """For the tests of what only the native lab has (supervisord, its files, a second lab beside it)."""
    if settings.lab != "native":
        pytest.skip("native lab only: the compose stack has no supervisord and keeps its files in containers")
    return lab


@pytest.fixture(scope="session")
def demo_run(lab, settings) -> str:
    """The latest run `make demo` made through the scheduler, with its transcript and executed notebooks
    (else the demo runs now)."""
    from retailstream.orchestration.demo import run_demo
    from retailstream.walkthrough.recorder import WalkthroughError, latest_demo_run

    try:
        return latest_demo_run(settings)
    except WalkthroughError:
        assert run_demo(settings) == 0
        return latest_demo_run(settings)


@pytest.fixture(scope="session")
def spark(lab):
    from retailstream.spark import get_spark

    session = get_spark("retailstream-tests")
    yield session
    session.stop()
