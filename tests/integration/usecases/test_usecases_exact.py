"""Exactness: a small hand-built dataset whose answers were worked out by hand and are stated literally.

The data (4 stores, 2 departments, 6 sales weeks) is built to exercise the rules of every use case:
ties (UC6 week 2011-04-08, UC8 weeks 2011-04-08 and 2012-04-13), a negative weekly sale (store 3, dept 2,
2011-04-08: -50.00), NA handling (markdowns NA, 0 or negative are no offer — UC10; unemployment NA is
left out of the regression and 8.0 is not "> 8" — UC4), cents that must add up exactly (store 4 in 2012),
and no store_traffic table (UC1 falls back to sales, labelled). The whole job runs once against a Hive
database holding this data: the published Parquet files and the RDS tables must hold exactly these rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from uc_support import rds_table_comment, read_rds_table

from retailstream.stages.usecases import questions
from retailstream.stages.usecases.job import run_all
from retailstream.stages.usecases.source import read_inputs

W1, W2 = date(2011, 4, 1), date(2011, 4, 8)  # April 2011
W3 = date(2011, 11, 25)  # Thanksgiving: the only holiday week
W4 = date(2011, 12, 2)
W5, W6 = date(2012, 4, 6), date(2012, 4, 13)  # April 2012 (the leap year)
W7 = date(2012, 4, 20)  # features only, no sales
WEEKS = (W1, W2, W3, W4, W5, W6)

STORES = [(1, "A", 150_000), (2, "B", 100_000), (3, "B", 90_000), (4, "C", 40_000)]
# store → (dept 1, dept 2) weekly sales for W1..W6; store 4 sells only dept 1.
SALES = {
    1: [(1000, 500), (1200, 300), (2000, 1000), (1500, 500), (1100, 400), (1300, 500)],
    2: [(800, 200), (1000, 500), (1500, 500), (900, 300), (700, 100), (900, 300)],
    3: [(600, 100), (450, -50), (1000, 200), (700, 100), (500, 100), (650, 50)],
    4: [(300,), (300,), (500,), (400,), (250.50,), (249.50,)],
}
# Store weekly sales, for reading the expectations below:
#   store 1: 1500 1500 3000 2000 1500 1800      store 3: 700 400 1200 800 600 700
#   store 2: 1000 1500 2000 1200  800 1200      store 4: 300 300  500 400 250.50 249.50
FUEL = {  # week → fuel price of stores 1..4
    W1: (3.10, 2.95, 3.05, 2.99),
    W2: (3.00, 3.00, 2.98, 2.98),
    W3: (3.30, 3.25, 3.26, 3.40),
    W4: (3.20, 3.30, 3.30, 3.30),
    W5: (3.90, 3.80, 3.85, 3.95),
    W6: (3.90, 3.90, 3.90, 3.90),
}
UNEMPLOYMENT = {(1, W1): 6.0, (2, W1): 8.0, (2, W5): 10.0}  # every other store-week: NA
MARKDOWNS = {  # (store, week) → {markdown n: value}; everything else NA
    (1, W3): {1: 100.0},
    (2, W3): {3: 0.0},  # zero: no offer
    (3, W3): {2: -5.0},  # negative: no offer
    (1, W4): {5: 10.0},
    (2, W4): {1: 50.0},
    (4, W4): {4: 1.5},
    (1, W5): {2: 20.0},
    (3, W5): {1: 5.0},
    **{(store, W6): {1: 10.0} for store in (1, 2, 3, 4)},
}
NA = float("nan")


def hand_built_frames() -> dict[str, pd.DataFrame]:
    sales = [
        (store, dept, week, float(amount), week == W3)
        for store, weeks in SALES.items()
        for week, amounts in zip(WEEKS, weeks, strict=True)
        for dept, amount in enumerate(amounts, start=1)
    ]
    features = [
        (store, week, 50.0, FUEL[week][store - 1])
        + tuple(MARKDOWNS.get((store, week), {}).get(n, NA) for n in range(1, 6))
        + (211.0, UNEMPLOYMENT.get((store, week), NA), week == W3)
        for week in WEEKS
        for store in (1, 2, 3, 4)
    ]
    features += [
        (1, W7, 55.0, 3.70, *[NA] * 5, 211.0, NA, False),
        (4, W7, 55.0, 3.60, *[NA] * 5, 211.0, NA, False),
    ]
    feature_columns = ["store", "week_date", "temperature", "fuel_price"]
    feature_columns += [f"markdown{n}" for n in range(1, 6)] + ["cpi", "unemployment", "is_holiday"]
    frames = {
        "sales": pd.DataFrame(sales, columns=["store", "dept", "week_date", "weekly_sales", "is_holiday"]),
        "stores": pd.DataFrame(STORES, columns=["store", "store_type", "size"]),
        "features": pd.DataFrame(features, columns=feature_columns),
    }
    for frame in frames.values():
        if "week_date" in frame:
            frame["week_date"] = pd.to_datetime(frame["week_date"])
    return frames


# --- the answers, worked out by hand -----------------------------------------------------------------

NO_VISITS = "avg_weekly_sales_per_store"
EXPECTED = {
    # B stores 2 and 3 in April: 2011 (1000+1500+700+400)/4, 2012 (800+1200+600+700)/4, all 6900/8.
    "uc01_type_b_april_visits": [
        ("2011-04", NO_VISITS, 900.0, 2, 4),
        ("2012-04", NO_VISITS, 825.0, 2, 4),
        ("all", NO_VISITS, 862.5, 2, 8),
    ],
    # A: 3000 vs 8300/5=1660 → +80.72 %; B: (2000+1200)/2=1600 vs 8900/10=890 → +79.78 %;
    # C: 500 vs 1500/5=300 → +66.67 %.
    "uc02_holiday_sales_by_type": [
        ("A", 3000.0, 1660.0, 80.72, 1, 5),
        ("B", 1600.0, 890.0, 79.78, 2, 10),
        ("C", 500.0, 300.0, 66.67, 1, 5),
    ],
    # 2012 = W5, W6. Store 4: 250.50 + 249.50 = 500.00 exactly → worst.
    "uc03_leap_year_2012": [
        (1, "A", 3300.0, 2, 1650.0, 4, False, W5, W6),
        (2, "B", 2000.0, 2, 1000.0, 3, False, W5, W6),
        (3, "B", 1300.0, 2, 650.0, 2, False, W5, W6),
        (4, "C", 500.0, 2, 250.0, 1, True, W5, W6),
    ],
    # Store model on (6, 1500), (8, 1000), (10, 800): slope -1400/8 = -175, intercept 1100+175*8 = 2500,
    # R² = 1400²/(8*260000) = 0.942308; only x=10 is > 8 (8.0 is not): predicted 750 vs 800 → -6.25 %.
    # Dept 1 on (6,1000), (8,800), (10,700): slope -600/8 = -75, intercept 2500/3+600 = 1433.333333,
    # R² = 360000/(8*46666.67) = 0.964286, predicted 683.33 vs 700 → -2.38 %.
    # Dept 2 on (6,500), (8,200), (10,100): slope -800/8 = -100, intercept 800/3+800 = 1066.666667,
    # R² = 640000/(8*86666.67) = 0.923077, predicted 66.67 vs 100 → -33.33 %.
    "uc04_unemployment_regression": [
        ("store", None, 3, 2500.0, -175.0, 0.942308, 1, 800.0, 750.0, -6.25),
        ("dept", 1, 3, 1433.333333, -75.0, 0.964286, 1, 700.0, 683.33, -2.38),
        ("dept", 2, 3, 1066.666667, -100.0, 0.923077, 1, 100.0, 66.67, -33.33),
    ],
    # Months at index 0, 7, 8, 12 (Apr, Nov, Dec 2011, Apr 2012): Sxx = 74.75; dept 1 Sxy = -2850
    # → -38.13/month; dept 2 Sxy = -1300 → -17.39/month. Only Dec follows its previous month.
    "uc05_monthly_dept_sales": [
        (1, date(2011, 4, 1), 2, 5650.0, 2825.0, None, -38.13, 4),
        (1, date(2011, 11, 1), 1, 5000.0, 5000.0, None, -38.13, 4),
        (1, date(2011, 12, 1), 1, 3500.0, 3500.0, -1500.0, -38.13, 4),
        (1, date(2012, 4, 1), 2, 5650.0, 2825.0, None, -38.13, 4),
        (2, date(2011, 4, 1), 2, 1550.0, 775.0, None, -17.39, 4),
        (2, date(2011, 11, 1), 1, 1700.0, 1700.0, None, -17.39, 4),
        (2, date(2011, 12, 1), 1, 900.0, 900.0, -800.0, -17.39, 4),
        (2, date(2012, 4, 1), 2, 1450.0, 725.0, None, -17.39, 4),
    ],
    "uc06_top_store_per_week": [
        (W1, 1, "A", 1500.0, 4, False),
        (W2, 1, "A", 1500.0, 4, True),
        (W2, 2, "B", 1500.0, 4, True),
        (W3, 1, "A", 3000.0, 4, False),
        (W4, 1, "A", 2000.0, 4, False),
        (W5, 1, "A", 1500.0, 4, False),
        (W6, 1, "A", 1800.0, 4, False),
    ],
    # Dept 2 in W2 = 300 + 500 - 50 = 750; shares of the week's total, e.g. 2950/3700 = 79.73 %.
    "uc07_dept_weekly_performance": [
        (W1, 1, 2700.0, 4, 1, 77.14, None),
        (W1, 2, 800.0, 3, 2, 22.86, None),
        (W2, 1, 2950.0, 4, 1, 79.73, 250.0),
        (W2, 2, 750.0, 3, 2, 20.27, -50.0),
        (W3, 1, 5000.0, 4, 1, 74.63, None),
        (W3, 2, 1700.0, 3, 2, 25.37, None),
        (W4, 1, 3500.0, 4, 1, 79.55, -1500.0),
        (W4, 2, 900.0, 3, 2, 20.45, -800.0),
        (W5, 1, 2550.5, 4, 1, 80.96, None),
        (W5, 2, 600.0, 3, 2, 19.04, None),
        (W6, 1, 3099.5, 4, 1, 78.48, 549.0),
        (W6, 2, 850.0, 3, 2, 21.52, 250.0),
    ],
    "uc08_lowest_fuel_price_per_week": [
        (W1, 2, "B", 2.95, 4, False),
        (W2, 3, "B", 2.98, 4, True),
        (W2, 4, "C", 2.98, 4, True),
        (W3, 2, "B", 3.25, 4, False),
        (W4, 1, "A", 3.2, 4, False),
        (W5, 2, "B", 3.8, 4, False),
        (W6, 1, "A", 3.9, 4, True),
        (W6, 2, "B", 3.9, 4, True),
        (W6, 3, "B", 3.9, 4, True),
        (W6, 4, "C", 3.9, 4, True),
        (W7, 4, "C", 3.6, 2, False),
    ],
    # 2011 = W1..W4, 2012 = W5, W6 (both partial). Growth of totals, e.g. store 2: 2000/5700 - 1;
    # of weekly averages: store 3: 650/775 - 1 = -16.13 % is the best, so rank 1.
    "uc09_store_yearly_performance": [
        (1, "A", 2011, 4, 8000.0, 2000.0, True, 1, None, None, None),
        (1, "A", 2012, 2, 3300.0, 1650.0, True, 1, -58.75, -17.5, 2),
        (2, "B", 2011, 4, 5700.0, 1425.0, True, 2, None, None, None),
        (2, "B", 2012, 2, 2000.0, 1000.0, True, 2, -64.91, -29.82, 3),
        (3, "B", 2011, 4, 3100.0, 775.0, True, 3, None, None, None),
        (3, "B", 2012, 2, 1300.0, 650.0, True, 3, -58.06, -16.13, 1),
        (4, "C", 2011, 4, 1500.0, 375.0, True, 4, None, None, None),
        (4, "C", 2012, 2, 500.0, 250.0, True, 4, -66.67, -33.33, 4),
    ],
    # Offer weeks: store 1 W3-W6, store 2 W4 W6, store 3 W5 W6, store 4 W4 W6; first offer W3.
    # Store 4: offers (400+249.50)/2 = 324.75, none (300+300+500+250.50)/4 = 337.625 → 337.63.
    # Chain: 12649.50/10 = 1264.95 vs 12750.50/14 = 910.75; since W3: 5550.50/6 = 925.08.
    "uc10_offer_weeks": [
        ("store", 1, "A", 4, 2075.0, 2, 1500.0, 38.33, W3, 0, None, None),
        ("store", 2, "B", 2, 1200.0, 4, 1325.0, -9.43, W3, 2, 1400.0, -14.29),
        ("store", 3, "B", 2, 650.0, 4, 775.0, -16.13, W3, 2, 1000.0, -35.0),
        ("store", 4, "C", 2, 324.75, 4, 337.63, -3.81, W3, 2, 375.25, -13.46),
        ("type", None, "A", 4, 2075.0, 2, 1500.0, 38.33, W3, 0, None, None),
        ("type", None, "B", 4, 925.0, 8, 1050.0, -11.9, W3, 4, 1200.0, -22.92),
        ("type", None, "C", 2, 324.75, 4, 337.63, -3.81, W3, 2, 375.25, -13.46),
        ("chain", None, None, 10, 1264.95, 14, 910.75, 38.89, W3, 6, 925.08, 36.74),
    ],
}
COLUMNS = {
    "uc01_type_b_april_visits": ["period", "measure", "value", "stores", "store_weeks", "note"],
    "uc02_holiday_sales_by_type": [
        "store_type",
        "holiday_avg_weekly_sales",
        "non_holiday_avg_weekly_sales",
        "holiday_uplift_pct",
        "holiday_store_weeks",
        "non_holiday_store_weeks",
    ],
    "uc03_leap_year_2012": [
        "store",
        "store_type",
        "total_sales",
        "weeks",
        "avg_weekly_sales",
        "rank_from_worst",
        "is_worst",
        "first_week",
        "last_week",
    ],
    "uc04_unemployment_regression": [
        "model",
        "dept",
        "n",
        "intercept",
        "slope",
        "r2",
        "high_unemployment_n",
        "observed_avg_sales",
        "predicted_avg_sales",
        "prediction_error_pct",
    ],
    "uc05_monthly_dept_sales": [
        "dept",
        "month_start",
        "weeks",
        "monthly_sales",
        "avg_weekly_sales",
        "mom_change",
        "trend_slope_per_month",
        "trend_months",
    ],
    "uc06_top_store_per_week": [
        "week_date",
        "store",
        "store_type",
        "store_weekly_sales",
        "stores_in_week",
        "tied",
    ],
    "uc07_dept_weekly_performance": [
        "week_date",
        "dept",
        "dept_weekly_sales",
        "stores",
        "rank_in_week",
        "share_of_week_pct",
        "wow_change",
    ],
    "uc08_lowest_fuel_price_per_week": [
        "week_date",
        "store",
        "store_type",
        "fuel_price",
        "stores_reporting",
        "tied",
    ],
    "uc09_store_yearly_performance": [
        "store",
        "store_type",
        "year",
        "weeks",
        "yearly_sales",
        "avg_weekly_sales",
        "partial_year",
        "rank_by_sales",
        "yoy_growth_pct",
        "yoy_avg_weekly_growth_pct",
        "rank_by_growth",
    ],
    "uc10_offer_weeks": [
        "level",
        "store",
        "store_type",
        "offer_weeks",
        "offer_avg_sales",
        "no_offer_weeks",
        "no_offer_avg_sales",
        "offer_vs_no_offer_pct",
        "first_offer_week",
        "no_offer_weeks_since_first_offer",
        "no_offer_avg_sales_since_first_offer",
        "offer_vs_no_offer_since_first_offer_pct",
    ],
}


def rows_of(table) -> list[tuple]:
    return [tuple(row.values()) for row in table.to_pylist()]


@pytest.fixture(scope="module")
def hand_db(hive_database) -> str:
    return hive_database(hand_built_frames())


@pytest.fixture(scope="module")
def hand_run(spark, hand_db, reports_settings, rds_prefix):
    return run_all(reports_settings, spark, database=hand_db, run_id="hand-1", table_prefix=rds_prefix)


def test_every_use_case_returns_exactly_the_hand_computed_rows(hand_run):
    assert hand_run.has_store_traffic is False
    for case in questions.USE_CASES:
        table = pq.read_table(hand_run.run_dir / f"{case.table}.parquet")
        assert table.column_names == COLUMNS[case.table], case.table
        rows = rows_of(table)
        if case.number == 1:
            assert {row[-1] for row in rows} == {questions.NO_VISITS_NOTE}
            rows = [row[:-1] for row in rows]
        assert rows == EXPECTED[case.table], case.table


def test_rds_tables_hold_the_same_rows_and_name_the_run(hand_run, reports_settings):
    for case in questions.USE_CASES:
        rds_table = hand_run.rds_tables[case.table]
        columns, rows = read_rds_table(reports_settings, rds_table)
        assert columns == COLUMNS[case.table]
        parquet = pq.read_table(hand_run.run_dir / f"{case.table}.parquet")
        # MariaDB returns BOOLEAN as 0/1.
        expected = [tuple(int(v) if isinstance(v, bool) else v for v in row) for row in rows_of(parquet)]
        assert rows == sorted(expected, key=repr), case.table
        assert rds_table_comment(reports_settings, rds_table) == "retailstream use cases, run hand-1"


def test_csv_files_match_parquet(hand_run):
    for case in questions.USE_CASES:
        csv = pd.read_csv(hand_run.run_dir / f"{case.table}.csv")
        assert list(csv.columns) == COLUMNS[case.table]
        assert len(csv) == len(EXPECTED[case.table])


def test_report_states_definitions_caveats_and_has_a_chart_per_use_case(hand_run, reports_settings):
    html = hand_run.report.read_text()
    assert hand_run.report == hand_run.run_dir / "report.html"
    assert html.count('src="data:image/png;base64,') == 10
    assert "<link" not in html and "<script" not in html  # self-contained
    assert "This dataset has no customer-visit data" in html
    assert "confounded by time" in html and "2011-11-25" in html  # UC10 caveat with the first offer week
    assert "only partly covered: weeks from 2012-04-06 to 2012-04-13" in html  # UC3 partial 2012
    assert "Store weekly sales = 2,500 − 175 × unemployment (%), R² = 0.9423, n = 3" in html
    assert (reports_settings.reports_dir / "latest").resolve() == hand_run.run_dir


def test_uc1_reports_visits_when_store_traffic_exists(spark, hand_db):
    inputs = read_inputs(spark, hand_db)
    traffic = spark.createDataFrame(
        [(2, W1, 100), (2, W2, 120), (3, W1, 80), (3, W2, 61), (2, W5, 110), (3, W5, 90)]
        + [(1, W1, 999), (2, W3, 500)],  # a type-A store and a November week: not counted
        "store int, week_date date, customers int",
    )
    result = questions.uc01_type_b_april_visits(inputs.sales, inputs.stores, inputs.features, traffic)
    visits = "avg_weekly_customer_visits_per_store"
    assert [tuple(row)[:5] for row in result.collect()] == [
        ("2011-04", visits, 90.25, 2, 4),  # (100+120+80+61)/4
        ("2012-04", visits, 100.0, 2, 2),  # (110+90)/2
        ("all", visits, 93.5, 2, 6),  # 561/6
    ]
    empty = traffic.limit(0)
    fallback = questions.uc01_type_b_april_visits(inputs.sales, inputs.stores, inputs.features, empty)
    assert [row["value"] for row in fallback.collect()] == [900.0, 825.0, 862.5]
    assert {row["measure"] for row in fallback.collect()} == {NO_VISITS}


def test_cli_rerenders_the_report_of_a_run_from_its_files(hand_run, reports_settings):
    report = hand_run.run_dir / "report.html"
    report.unlink()
    cli = Path(sys.executable).with_name("retailstream")
    env = {**os.environ, "RETAILSTREAM_REPORTS_DIR": str(reports_settings.reports_dir)}
    done = subprocess.run(
        [str(cli), "usecases", "report", "--run-id", "hand-1"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(report) in done.stdout
    assert report.read_text().count('src="data:image/png;base64,') == 10
