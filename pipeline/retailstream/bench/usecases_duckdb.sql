-- The ten use cases in DuckDB SQL, with the definitions of retailstream.stages.usecases.questions (same
-- columns, same rounding), for `make bench`: Spark and DuckDB answer over the same Parquet files.
-- Views `sales`, `stores`, `features`, `store_traffic` and the macro-like view `sw` (store weekly sales)
-- are created by the bench. Each block starts with a line `-- ucNN`.

-- uc01
WITH april AS (
    SELECT t.store, t.week_date, CAST(t.customers AS DECIMAL(12, 2)) AS value
    FROM store_traffic t JOIN stores s USING (store)
    WHERE s.store_type = 'B' AND month(t.week_date) = 4)
SELECT period, 'avg_weekly_customer_visits_per_store' AS measure, value, stores, store_weeks
FROM (
    SELECT strftime(week_date, '%Y') || '-04' AS period, round(avg(value), 2)::DOUBLE AS value,
           count(DISTINCT store)::INT AS stores, count(value)::INT AS store_weeks
    FROM april GROUP BY period
    UNION ALL
    SELECT 'all', round(avg(value), 2)::DOUBLE, count(DISTINCT store)::INT, count(value)::INT FROM april)
ORDER BY period;

-- uc02
SELECT s.store_type,
       round(avg(store_sales) FILTER (WHERE is_holiday), 2)::DOUBLE AS holiday_avg_weekly_sales,
       round(avg(store_sales) FILTER (WHERE NOT is_holiday), 2)::DOUBLE AS non_holiday_avg_weekly_sales,
       round((avg(store_sales::DOUBLE) FILTER (WHERE is_holiday)
              / avg(store_sales::DOUBLE) FILTER (WHERE NOT is_holiday) - 1) * 100, 2) AS holiday_uplift_pct,
       (count(*) FILTER (WHERE is_holiday))::INT AS holiday_store_weeks,
       (count(*) FILTER (WHERE NOT is_holiday))::INT AS non_holiday_store_weeks
FROM sw JOIN stores s USING (store)
GROUP BY s.store_type ORDER BY s.store_type;

-- uc03
WITH per_store AS (
    SELECT store, sum(store_sales) AS total, count(*) AS weeks, avg(store_sales) AS average,
           min(week_date) AS first_week, max(week_date) AS last_week
    FROM sw WHERE year(week_date) = 2012 GROUP BY store)
SELECT store, s.store_type, round(total, 2)::DOUBLE AS total_sales, weeks::INT AS weeks,
       round(average, 2)::DOUBLE AS avg_weekly_sales,
       (rank() OVER (ORDER BY average))::INT AS rank_from_worst,
       rank() OVER (ORDER BY average) = 1 AS is_worst, first_week, last_week
FROM per_store LEFT JOIN stores s USING (store)
ORDER BY store;

-- uc04
WITH u AS (SELECT store, week_date, unemployment AS x FROM features WHERE unemployment IS NOT NULL),
observations AS (
    SELECT 'store' AS model, NULL::INT AS dept, x, store_sales AS y FROM sw JOIN u USING (store, week_date)
    UNION ALL
    SELECT 'dept', dept, x, CAST(weekly_sales AS DECIMAL(12, 2)) FROM sales JOIN u USING (store, week_date)),
fitted AS (
    SELECT model, dept, count(*)::INT AS n, regr_intercept(y::DOUBLE, x) AS intercept,
           regr_slope(y::DOUBLE, x) AS slope, regr_r2(y::DOUBLE, x) AS r2,
           (count(*) FILTER (WHERE x > 8))::INT AS high_unemployment_n,
           avg(y) FILTER (WHERE x > 8) AS observed, avg(x) FILTER (WHERE x > 8) AS high_x
    FROM observations GROUP BY model, dept)
SELECT model, dept, n, round(intercept, 6) AS intercept, round(slope, 6) AS slope, round(r2, 6) AS r2,
       high_unemployment_n, round(observed, 2)::DOUBLE AS observed_avg_sales,
       round(intercept + slope * high_x, 2) AS predicted_avg_sales,
       CASE WHEN observed > 0 THEN round(((intercept + slope * high_x) / observed::DOUBLE - 1) * 100, 2) END
           AS prediction_error_pct
FROM fitted ORDER BY model DESC, dept;

-- uc05
WITH monthly AS (
    SELECT dept, date_trunc('month', week_date)::DATE AS month_start, count(DISTINCT week_date) AS weeks,
           sum(CAST(weekly_sales AS DECIMAL(12, 2))) AS sales
    FROM sales GROUP BY ALL),
indexed AS (SELECT *, year(month_start) * 12 + month(month_start) AS idx FROM monthly),
trend AS (SELECT dept, round(regr_slope(sales::DOUBLE, idx), 2) AS slope, count(*)::INT AS months
          FROM indexed GROUP BY dept)
SELECT i.dept, month_start, weeks::INT AS weeks, round(sales, 2)::DOUBLE AS monthly_sales,
       round(sales / weeks, 2)::DOUBLE AS avg_weekly_sales,
       round(CASE WHEN lag(idx) OVER w = idx - 1 THEN sales - lag(sales) OVER w END, 2)::DOUBLE AS mom_change,
       slope AS trend_slope_per_month, months AS trend_months
FROM indexed i JOIN trend USING (dept)
WINDOW w AS (PARTITION BY i.dept ORDER BY idx)
ORDER BY i.dept, month_start;

-- uc06
WITH ranked AS (
    SELECT *, max(store_sales) OVER w AS week_max, count(*) OVER w AS stores_in_week
    FROM sw WINDOW w AS (PARTITION BY week_date)),
top AS (SELECT * FROM ranked WHERE store_sales = week_max)
SELECT week_date, store, s.store_type, round(store_sales, 2)::DOUBLE AS store_weekly_sales,
       stores_in_week::INT AS stores_in_week, count(*) OVER (PARTITION BY week_date) > 1 AS tied
FROM top LEFT JOIN stores s USING (store)
ORDER BY week_date, store;

-- uc07
WITH weekly AS (
    SELECT week_date, dept, sum(CAST(weekly_sales AS DECIMAL(12, 2))) AS sales,
           count(DISTINCT store)::INT AS stores
    FROM sales GROUP BY ALL)
SELECT week_date, dept, round(sales, 2)::DOUBLE AS dept_weekly_sales, stores,
       (rank() OVER (PARTITION BY week_date ORDER BY sales DESC))::INT AS rank_in_week,
       CASE WHEN sum(sales) OVER (PARTITION BY week_date) > 0
            THEN round(sales::DOUBLE / (sum(sales) OVER (PARTITION BY week_date))::DOUBLE * 100, 2) END
           AS share_of_week_pct,
       round(CASE WHEN lag(week_date) OVER d = week_date - INTERVAL 7 DAY THEN sales - lag(sales) OVER d END, 2)
           ::DOUBLE AS wow_change
FROM weekly
WINDOW d AS (PARTITION BY dept ORDER BY week_date)
ORDER BY week_date, dept;

-- uc08
WITH ranked AS (
    SELECT week_date, store, fuel_price, min(fuel_price) OVER w AS week_min, count(*) OVER w AS reporting
    FROM features WHERE fuel_price IS NOT NULL WINDOW w AS (PARTITION BY week_date)),
lowest AS (SELECT * FROM ranked WHERE fuel_price = week_min)
SELECT week_date, store, s.store_type, fuel_price, reporting::INT AS stores_reporting,
       count(*) OVER (PARTITION BY week_date) > 1 AS tied
FROM lowest LEFT JOIN stores s USING (store)
ORDER BY week_date, store;

-- uc09
WITH weekly AS (SELECT *, year(week_date) AS year FROM sw),
coverage AS (
    SELECT year, min(week_date) > make_date(year, 1, 7) OR max(week_date) < make_date(year, 12, 25) AS partial_year
    FROM weekly GROUP BY year),
yearly AS (
    SELECT store, year, count(*) AS weeks, sum(store_sales) AS total, avg(store_sales) AS average
    FROM weekly GROUP BY store, year),
compared AS (
    SELECT *,
           CASE WHEN lag(year) OVER s = year - 1 THEN lag(total) OVER s END AS previous_total,
           CASE WHEN lag(year) OVER s = year - 1 THEN lag(average) OVER s END AS previous_average
    FROM yearly WINDOW s AS (PARTITION BY store ORDER BY year)),
growth AS (
    SELECT *,
           CASE WHEN previous_total > 0 THEN round((total::DOUBLE / previous_total::DOUBLE - 1) * 100, 2) END
               AS yoy_growth_pct,
           CASE WHEN previous_average > 0
                THEN round((average::DOUBLE / previous_average::DOUBLE - 1) * 100, 2) END
               AS yoy_avg_weekly_growth_pct
    FROM compared)
SELECT g.store, s.store_type, g.year::INT AS year, weeks::INT AS weeks, round(total, 2)::DOUBLE AS yearly_sales,
       round(average, 2)::DOUBLE AS avg_weekly_sales, partial_year,
       (rank() OVER (PARTITION BY g.year ORDER BY total DESC))::INT AS rank_by_sales,
       yoy_growth_pct, yoy_avg_weekly_growth_pct,
       CASE WHEN yoy_avg_weekly_growth_pct IS NOT NULL
            THEN (rank() OVER (PARTITION BY g.year ORDER BY yoy_avg_weekly_growth_pct DESC NULLS LAST))::INT
       END AS rank_by_growth
FROM growth g JOIN coverage USING (year) LEFT JOIN stores s USING (store)
ORDER BY g.store, g.year;

-- uc10
WITH offers AS (
    SELECT store, week_date,
           coalesce(markdown1 > 0, false) OR coalesce(markdown2 > 0, false) OR coalesce(markdown3 > 0, false)
           OR coalesce(markdown4 > 0, false) OR coalesce(markdown5 > 0, false) AS offer
    FROM features),
weekly AS (
    SELECT sw.*, o.offer, s.store_type FROM sw JOIN offers o USING (store, week_date) LEFT JOIN stores s USING (store)),
marked AS (
    SELECT *, week_date >= (SELECT min(week_date) FILTER (WHERE offer) FROM offers) AS recent,
           (SELECT min(week_date) FILTER (WHERE offer) FROM offers) AS first_offer_week
    FROM weekly),
grouped AS (
    SELECT GROUPING(store_type, store) AS grouping, store_type, store,
           (count(*) FILTER (WHERE offer))::INT AS offer_weeks,
           avg(store_sales) FILTER (WHERE offer) AS offer_avg,
           (count(*) FILTER (WHERE NOT offer))::INT AS no_offer_weeks,
           avg(store_sales) FILTER (WHERE NOT offer) AS no_offer_avg,
           min(first_offer_week) AS first_offer_week,
           (count(*) FILTER (WHERE NOT offer AND recent))::INT AS no_offer_weeks_since_first_offer,
           avg(store_sales) FILTER (WHERE NOT offer AND recent) AS recent_avg
    FROM marked GROUP BY ROLLUP (store_type, store))
SELECT CASE grouping WHEN 0 THEN 'store' WHEN 1 THEN 'type' ELSE 'chain' END AS level, store, store_type,
       offer_weeks, round(offer_avg, 2)::DOUBLE AS offer_avg_sales, no_offer_weeks,
       round(no_offer_avg, 2)::DOUBLE AS no_offer_avg_sales,
       CASE WHEN no_offer_avg > 0 THEN round((offer_avg::DOUBLE / no_offer_avg::DOUBLE - 1) * 100, 2) END
           AS offer_vs_no_offer_pct,
       first_offer_week, no_offer_weeks_since_first_offer,
       round(recent_avg, 2)::DOUBLE AS no_offer_avg_sales_since_first_offer,
       CASE WHEN recent_avg > 0 THEN round((offer_avg::DOUBLE / recent_avg::DOUBLE - 1) * 100, 2) END
           AS offer_vs_no_offer_since_first_offer_pct
FROM grouped
WHERE grouping <> 1 OR store_type IS NOT NULL
ORDER BY grouping, store NULLS FIRST, store_type NULLS FIRST;
