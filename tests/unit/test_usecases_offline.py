"""Use-case pieces that need no lab: run folders, RDS DDL, the report on degenerate results, notebooks."""

from __future__ import annotations

import json

import nbformat
import pyarrow as pa
import pytest

from retailstream.settings import PROJECT_ROOT
from retailstream.stages.usecases import publish, questions
from retailstream.stages.usecases.report import render_html

TYPES = {"s": pa.string(), "f": pa.float64(), "i": pa.int32(), "b": pa.bool_(), "d": pa.date32()}
# The documented columns of every result, with their types (s string, f double, i int, b bool, d date).
SCHEMAS = {
    1: "period:s measure:s value:f stores:i store_weeks:i note:s",
    2: "store_type:s holiday_avg_weekly_sales:f non_holiday_avg_weekly_sales:f holiday_uplift_pct:f "
    "holiday_store_weeks:i non_holiday_store_weeks:i",
    3: "store:i store_type:s total_sales:f weeks:i avg_weekly_sales:f rank_from_worst:i is_worst:b "
    "first_week:d last_week:d",
    4: "model:s dept:i n:i intercept:f slope:f r2:f high_unemployment_n:i observed_avg_sales:f "
    "predicted_avg_sales:f prediction_error_pct:f",
    5: "dept:i month_start:d weeks:i monthly_sales:f avg_weekly_sales:f mom_change:f trend_slope_per_month:f "
    "trend_months:i",
    6: "week_date:d store:i store_type:s store_weekly_sales:f stores_in_week:i tied:b",
    7: "week_date:d dept:i dept_weekly_sales:f stores:i rank_in_week:i share_of_week_pct:f wow_change:f",
    8: "week_date:d store:i store_type:s fuel_price:f stores_reporting:i tied:b",
    9: "store:i store_type:s year:i weeks:i yearly_sales:f avg_weekly_sales:f partial_year:b rank_by_sales:i "
    "yoy_growth_pct:f yoy_avg_weekly_growth_pct:f rank_by_growth:i",
    10: "level:s store:i store_type:s offer_weeks:i offer_avg_sales:f no_offer_weeks:i no_offer_avg_sales:f "
    "offer_vs_no_offer_pct:f first_offer_week:d no_offer_weeks_since_first_offer:i "
    "no_offer_avg_sales_since_first_offer:f offer_vs_no_offer_since_first_offer_pct:f",
}


def empty_results() -> dict[str, pa.Table]:
    tables = {}
    for case in questions.USE_CASES:
        fields = [column.split(":") for column in SCHEMAS[case.number].split()]
        tables[case.table] = pa.schema([(name, TYPES[kind]) for name, kind in fields]).empty_table()
    return tables


def empty_manifest(run_id: str) -> dict:
    return {
        "run_id": run_id,
        "database": "nowhere",
        "created_at": "2026-01-01T00:00:00+00:00",
        "has_store_traffic": False,
        "input_rows": {"sales": 0, "stores": 0, "features": 0, "store_traffic": None},
        "tables": {name: {"rows": 0, "rds_table": f"retail_reports.{name}"} for name in empty_results()},
    }


def test_every_use_case_documents_its_columns():
    for case in questions.USE_CASES:
        doc = case.compute.__doc__
        assert doc.lstrip().startswith(f"UC{case.number} —")
        assert "Definition:" in doc
        for column in SCHEMAS[case.number].split():
            assert column.split(":")[0] in doc.split("Columns:")[1], (case.table, column)


def test_report_renders_when_every_result_is_empty():
    manifest = empty_manifest("empty")
    html = render_html(manifest, empty_results())
    assert html.count('src="data:image/png;base64,') == 10
    assert "This dataset has no customer-visit data" in html
    assert "store_traffic — (no table)" in html


def test_a_report_of_unchanged_results_takes_its_charts_from_the_cache(tmp_path, monkeypatch):
    from retailstream.stages.usecases import charts
    from retailstream.stages.usecases.report import CHART_CACHE, write_report

    manifest = empty_manifest("cached")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    write_report(first, manifest, empty_results())
    assert len(list((tmp_path / CHART_CACHE).glob("*.json"))) == 10

    def no_drawing(number, frame):
        raise AssertionError(f"use case {number} was drawn again")

    monkeypatch.setattr(charts, "section", no_drawing)
    write_report(second, manifest, empty_results())
    for name in ("report.html", "findings.json"):
        assert (second / name).read_bytes() == (first / name).read_bytes()


def test_rds_ddl_follows_the_arrow_types_and_the_key():
    table = pa.table(
        {
            "level": ["store"],
            "store": pa.array([None], pa.int32()),
            "value": [1.5],
            "day": pa.array([None], pa.date32()),
            "flag": [True],
            "note": ["x" * 300],
        }
    )
    sql = publish.create_table_sql("uc_x", table, ["level", "store"])
    assert sql == (
        "CREATE TABLE `uc_x` (`level` VARCHAR(255), `store` INT, `value` DOUBLE, `day` DATE, `flag` BOOLEAN, "
        "`note` TEXT, UNIQUE KEY `uq_uc_x` (`level`, `store`)) ENGINE=InnoDB COMMENT=%s"
    )


@pytest.mark.parametrize("bad", ["", "latest", "../x", "a/b", "x" * 65])
def test_run_ids_cannot_escape_the_reports_folder(bad):
    with pytest.raises(ValueError):
        publish.checked_run_id(bad)


def test_notebooks_are_committed_clean_on_the_retailstream_kernel():
    paths = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
    assert len(paths) >= 2
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        assert notebook.metadata.kernelspec.name == "retailstream"
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(not cell.outputs and cell.execution_count is None for cell in code), path.name
        assert "get_settings()" in code[0].source and "parameters" in code[0].metadata.get("tags", [])
        json.dumps(notebook)  # plain JSON, nothing binary


def test_run_folder_is_replaced_whole_and_latest_moves(tmp_path):
    first = {"uc_a": pa.table({"x": [1, 2]}), "uc_b": pa.table({"y": ["a"]})}
    publish.write_run_files(tmp_path / "r1", first, {"tables": list(first)})
    publish.write_run_files(tmp_path / "r1", {"uc_a": pa.table({"x": [3]})}, {"tables": ["uc_a"]})
    manifest, tables = publish.read_run(tmp_path / "r1")
    assert sorted(path.name for path in (tmp_path / "r1").iterdir()) == [
        "manifest.json",
        "uc_a.csv",
        "uc_a.parquet",
    ]
    assert tables["uc_a"].column("x").to_pylist() == [3]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["r1"]  # no staging folder left

    publish.write_run_files(tmp_path / "r2", first, {"tables": list(first)})
    publish.point_latest(tmp_path, "r1")
    publish.point_latest(tmp_path, "r2")
    assert publish.resolve_run_dir(tmp_path, None) == tmp_path / "r2"
    with pytest.raises(ValueError, match="invalid run id"):
        publish.resolve_run_dir(tmp_path, "../elsewhere")


def test_report_definitions_show_their_markup_as_html_and_escape_the_rest():
    from retailstream.stages.usecases.report import docstring_html

    html = docstring_html("- **Store weekly sales** = the sum of ``weekly_sales`` <per> store & week")
    assert str(html) == (
        "- <strong>Store weekly sales</strong> = the sum of <code>weekly_sales</code> "
        "&lt;per&gt; store &amp; week"
    )
