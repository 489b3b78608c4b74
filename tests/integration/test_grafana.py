"""Grafana, where it runs (the compose stack, when its image could be pulled): every provisioned dashboard
loads through Grafana's HTTP API, and every panel's query runs through Grafana's datasource proxy
against the lab's Prometheus — what a person opening the dashboards gets."""

from __future__ import annotations

import time

import pytest
import requests

from retailstream.monitoring.dashboards import panel_queries, substitute

DATASOURCE_UID = "retailstream-prometheus"


@pytest.fixture(scope="module")
def grafana(lab, settings):
    try:
        healthy = requests.get(f"{settings.grafana_url}/api/health", timeout=5).ok
    except requests.RequestException:
        healthy = False
    if not healthy:
        pytest.skip(
            f"Grafana is not running at {settings.grafana_url}: it runs in the compose stack when its image "
            "can be pulled (make up says so when it cannot)"
        )
    session = requests.Session()
    session.auth = ("admin", settings.secret("grafana_admin_password"))
    return session


def test_every_dashboard_loads_with_its_panels(grafana, settings):
    found = grafana.get(f"{settings.grafana_url}/api/search", params={"type": "dash-db"}, timeout=10).json()
    titles = {board["title"]: board["uid"] for board in found}
    expected = {query.dashboard for query in panel_queries()}
    assert expected <= set(titles), f"not provisioned: {expected - set(titles)}"
    for title in expected:
        board = grafana.get(f"{settings.grafana_url}/api/dashboards/uid/{titles[title]}", timeout=10).json()
        panels = [p for p in board["dashboard"]["panels"] if p.get("targets")]
        assert panels, title
        for panel in panels:
            assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in panel["targets"]), panel["title"]


def test_every_panel_query_runs_through_the_datasource_proxy(grafana, settings):
    values = {"pipeline": settings.pipeline_name, "stage": ".*", "dag_id": ".*"}
    now = time.time()
    proxy = f"{settings.grafana_url}/api/datasources/proxy/uid/{DATASOURCE_UID}/api/v1/query_range"
    for query in panel_queries():
        response = grafana.get(
            proxy,
            params={"query": substitute(query.expr, values), "start": now - 900, "end": now, "step": 15},
            timeout=30,
        )
        assert response.ok, (query.dashboard, query.panel, response.text[:200])
        assert response.json()["status"] == "success", (query.dashboard, query.panel)
