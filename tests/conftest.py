"""Shared fixtures. Integration tests (marked `lab`) talk to the running native lab; `make test`
starts it first. One SparkSession serves the whole test session."""

from __future__ import annotations

import pytest

from retailstream.settings import Settings, get_settings


def pytest_collection_modifyitems(config, items):
    # Tests that restart lab services run last, so they cannot disturb the others.
    items.sort(key=lambda item: item.get_closest_marker("restarts_lab") is not None)
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


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
