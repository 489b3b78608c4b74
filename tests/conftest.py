"""Shared fixtures. Integration tests (marked `lab`) talk to the running native lab; `make test`
starts it first. One SparkSession serves the whole test session."""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest

from retailstream.settings import Settings, get_settings

# The stage metrics the tests push carry a pipeline label of their own (deleted at the end), so
# `make test` never overwrites the real pipeline's series in Prometheus or fires its alerts. Set before
# any settings are read, so that child processes (a background Glue run, DAG tests) inherit it too.
os.environ["RETAILSTREAM_PIPELINE_NAME"] = f"tests-{uuid.uuid4().hex[:8]}"


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


@pytest.fixture(scope="session")
def lab(settings):
    """The running lab, verified healthy once per session (fails loudly instead of skipping)."""
    from retailstream.lab.control import Lab

    lab = Lab(settings)
    unhealthy = [f"{r.name}: {r.state} {r.detail}" for r in lab.status() if not r.healthy]
    if unhealthy:
        pytest.fail("the lab is not healthy (run `make up`):\n" + "\n".join(unhealthy), pytrace=False)
    return lab


@pytest.fixture(scope="session")
def spark(lab):
    from retailstream.spark import get_spark

    session = get_spark("retailstream-tests")
    yield session
    session.stop()
