"""Dashboards as code: the committed JSON is what the code generates, and it is well-formed for Grafana."""

from __future__ import annotations

import json

import pytest
import yaml

from retailstream.monitoring import dashboards
from retailstream.settings import PROJECT_ROOT

PROVISIONING = PROJECT_ROOT / "grafana" / "provisioning"


def test_committed_dashboards_are_the_generated_ones():
    stale = dashboards.write_dashboards(dry_run=True)
    assert not stale, f"regenerate with `retailstream monitoring dashboards`: {[p.name for p in stale]}"
    on_disk = {p.name for p in dashboards.DASHBOARDS_DIR.glob("*.json")}
    assert on_disk == set(dashboards.DASHBOARDS)


def test_the_three_dashboards_cover_pipeline_services_and_airflow():
    titles = {json.loads(text)["title"]: json.loads(text) for text in dashboards.generated().values()}
    assert set(titles) == {"RetailStream pipeline", "RetailStream services", "RetailStream Airflow"}
    panels = {board: {p["title"] for p in titles[board]["panels"]} for board in titles}
    assert {
        "Last run status",
        "Duration per stage",
        "Rows read and written per stage",
        "Rows quarantined and duplicates per stage",
        "Freshness: time since last success",
    } <= panels["RetailStream pipeline"]
    assert "Engine health now" in panels["RetailStream services"]
    assert "Task instances finished, by state" in panels["RetailStream Airflow"]


@pytest.mark.parametrize("name", sorted(dashboards.DASHBOARDS))
def test_every_panel_queries_the_provisioned_datasource(name):
    board = json.loads(dashboards.generated()[name])
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": dashboards.DATASOURCE.uid}, panel["title"]
        assert panel["description"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]


def test_pipeline_queries_follow_the_pipeline_and_stage_variables():
    board = json.loads(dashboards.generated()["pipeline-overview.json"])
    assert [v["name"] for v in board["templating"]["list"]] == ["pipeline", "stage"]
    for query in dashboards.panel_queries(
        {"pipeline-overview.json": dashboards.render(dashboards.pipeline_overview())}
    ):
        if "retailstream_stage_" in query.expr:
            assert 'pipeline="$pipeline"' in query.expr and 'stage=~"$stage"' in query.expr, query


def test_provisioning_matches_the_dashboards():
    datasource = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())["datasources"][
        0
    ]
    assert datasource["uid"] == dashboards.DATASOURCE.uid and datasource["type"] == "prometheus"
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "retailstream.yml").read_text())["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"].startswith(
        "/var/lib/grafana/dashboards"
    )


def test_substitute_fills_grafana_variables_and_refuses_unknown_ones():
    expr = 'x{pipeline="$pipeline", stage=~"${stage}"}'
    assert dashboards.substitute(expr, {"pipeline": "p", "stage": ".*"}) == 'x{pipeline="p", stage=~".*"}'
    with pytest.raises(KeyError, match=r"\$stage"):
        dashboards.substitute(expr, {"pipeline": "p"})
