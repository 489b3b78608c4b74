"""The ten business questions, one PySpark function each, over the contract's canonical frames.

Every function takes ``(sales, stores, features, store_traffic)`` — Spark DataFrames with the contract's
snake_case columns (``store_traffic`` may be ``None``) — and returns a DataFrame sorted by its key, with
the columns its docstring lists. Most questions start from the same two aggregates of ``sales`` (store
weeks, department weeks): ``Shared`` holds them, so a run of all ten computes them once (``shared=``);
a function called alone builds them from its inputs. Rules shared by all ten:

- **Store weekly sales** = the sum of ``weekly_sales`` over the departments of one store in one week.
  Negative weekly sales (returns) are valid and kept in every sum and average.
- Money is summed exactly (as DECIMAL cents) and results are rounded half-up to cents, so reruns give
  identical numbers; percentages are rounded to 2 decimals, regression statistics to 6.
- A week is identified by its Friday (``week_date``); "in April" / "in 2012" / "in a month" means that
  Friday falls in it.
- Sales of a store missing from ``stores`` stay in per-store answers (``store_type`` NULL) and are left
  out of per-type answers.
- Ties are never broken arbitrarily: every tied row is reported (``RANK`` semantics, ``tied`` flags).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from pyspark.sql import Column, Window
from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

UNEMPLOYMENT_THRESHOLD = 8.0
MARKDOWNS = [f"markdown{n}" for n in range(1, 6)]
ALL_APRILS = "all"
VISITS_MEASURE = "avg_weekly_customer_visits_per_store"
SALES_MEASURE = "avg_weekly_sales_per_store"
NO_VISITS_NOTE = (
    "This dataset has no customer-visit data (no store_traffic table or it is empty), so average "
    "customer visits cannot be answered; shown instead: average weekly sales per type-B store in April."
)


def _cents(column: str | Column) -> Column:
    """Exact money arithmetic: source amounts carry two decimals."""
    return F.col(column).cast("decimal(12,2)") if isinstance(column, str) else column.cast("decimal(12,2)")


def _money(value: Column) -> Column:
    return F.round(value, 2).cast("double")


def _pct(numerator: Column, denominator: Column) -> Column:
    """(numerator / denominator - 1) * 100, NULL when the base is not positive."""
    ratio = numerator.cast("double") / denominator.cast("double")
    return F.when(denominator > 0, F.round((ratio - 1) * 100, 2))


def store_weekly_sales(sales: DataFrame) -> DataFrame:
    """store, week_date, store_sales (exact DECIMAL sum over departments), is_holiday (any row flagged)."""
    return sales.groupBy("store", "week_date").agg(
        F.sum(_cents("weekly_sales")).alias("store_sales"),
        F.bool_or("is_holiday").alias("is_holiday"),
    )


def _with_type(frame: DataFrame, stores: DataFrame) -> DataFrame:
    return frame.join(stores.select("store", "store_type"), "store", "left")


@dataclass(frozen=True)
class Shared:
    """The aggregates of ``sales`` that several questions start from (a few thousand rows at 1×)."""

    store_weeks: DataFrame  # store, week_date, store_sales, is_holiday, store_type (NULL: not in stores)
    dept_weeks: DataFrame  # dept, week_date, dept_sales (exact), stores (stores selling it that week)

    @classmethod
    def of(cls, sales: DataFrame, stores: DataFrame) -> Shared:
        dept_weeks = sales.groupBy("dept", "week_date").agg(
            F.sum(_cents("weekly_sales")).alias("dept_sales"),
            # (store, dept, week_date) is the sales key: one row per store.
            F.count("*").cast("int").alias("stores"),
        )
        return cls(_with_type(store_weekly_sales(sales), stores), dept_weeks)

    def frames(self) -> list[DataFrame]:
        return [getattr(self, f.name) for f in fields(self)]


def _sorted(frame: DataFrame, *columns: str | Column) -> DataFrame:
    """Every result is small (at most one row per department-week): sorted in one partition, without the
    sampling job and range shuffle of a global ``orderBy``."""
    return frame.coalesce(1).sortWithinPartitions(*columns)


def uc01_type_b_april_visits(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC1 — Average customer visits for type-B stores in April.

    Definition: over the store-weeks of type-B stores whose week (Friday) falls in April, the average of
    the store's weekly customer visits (``store_traffic.customers``) — per April of each year and over
    all Aprils together. When the dataset has no visits (``store_traffic`` absent or empty, as in the
    real Kaggle data) visits are NOT estimated: the answer is the average **store weekly sales** per
    type-B store-week in April instead, with ``measure`` saying so and ``note`` explaining why.

    Columns: period ('YYYY-04' for one April, 'all' for every April), measure
    ('avg_weekly_customer_visits_per_store' or 'avg_weekly_sales_per_store'), value (rounded to 2
    decimals), stores (distinct type-B stores counted), store_weeks (store-weeks averaged), note.
    """
    type_b = F.col("store_type") == "B"
    if store_traffic is not None and not store_traffic.isEmpty():
        weekly = store_traffic.select("store", "week_date", _cents("customers").alias("value"))
        weekly = weekly.join(stores.filter(type_b).select("store"), "store")
        measure, note = VISITS_MEASURE, "average weekly customer visits per type-B store in April"
    else:
        store_weeks = (shared or Shared.of(sales, stores)).store_weeks
        weekly = store_weeks.filter(type_b).select("store", "week_date", F.col("store_sales").alias("value"))
        measure, note = SALES_MEASURE, NO_VISITS_NOTE
    april = weekly.filter(F.month("week_date") == 4)
    aggregates = [
        _money(F.avg("value")).alias("value"),
        F.countDistinct("store").cast("int").alias("stores"),
        F.count("value").cast("int").alias("store_weeks"),
    ]
    per_year = april.groupBy(F.format_string("%d-04", F.year("week_date")).alias("period")).agg(*aggregates)
    overall = april.agg(*aggregates).select(F.lit(ALL_APRILS).alias("period"), "*")
    # An empty April still answers (with NULL value) instead of vanishing from the report.
    result = per_year.unionByName(overall).select(
        "period", F.lit(measure).alias("measure"), "value", "stores", "store_weeks", F.lit(note).alias("note")
    )
    return _sorted(result, "period")


def uc02_holiday_sales_by_type(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC2 — Average sales in holiday weeks by store type, with non-holiday weeks beside them.

    Definition: a store-week is a holiday week when its sales rows carry ``is_holiday`` (any row of the
    store-week flagged). Per store type, the average store weekly sales over holiday store-weeks and over
    the other store-weeks; the uplift compares the two averages.

    Columns: store_type, holiday_avg_weekly_sales, non_holiday_avg_weekly_sales,
    holiday_uplift_pct ((holiday / non-holiday - 1) * 100; NULL when the non-holiday average is not
    positive), holiday_store_weeks, non_holiday_store_weeks.
    """
    store_weeks = (shared or Shared.of(sales, stores)).store_weeks
    weekly = store_weeks.filter(F.col("store_type").isNotNull())
    holiday = F.col("is_holiday")
    holiday_avg = F.avg(F.when(holiday, F.col("store_sales")))
    other_avg = F.avg(F.when(~holiday, F.col("store_sales")))
    by_type = weekly.groupBy("store_type").agg(
        _money(holiday_avg).alias("holiday_avg_weekly_sales"),
        _money(other_avg).alias("non_holiday_avg_weekly_sales"),
        _pct(holiday_avg, other_avg).alias("holiday_uplift_pct"),
        F.count_if(holiday).cast("int").alias("holiday_store_weeks"),
        F.count_if(~holiday).cast("int").alias("non_holiday_store_weeks"),
    )
    return _sorted(by_type, "store_type")


def uc03_leap_year_2012(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC3 — Leap-year 2012 performance per store, and the worst-performing store.

    Definition: the store-weeks whose Friday falls in 2012. The data covers 2012 only partly (the real
    and synthetic sales end on 2012-10-26): ``first_week``/``last_week`` show the coverage. Per store:
    the total, the number of weeks and the average store weekly sales. Because the year is partial and
    stores could cover different weeks, stores are ranked by average weekly sales (lowest first); the
    worst-performing store has rank 1 — several stores when tied.

    Columns: store, store_type, total_sales, weeks, avg_weekly_sales, rank_from_worst, is_worst,
    first_week, last_week.
    """
    store_weeks = (shared or Shared.of(sales, stores)).store_weeks
    weekly = store_weeks.withColumn("year", F.year("week_date")).filter(F.col("year") == 2012)
    per_store = weekly.groupBy("year", "store", "store_type").agg(
        _money(F.sum("store_sales")).alias("total_sales"),
        F.count("*").cast("int").alias("weeks"),
        F.avg("store_sales").alias("exact_avg"),
        F.min("week_date").alias("first_week"),
        F.max("week_date").alias("last_week"),
    )
    # One year: its window holds one row per store.
    rank = F.rank().over(Window.partitionBy("year").orderBy("exact_avg")).cast("int")
    ranked = per_store.withColumn("rank_from_worst", rank).select(
        "store",
        "store_type",
        "total_sales",
        "weeks",
        _money(F.col("exact_avg")).alias("avg_weekly_sales"),
        "rank_from_worst",
        (F.col("rank_from_worst") == 1).alias("is_worst"),
        "first_week",
        "last_week",
    )
    return _sorted(ranked, "store")


def uc04_unemployment_regression(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC4 — Sales prediction with the unemployment factor.

    Definition: ordinary least squares ``y = intercept + slope * unemployment`` fitted on store-weeks
    joined to ``features`` on (store, week_date); store-weeks without a features row or with NULL
    unemployment are left out. Two kinds of model:

    - ``model = 'store'`` (one row): y = store weekly sales — the regression of the question;
    - ``model = 'dept'`` (one row per department): y = the department's weekly sales in one store, one
      observation per (store, dept, week).

    For each model, on the observations with unemployment > 8 %: the observed average y and the
    predicted average ``intercept + slope * avg(unemployment)`` (= the average of the per-row predictions).

    Columns: model, dept (NULL for the store model), n (observations fitted), intercept, slope (USD per
    unemployment point), r2, high_unemployment_n, observed_avg_sales, predicted_avg_sales,
    prediction_error_pct ((predicted / observed - 1) * 100; NULL when observed is not positive).
    Coefficients and R² are NULL when undefined (fewer than two distinct unemployment values).
    """
    unemployment = features.filter(F.col("unemployment").isNotNull()).select(
        "store", "week_date", F.col("unemployment").alias("x")
    )
    store_rows = (
        (shared or Shared.of(sales, stores))
        .store_weeks.join(unemployment, ["store", "week_date"])
        .select(F.lit("store").alias("model"), F.lit(None).cast("int").alias("dept"), "x", "store_sales")
    )
    dept_rows = sales.join(unemployment, ["store", "week_date"]).select(
        F.lit("dept").alias("model"), "dept", "x", _cents("weekly_sales").alias("store_sales")
    )
    y = F.col("store_sales").cast("double")
    high = F.col("x") > UNEMPLOYMENT_THRESHOLD
    fitted = (
        store_rows.unionByName(dept_rows)
        .groupBy("model", "dept")
        .agg(
            F.count("*").cast("int").alias("n"),
            F.regr_intercept(y, "x").alias("intercept"),
            F.regr_slope(y, "x").alias("slope"),
            F.regr_r2(y, "x").alias("r2"),
            F.count_if(high).cast("int").alias("high_unemployment_n"),
            F.avg(F.when(high, F.col("store_sales"))).alias("observed"),
            F.avg(F.when(high, F.col("x"))).alias("high_x"),
        )
    )
    predicted = F.col("intercept") + F.col("slope") * F.col("high_x")
    models = fitted.select(
        "model",
        "dept",
        "n",
        F.round("intercept", 6).alias("intercept"),
        F.round("slope", 6).alias("slope"),
        F.round("r2", 6).alias("r2"),
        "high_unemployment_n",
        _money(F.col("observed")).alias("observed_avg_sales"),
        _money(predicted).alias("predicted_avg_sales"),
        _pct(predicted, F.col("observed")).alias("prediction_error_pct"),
    )
    return _sorted(models, F.col("model").desc(), "dept")


def uc05_monthly_dept_sales(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC5 — Monthly sales per department, with the trend.

    Definition: a department's monthly sales = the sum of its weekly sales over all stores and the weeks
    whose Friday falls in that month. Months hold four or five Fridays, so ``avg_weekly_sales``
    (monthly sales / weeks) is given to compare months fairly. Trend = the department's OLS slope of
    monthly sales over the month index (USD per month, all its months); ``mom_change`` = monthly sales
    minus the previous calendar month's (NULL when the department had no sales that month).

    Columns: dept, month_start (first day of the month), weeks (distinct Fridays with sales of the
    department), monthly_sales, avg_weekly_sales, mom_change, trend_slope_per_month, trend_months
    (months in the trend fit).
    """
    # Department-weeks first: then a month's weeks are its rows (no DISTINCT count over all stores).
    weekly = (shared or Shared.of(sales, stores)).dept_weeks
    month_start = F.make_date(F.year("week_date"), F.month("week_date"), F.lit(1))
    monthly = weekly.groupBy("dept", month_start.alias("month_start")).agg(
        F.count("*").cast("int").alias("weeks"),
        F.sum("dept_sales").alias("exact_sales"),
    )
    month_index = F.year("month_start") * 12 + F.month("month_start")
    monthly = monthly.withColumn("month_index", month_index)
    dept = Window.partitionBy("dept")
    by_month = dept.orderBy("month_index")
    previous_index = F.lag("month_index").over(by_month)
    previous_sales = F.lag("exact_sales").over(by_month)
    trend = F.regr_slope(F.col("exact_sales").cast("double"), "month_index").over(dept)
    result = monthly.select(
        "dept",
        "month_start",
        "weeks",
        _money(F.col("exact_sales")).alias("monthly_sales"),
        _money(F.col("exact_sales") / F.col("weeks")).alias("avg_weekly_sales"),
        _money(
            F.when(previous_index == F.col("month_index") - 1, F.col("exact_sales") - previous_sales)
        ).alias("mom_change"),
        F.round(trend, 2).alias("trend_slope_per_month"),
        F.count("*").over(dept).cast("int").alias("trend_months"),
    )
    return _sorted(result, "dept", "month_start")


def uc06_top_store_per_week(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC6 — The store with the highest sales each week.

    Definition: per week, the store(s) whose store weekly sales equal the week's maximum; tied stores
    each get a row and ``tied`` is true for them.

    Columns: week_date, store, store_type, store_weekly_sales, stores_in_week (stores with sales that
    week), tied.
    """
    week = Window.partitionBy("week_date")
    top = (
        (shared or Shared.of(sales, stores))
        .store_weeks.withColumn("week_max", F.max("store_sales").over(week))
        .withColumn("stores_in_week", F.count("*").over(week).cast("int"))
        .filter(F.col("store_sales") == F.col("week_max"))
        .withColumn("tied", F.count("*").over(week) > 1)
    )
    result = top.select(
        "week_date",
        "store",
        "store_type",
        _money(F.col("store_sales")).alias("store_weekly_sales"),
        "stores_in_week",
        "tied",
    )
    return _sorted(result, "week_date", "store")


def uc07_dept_weekly_performance(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC7 — Department performance by week.

    Definition: a department's weekly sales = the sum of its weekly sales over all stores that week.
    Within each week departments are ranked by it (1 = best, ties share a rank) and given their share of
    the week's total sales of all departments; ``wow_change`` = weekly sales minus the department's
    sales of the week before (7 days earlier; NULL when it had none).

    Columns: week_date, dept, dept_weekly_sales, stores (stores selling the department that week),
    rank_in_week, share_of_week_pct (NULL when the week's total is not positive), wow_change.
    """
    weekly = (shared or Shared.of(sales, stores)).dept_weeks.withColumnRenamed("dept_sales", "exact_sales")
    week = Window.partitionBy("week_date")
    week_total = F.sum("exact_sales").over(week)
    by_week = Window.partitionBy("dept").orderBy("week_date")
    previous_week = F.lag("week_date").over(by_week)
    previous_sales = F.lag("exact_sales").over(by_week)
    share = F.col("exact_sales").cast("double") / week_total.cast("double") * 100
    result = weekly.select(
        "week_date",
        "dept",
        _money(F.col("exact_sales")).alias("dept_weekly_sales"),
        "stores",
        F.rank().over(week.orderBy(F.col("exact_sales").desc())).cast("int").alias("rank_in_week"),
        F.when(week_total > 0, F.round(share, 2)).alias("share_of_week_pct"),
        _money(
            F.when(previous_week == F.date_sub("week_date", 7), F.col("exact_sales") - previous_sales)
        ).alias("wow_change"),
    )
    return _sorted(result, "week_date", "dept")


def uc08_lowest_fuel_price_per_week(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC8 — The store with the lowest fuel price each week.

    Definition: from ``features``, per week, the store(s) whose ``fuel_price`` equals the week's minimum;
    NULL fuel prices are ignored; tied stores each get a row with ``tied`` true. All feature weeks are
    covered, including those after the last sales week.

    Columns: week_date, store, store_type, fuel_price, stores_reporting (stores with a fuel price that
    week), tied.
    """
    week = Window.partitionBy("week_date")
    lowest = (
        features.filter(F.col("fuel_price").isNotNull())
        .select("week_date", "store", "fuel_price")
        .withColumn("week_min", F.min("fuel_price").over(week))
        .withColumn("stores_reporting", F.count("*").over(week).cast("int"))
        .filter(F.col("fuel_price") == F.col("week_min"))
        .withColumn("tied", F.count("*").over(week) > 1)
    )
    result = _with_type(lowest, stores).select(
        "week_date", "store", "store_type", "fuel_price", "stores_reporting", "tied"
    )
    return _sorted(result, "week_date", "store")


def uc09_store_yearly_performance(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC9 — Store performance by year, compared year over year.

    Definition: per store and calendar year (of the week's Friday): yearly sales (sum of store weekly
    sales), weeks and average weekly sales; ``rank_by_sales`` ranks the stores within the year by yearly
    sales (1 = best, ties share a rank). A year is partial when the data (all stores) starts after its
    first Friday or ends before its last one (e.g. 2010 from 5 Feb, 2012 until 26 Oct); growth between a
    partial and a full year mixes coverage, so besides ``yoy_growth_pct`` (yearly totals) the growth of
    the average weekly sales ``yoy_avg_weekly_growth_pct`` is given, and stores are ranked by that
    (``rank_by_growth``). Growth needs the same store in the previous calendar year with a positive base,
    else NULL.

    Columns: store, store_type, year, weeks, yearly_sales, avg_weekly_sales, partial_year,
    rank_by_sales, yoy_growth_pct, yoy_avg_weekly_growth_pct, rank_by_growth.
    """
    store_weeks = (shared or Shared.of(sales, stores)).store_weeks
    weekly = store_weeks.withColumn("year", F.year("week_date"))
    yearly = weekly.groupBy("store", "store_type", "year").agg(
        F.count("*").cast("int").alias("weeks"),
        F.sum("store_sales").alias("exact_sales"),
        F.avg("store_sales").alias("exact_avg"),
        F.min("week_date").alias("first_week"),
        F.max("week_date").alias("last_week"),
    )
    in_year = Window.partitionBy("year")
    # The first Friday of a year falls on 1-7 January, the last on 25-31 December.
    partial = (F.min("first_week").over(in_year) > F.make_date(F.col("year"), F.lit(1), F.lit(7))) | (
        F.max("last_week").over(in_year) < F.make_date(F.col("year"), F.lit(12), F.lit(25))
    )
    by_store = Window.partitionBy("store").orderBy("year")
    consecutive = F.lag("year").over(by_store) == F.col("year") - 1
    previous_sales = F.when(consecutive, F.lag("exact_sales").over(by_store))
    previous_avg = F.when(consecutive, F.lag("exact_avg").over(by_store))
    ranked = yearly.select(
        "*",
        partial.alias("partial_year"),
        F.rank().over(in_year.orderBy(F.col("exact_sales").desc())).cast("int").alias("rank_by_sales"),
        _pct(F.col("exact_sales"), previous_sales).alias("yoy_growth_pct"),
        _pct(F.col("exact_avg"), previous_avg).alias("yoy_avg_weekly_growth_pct"),
    )
    growth = F.col("yoy_avg_weekly_growth_pct")
    growth_rank = F.rank().over(in_year.orderBy(growth.desc_nulls_last())).cast("int")
    result = ranked.select(
        "store",
        "store_type",
        "year",
        "weeks",
        _money(F.col("exact_sales")).alias("yearly_sales"),
        _money(F.col("exact_avg")).alias("avg_weekly_sales"),
        "partial_year",
        "rank_by_sales",
        "yoy_growth_pct",
        "yoy_avg_weekly_growth_pct",
        F.when(growth.isNotNull(), growth_rank).alias("rank_by_growth"),
    )
    return _sorted(result, "store", "year")


def uc10_offer_weeks(
    sales: DataFrame,
    stores: DataFrame,
    features: DataFrame,
    store_traffic: DataFrame | None = None,
    shared: Shared | None = None,
) -> DataFrame:
    """UC10 — Weekly performance with vs without offers, per store and per store type.

    Definition: an offer week is a store-week whose ``features`` row has any MarkDown1..5 > 0; a NULL
    markdown is not an offer, nor is a zero or negative one. Store weekly sales are joined to
    ``features`` on (store, week_date); store-weeks without a features row are left out. Rows per store
    (``level = 'store'``), per store type (``'type'``) and for the whole chain (``'chain'``).

    Caveat — confounded by time: markdown data only exists from late 2011 (``first_offer_week``, the
    earliest offer week of any store in ``features``), so "without offers" is mostly 2010-2011 and
    "with offers" entirely 2011-2012, mixing growth and seasonality into the comparison. The
    ``*_since_first_offer`` columns restrict the no-offer side to weeks from ``first_offer_week`` on, a
    fairer (still observational) comparison.

    Columns: level, store, store_type, offer_weeks, offer_avg_sales, no_offer_weeks,
    no_offer_avg_sales, offer_vs_no_offer_pct, first_offer_week, no_offer_weeks_since_first_offer,
    no_offer_avg_sales_since_first_offer, offer_vs_no_offer_since_first_offer_pct (percentages:
    (offer average / no-offer average - 1) * 100, NULL when the base is not positive).
    """
    is_offer = F.lit(False)
    for markdown in MARKDOWNS:
        is_offer = is_offer | F.coalesce(F.col(markdown) > 0, F.lit(False))
    offers = features.select("store", "week_date", is_offer.alias("offer"))
    first_offer = offers.agg(F.min(F.when(F.col("offer"), F.col("week_date"))).alias("first_offer_week"))
    store_weeks = (shared or Shared.of(sales, stores)).store_weeks
    weekly = store_weeks.join(offers, ["store", "week_date"]).crossJoin(first_offer)

    offer, sales_ = F.col("offer"), F.col("store_sales")
    recent = F.col("week_date") >= F.col("first_offer_week")
    offer_avg = F.avg(F.when(offer, sales_))
    no_offer_avg = F.avg(F.when(~offer, sales_))
    recent_no_offer_avg = F.avg(F.when(~offer & recent, sales_))
    aggregates = {
        "offer_weeks": F.count_if(offer).cast("int"),
        "offer_avg_sales": _money(offer_avg),
        "no_offer_weeks": F.count_if(~offer).cast("int"),
        "no_offer_avg_sales": _money(no_offer_avg),
        "offer_vs_no_offer_pct": _pct(offer_avg, no_offer_avg),
        "first_offer_week": F.first("first_offer_week"),
        "no_offer_weeks_since_first_offer": F.count_if(~offer & recent).cast("int"),
        "no_offer_avg_sales_since_first_offer": _money(recent_no_offer_avg),
        "offer_vs_no_offer_since_first_offer_pct": _pct(offer_avg, recent_no_offer_avg),
    }
    # One pass: ROLLUP(store_type, store) yields the store, type and chain levels.
    grouped = weekly.rollup("store_type", "store").agg(
        F.grouping_id().alias("grouping"), *(column.alias(name) for name, column in aggregates.items())
    )
    level = F.when(F.col("grouping") == 0, "store").when(F.col("grouping") == 1, "type").otherwise("chain")
    level_order = F.when(F.col("level") == "store", 0).when(F.col("level") == "type", 1).otherwise(2)
    levels = (
        grouped.withColumn("level", level)
        # Stores missing from `stores` have no type: they stay per store and in the chain only.
        .filter((F.col("level") != "type") | F.col("store_type").isNotNull())
    )
    return _sorted(levels, level_order, "store", "store_type").select(
        "level", "store", "store_type", *aggregates
    )


Question = Callable[..., "DataFrame"]


@dataclass(frozen=True)
class UseCase:
    number: int
    table: str  # reporting table and file name
    title: str
    compute: Question
    key: tuple[str, ...]  # one row per key value (NULL in a key column means "all" at that level)


# fmt: off
USE_CASES: tuple[UseCase, ...] = (
    UseCase(1, "uc01_type_b_april_visits", "Type-B stores in April: customer visits",
            uc01_type_b_april_visits, ("period",)),
    UseCase(2, "uc02_holiday_sales_by_type", "Holiday-week sales by store type",
            uc02_holiday_sales_by_type, ("store_type",)),
    UseCase(3, "uc03_leap_year_2012", "Leap year 2012: store performance",
            uc03_leap_year_2012, ("store",)),
    UseCase(4, "uc04_unemployment_regression", "Sales and unemployment: regression and prediction",
            uc04_unemployment_regression, ("model", "dept")),
    UseCase(5, "uc05_monthly_dept_sales", "Monthly sales per department and trend",
            uc05_monthly_dept_sales, ("dept", "month_start")),
    UseCase(6, "uc06_top_store_per_week", "Top store each week",
            uc06_top_store_per_week, ("week_date", "store")),
    UseCase(7, "uc07_dept_weekly_performance", "Department performance by week",
            uc07_dept_weekly_performance, ("week_date", "dept")),
    UseCase(8, "uc08_lowest_fuel_price_per_week", "Lowest fuel price each week",
            uc08_lowest_fuel_price_per_week, ("week_date", "store")),
    UseCase(9, "uc09_store_yearly_performance", "Store performance by year, year over year",
            uc09_store_yearly_performance, ("store", "year")),
    UseCase(10, "uc10_offer_weeks", "Weeks with vs without offers",
            uc10_offer_weeks, ("level", "store", "store_type")),
)
# fmt: on


def use_case(number_or_table: int | str) -> UseCase:
    for case in USE_CASES:
        if number_or_table in (case.number, case.table):
            return case
    raise ValueError(f"unknown use case {number_or_table!r}; known: 1..10 or {[c.table for c in USE_CASES]}")
