"""Cross-check on generated 1× data, rerun identity, and the notebooks.

The job runs on a Hive database holding `retailstream data generate --scale 1`; every published answer is
compared with an independent computation on the canonical frames (pandas or DuckDB, written here, not
taken from the package). Then the job runs again: the RDS tables must be identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from uc_support import rds_table_comment, read_rds_table

from retailstream.settings import PROJECT_ROOT
from retailstream.stages.usecases import questions
from retailstream.stages.usecases.job import publish_use_cases, run_all

MONEY = 0.006  # results are rounded to cents
PCT = 0.006  # percentages to 2 decimals


@pytest.fixture(scope="module")
def run_1x(spark, hive_1x, reports_settings, rds_prefix):
    return run_all(reports_settings, spark, database=hive_1x, run_id="gen-1", table_prefix=rds_prefix)


@pytest.fixture(scope="module")
def result(run_1x):
    def read(number: int) -> pd.DataFrame:
        path = run_1x.run_dir / f"{questions.use_case(number).table}.parquet"
        return pq.read_table(path).to_pandas(date_as_object=False)

    return read


@pytest.fixture(scope="module")
def frames(generated_1x):
    sales, stores, features, traffic = (
        generated_1x[kind] for kind in ("sales", "stores", "features", "store_traffic")
    )
    store_weeks = (
        sales.groupby(["store", "week_date"])
        .agg(store_sales=("weekly_sales", "sum"), is_holiday=("is_holiday", "any"))
        .reset_index()
        .merge(stores[["store", "store_type"]], on="store")
    )
    return sales, stores, features, traffic, store_weeks


def close(actual, expected, tolerance: float) -> bool:
    return bool(np.allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=0, atol=tolerance))


def test_uc1_average_visits_of_type_b_stores_in_april(result, frames):
    _, stores, _, traffic, _ = frames
    april = traffic.merge(stores, on="store").query("store_type == 'B' and week_date.dt.month == 4")
    by_year = april.groupby(april["week_date"].dt.year)["customers"].mean()
    answer = result(1).set_index("period")
    assert set(answer["measure"]) == {"avg_weekly_customer_visits_per_store"}
    assert close(answer.loc[[f"{year}-04" for year in by_year.index], "value"], by_year.values, MONEY)
    assert close([answer.loc["all", "value"]], [april["customers"].mean()], MONEY)
    assert answer.loc["all", "store_weeks"] == len(april)


def test_uc2_holiday_and_other_weeks_by_type(result, frames):
    store_weeks = frames[4]
    means = store_weeks.groupby(["store_type", "is_holiday"])["store_sales"].agg(["mean", "size"]).unstack()
    answer = result(2).set_index("store_type").loc[means.index]
    assert close(answer["holiday_avg_weekly_sales"], means[("mean", True)], MONEY)
    assert close(answer["non_holiday_avg_weekly_sales"], means[("mean", False)], MONEY)
    assert list(answer["holiday_store_weeks"]) == list(means[("size", True)])
    uplift = (means[("mean", True)] / means[("mean", False)] - 1) * 100
    assert close(answer["holiday_uplift_pct"], uplift, PCT)


def test_uc3_worst_store_of_2012(result, frames):
    store_weeks = frames[4]
    year = store_weeks[store_weeks["week_date"].dt.year == 2012]
    per_store = year.groupby("store")["store_sales"].agg(["sum", "mean", "size"])
    answer = result(3).set_index("store").loc[per_store.index]
    assert close(answer["total_sales"], per_store["sum"], MONEY)
    assert close(answer["avg_weekly_sales"], per_store["mean"], MONEY)
    assert set(answer.index[answer["is_worst"]]) == {per_store["mean"].idxmin()}
    assert answer["last_week"].max() == year["week_date"].max()


def test_uc4_regression_of_store_weekly_sales_on_unemployment(result, frames):
    sales, _, features, _, store_weeks = frames
    joined = store_weeks.merge(features[["store", "week_date", "unemployment"]], on=["store", "week_date"])
    joined = joined.dropna(subset=["unemployment"])
    x, y = joined["unemployment"].to_numpy(), joined["store_sales"].to_numpy()
    slope, intercept = np.polyfit(x, y, 1)
    r2 = np.corrcoef(x, y)[0, 1] ** 2
    model = result(4).query("model == 'store'").iloc[0]
    assert model["n"] == len(joined)
    assert model["slope"] == pytest.approx(slope, abs=1e-5)
    assert model["intercept"] == pytest.approx(intercept, abs=1e-5)
    assert model["r2"] == pytest.approx(r2, abs=1e-6)
    high = x > 8
    assert model["high_unemployment_n"] == high.sum()
    assert close([model["observed_avg_sales"]], [y[high].mean()], MONEY)
    assert close([model["predicted_avg_sales"]], [intercept + slope * x[high].mean()], MONEY)

    rows = sales.merge(features[["store", "week_date", "unemployment"]], on=["store", "week_date"])
    rows = rows.dropna(subset=["unemployment"])
    depts = result(4).query("model == 'dept'").set_index("dept")
    for dept, group in rows.groupby("dept"):
        dept_slope, _ = np.polyfit(group["unemployment"], group["weekly_sales"], 1)
        assert depts.loc[dept, "slope"] == pytest.approx(dept_slope, abs=1e-5), dept


def test_uc5_monthly_sales_and_trend_per_department(result, frames):
    sales = frames[0]
    month = sales["week_date"].dt.to_period("M")
    monthly = sales.groupby(["dept", month])["weekly_sales"].sum().rename("sales").reset_index()
    answer = result(5)
    assert len(answer) == len(monthly)
    merged = monthly.assign(month_start=monthly["week_date"].dt.to_timestamp()).merge(
        answer, on=["dept", "month_start"]
    )
    assert len(merged) == len(monthly)
    assert close(merged["monthly_sales"], merged["sales"], MONEY)
    monthly["index"] = monthly["week_date"].dt.year * 12 + monthly["week_date"].dt.month
    trends = answer.drop_duplicates("dept").set_index("dept")["trend_slope_per_month"]
    for dept, group in monthly.groupby("dept"):
        if len(group) > 1:
            assert close([trends[dept]], [np.polyfit(group["index"], group["sales"], 1)[0]], MONEY), dept


def test_uc6_top_store_of_each_week_with_ties_in_duckdb(result, frames):
    import duckdb

    sales = frames[0]  # noqa: F841 (read by DuckDB through the local variable)
    top = duckdb.sql(
        """
        WITH weekly AS (
            SELECT store, week_date, SUM(CAST(weekly_sales AS DECIMAL(12, 2))) AS total
            FROM sales GROUP BY ALL)
        SELECT week_date, store FROM weekly
        QUALIFY total = MAX(total) OVER (PARTITION BY week_date)
        ORDER BY week_date, store
        """
    ).df()
    answer = result(6)
    assert list(zip(answer["week_date"], answer["store"], strict=True)) == list(
        zip(top["week_date"], top["store"], strict=True)
    )


def test_uc7_department_weekly_sales_and_rank(result, frames):
    sales = frames[0]
    weekly = sales.groupby(["week_date", "dept"])["weekly_sales"].sum().rename("sales").reset_index()
    answer = result(7).merge(weekly, on=["week_date", "dept"])
    assert len(answer) == len(weekly) == len(result(7))
    assert close(answer["dept_weekly_sales"], answer["sales"], MONEY)
    best = weekly.loc[weekly.groupby("week_date")["sales"].idxmax()]
    firsts = answer[answer["rank_in_week"] == 1]
    assert list(firsts["dept"]) == list(best["dept"])


def test_uc8_lowest_fuel_price_of_each_week_with_ties_in_duckdb(result, frames):
    import duckdb

    features = frames[2]  # noqa: F841
    lowest = duckdb.sql(
        """
        SELECT week_date, store, fuel_price FROM features
        QUALIFY fuel_price = MIN(fuel_price) OVER (PARTITION BY week_date)
        ORDER BY week_date, store
        """
    ).df()
    answer = result(8)
    columns = ["week_date", "store", "fuel_price"]
    assert answer[columns].values.tolist() == lowest[columns].values.tolist()
    assert answer["tied"].any()  # the 1× data has ties: they must all be there


def test_uc9_yearly_sales_rank_and_growth(result, frames):
    store_weeks = frames[4]
    yearly = (
        store_weeks.assign(year=store_weeks["week_date"].dt.year)
        .groupby(["store", "year"])["store_sales"]
        .agg(["sum", "mean"])
        .reset_index()
    )
    yearly["rank"] = yearly.groupby("year")["sum"].rank(ascending=False, method="min").astype(int)
    yearly["growth"] = (yearly["mean"] / yearly.groupby("store")["mean"].shift() - 1) * 100
    answer = result(9).merge(yearly, on=["store", "year"])
    assert len(answer) == len(yearly)
    assert close(answer["yearly_sales"], answer["sum"], MONEY)
    assert list(answer["rank_by_sales"]) == list(answer["rank"])
    growth = answer.dropna(subset=["growth"])
    assert close(growth["yoy_avg_weekly_growth_pct"], growth["growth"], PCT)
    assert answer.groupby("year")["partial_year"].first().to_dict() == {2010: True, 2011: False, 2012: True}


def test_uc10_with_and_without_offers(result, frames):
    _, _, features, _, store_weeks = frames
    markdowns = features[[f"markdown{n}" for n in range(1, 6)]]
    offers = features.assign(offer=(markdowns > 0).any(axis=1))[["store", "week_date", "offer"]]
    weeks = store_weeks.merge(offers, on=["store", "week_date"])
    first_offer = offers.loc[offers["offer"], "week_date"].min()
    answer = result(10)
    chain = answer.query("level == 'chain'").iloc[0]
    assert chain["first_offer_week"] == first_offer
    assert chain["offer_weeks"] == weeks["offer"].sum()
    assert close([chain["offer_avg_sales"]], [weeks.loc[weeks["offer"], "store_sales"].mean()], MONEY)
    assert close([chain["no_offer_avg_sales"]], [weeks.loc[~weeks["offer"], "store_sales"].mean()], MONEY)
    by_type = weeks.groupby(["store_type", "offer"])["store_sales"].mean().unstack()
    types = answer.query("level == 'type'").set_index("store_type").loc[by_type.index]
    assert close(types["offer_avg_sales"], by_type[True], MONEY)
    assert close(types["no_offer_avg_sales"], by_type[False], MONEY)
    assert len(answer.query("level == 'store'")) == weeks["store"].nunique()


def test_rerun_gives_identical_reporting_tables(spark, run_1x, hive_1x, reports_settings, rds_prefix):
    before = {name: read_rds_table(reports_settings, table) for name, table in run_1x.rds_tables.items()}
    rerun = publish_use_cases(
        reports_settings, spark, database=hive_1x, run_id="gen-2", table_prefix=rds_prefix, force=True
    )
    assert rerun.rds_tables == run_1x.rds_tables
    for name, table in rerun.rds_tables.items():
        assert read_rds_table(reports_settings, table) == before[name], name
        assert rds_table_comment(reports_settings, table).endswith("run gen-2")  # really replaced
        first = pq.read_table(run_1x.run_dir / f"{name}.parquet")
        assert pq.read_table(rerun.run_dir / f"{name}.parquet").equals(first), name


def test_rerun_on_unchanged_inputs_reuses_the_results(run_1x, hive_1x, reports_settings, rds_prefix):
    before = {name: read_rds_table(reports_settings, table) for name, table in run_1x.rds_tables.items()}
    reused = publish_use_cases(
        reports_settings, None, database=hive_1x, run_id="gen-3", table_prefix=rds_prefix
    )
    assert reused.reused_from in ("gen-1", "gen-2")
    assert reused.rds_tables == run_1x.rds_tables
    for name, table in reused.rds_tables.items():
        assert read_rds_table(reports_settings, table) == before[name], name
        first = pq.read_table(run_1x.run_dir / f"{name}.parquet")
        assert pq.read_table(reused.run_dir / f"{name}.parquet").equals(first), name


NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_executes_against_the_lab(path, hive_1x, settings, tmp_path):
    """The way `make demo` executes them (`retailstream notebooks run`), on this test's Hive database."""
    import nbformat

    from retailstream.notebooks.execute import execute_notebook

    executed = execute_notebook(
        path, tmp_path, "gen-notebooks", settings.model_copy(update={"hive_database": hive_1x})
    )

    notebook = nbformat.read(executed.notebook, as_version=4)
    assert hive_1x in notebook.cells[0].source  # the copy says which data its outputs show
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert executed.charts >= 3
    assert executed.html.read_text().count('src="data:image/png;base64') == executed.charts  # charts inlined
