"""The report's charts and findings: one (finding, PNG) per use case, computed from its result frame.

Apart from ``report`` so that a report whose results did not change takes its charts from the cache
(``report.chart_cache``) without importing matplotlib.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # no display on the lab machines

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from retailstream.stages.usecases import questions  # noqa: E402

TOP = 5


def _usd(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"−${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def _signed_pct(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:+.2f} %".replace("-", "−")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _day(value) -> str:
    return "n/a" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _figure() -> tuple[Figure, plt.Axes]:
    figure, axes = plt.subplots(figsize=(9, 3.6), dpi=100)
    axes.grid(axis="y", alpha=0.3)
    return figure, axes


def _store_bars(axes: plt.Axes, stores: pd.Series, values: pd.Series, colors) -> None:
    positions = range(len(stores))
    axes.bar(positions, values, color=colors)
    axes.set_xticks(list(positions), [str(store) for store in stores], fontsize=6 if len(stores) > 20 else 9)


def _empty(axes: plt.Axes) -> None:
    axes.text(0.5, 0.5, "no rows", ha="center", va="center", transform=axes.transAxes)


# --- one section per use case: (result frame) -> (finding, chart) ----------------------------------


def _uc01(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    overall = frame[frame["period"] == questions.ALL_APRILS]
    per_year = frame[frame["period"] != questions.ALL_APRILS]
    visits = not frame.empty and frame["measure"].iloc[0] == questions.VISITS_MEASURE
    unit = "customer visits per store-week" if visits else "USD of weekly sales per store-week"
    years = ", ".join(
        f"{row.period[:4]}: {row.value:,.0f}" if visits else f"{row.period[:4]}: {_usd(row.value)}"
        for row in per_year.itertuples()
    )
    value = overall["value"].iloc[0] if len(overall) else None
    if visits:
        finding = (
            f"Type-B stores averaged {value:,.0f} customer visits per week in April "
            f"({overall['store_weeks'].iloc[0]} store-weeks of {overall['stores'].iloc[0]} stores)"
            f"{'; by year ' + years if years else ''}."
            if value is not None and not pd.isna(value)
            else "The store-traffic data has no type-B store-week in April."
        )
    else:
        finding = (
            "This dataset has no customer-visit data, so average customer visits cannot be answered and "
            "are not estimated. Shown instead, clearly as a different measure: type-B stores averaged "
            f"{_usd(value)} of weekly sales per store in April"
            f"{' (by year ' + years + ')' if years else ''}."
        )
    if per_year.empty:
        _empty(axes)
    else:
        axes.bar(per_year["period"], per_year["value"], color="#4c72b0")
        if value is not None and not pd.isna(value):
            axes.axhline(value, color="#dd8452", linestyle="--", label="all Aprils")
            axes.legend(loc="lower right")
    axes.set_ylabel(unit)
    axes.set_title("Type-B stores in April: " + ("customer visits" if visits else "weekly sales (no visits)"))
    return finding, figure


def _uc02(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    parts = [
        f"type {row.store_type}: {_usd(row.holiday_avg_weekly_sales)} in holiday weeks vs "
        f"{_usd(row.non_holiday_avg_weekly_sales)} otherwise ({_signed_pct(row.holiday_uplift_pct)})"
        for row in frame.itertuples()
    ]
    finding = "Average store weekly sales — " + "; ".join(parts) + "." if parts else "No store-weeks."
    if frame["holiday_uplift_pct"].notna().any():
        best = frame.loc[frame["holiday_uplift_pct"].idxmax()]
        finding += f" The holiday uplift is largest for type {best.store_type}."
    if frame.empty:
        _empty(axes)
    else:
        positions = range(len(frame))
        axes.bar([p - 0.2 for p in positions], frame["holiday_avg_weekly_sales"], 0.4, label="holiday weeks")
        axes.bar(
            [p + 0.2 for p in positions], frame["non_holiday_avg_weekly_sales"], 0.4, label="other weeks"
        )
        axes.set_xticks(list(positions), [f"type {t}" for t in frame["store_type"]])
        axes.legend()
    axes.set_ylabel("avg store weekly sales (USD)")
    axes.set_title("Holiday vs other weeks by store type")
    return finding, figure


def _uc03(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    if frame.empty:
        _empty(axes)
        return "The data has no sales in 2012.", figure
    worst = frame[frame["is_worst"]]
    best = frame.loc[frame["avg_weekly_sales"].idxmax()]
    first, last = frame["first_week"].min(), frame["last_week"].max()
    worst_text = " and ".join(
        f"store {row.store} (type {row.store_type}) with {_usd(row.avg_weekly_sales)} per week "
        f"({_usd(row.total_sales)} over {row.weeks} weeks)"
        for row in worst.itertuples()
    )
    finding = (
        f"2012 — the leap year — is only partly covered: weeks from {_day(first)} to {_day(last)} "
        f"({frame['weeks'].max()} weeks at most per store), so totals are not full-year totals. "
        f"The worst-performing store by average weekly sales is {worst_text}"
        f"{' (tied)' if len(worst) > 1 else ''}; the best is store {best.store} with "
        f"{_usd(best.avg_weekly_sales)} per week. The {len(frame)} stores sold "
        f"{_usd(frame['total_sales'].sum())} in these weeks."
    )
    ordered = frame.sort_values("avg_weekly_sales")
    colors = ["#c44e52" if flag else "#4c72b0" for flag in ordered["is_worst"]]
    _store_bars(axes, ordered["store"], ordered["avg_weekly_sales"], colors)
    axes.set_xlabel("store (sorted; worst in red)")
    axes.set_ylabel("avg store weekly sales 2012 (USD)")
    axes.set_title(f"2012 ({_day(first)} – {_day(last)}): average weekly sales per store")
    return finding, figure


def _uc04(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    store = frame[frame["model"] == "store"]
    depts = frame[(frame["model"] == "dept") & frame["predicted_avg_sales"].notna()]
    if store.empty or pd.isna(store["slope"].iloc[0]):
        finding = "Too few store-weeks with unemployment data to fit the regression."
    else:
        model = store.iloc[0]
        strength = "a weak" if model.r2 < 0.1 else ("a moderate" if model.r2 < 0.5 else "a strong")
        finding = (
            f"Store weekly sales = {model.intercept:,.0f} {'+' if model.slope >= 0 else '−'} "
            f"{abs(model.slope):,.0f} × unemployment (%), R² = {model.r2:.4f}, n = {model.n:,} store-weeks: "
            f"unemployment alone explains {model.r2 * 100:.1f} % of the variance, {strength} predictor. "
        )
        if model.high_unemployment_n:
            finding += (
                f"For the {_count(model.high_unemployment_n, 'store-week')} with unemployment above "
                f"{questions.UNEMPLOYMENT_THRESHOLD:g} % it predicts {_usd(model.predicted_avg_sales)} on "
                f"average against {_usd(model.observed_avg_sales)} observed "
                f"({_signed_pct(model.prediction_error_pct)}). "
            )
    if len(depts):
        errors = depts["prediction_error_pct"].abs()
        worst = depts.loc[errors.idxmax()] if errors.notna().any() else None
        finding += (
            f"Per-department models ({len(depts)} departments) miss the observed department average "
            f"by a median of {errors.median():.1f} %"
        )
        if worst is not None:
            miss = _signed_pct(worst.prediction_error_pct)
            finding += f"; the largest miss is department {worst.dept:.0f} ({miss})"
        finding += "."
        axes.scatter(depts["observed_avg_sales"], depts["predicted_avg_sales"], s=14, label="departments")
        low = min(depts["observed_avg_sales"].min(), depts["predicted_avg_sales"].min())
        high = max(depts["observed_avg_sales"].max(), depts["predicted_avg_sales"].max())
        axes.plot([low, high], [low, high], color="#999", linestyle="--", label="prediction = observation")
        axes.set_xscale("symlog")
        axes.set_yscale("symlog")
        axes.legend()
    else:
        _empty(axes)
    axes.set_xlabel(f"observed avg dept weekly sales, unemployment > {questions.UNEMPLOYMENT_THRESHOLD:g} %")
    axes.set_ylabel("predicted (per-dept OLS)")
    axes.set_title("Department sales when unemployment is high: predicted vs observed")
    return finding, figure


def _uc05(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    if frame.empty:
        _empty(axes)
        return "No department sales.", figure
    totals = frame.groupby("dept")["monthly_sales"].sum().sort_values(ascending=False)
    trends = frame.drop_duplicates("dept").set_index("dept")["trend_slope_per_month"].dropna()
    top = totals.index[:TOP]
    for dept in top:
        rows = frame[frame["dept"] == dept]
        axes.plot(rows["month_start"], rows["monthly_sales"], label=f"dept {dept}")
    axes.legend(fontsize=7, ncol=TOP)
    months = frame["month_start"].nunique()
    finding = (
        f"Over {months} months ({_day(frame['month_start'].min())[:7]} to "
        f"{_day(frame['month_start'].max())[:7]}), department {totals.index[0]} sold the most "
        f"({_usd(totals.iloc[0])}). "
    )
    if len(trends):
        extremes = []
        if trends.max() > 0:
            extremes.append(
                f"the steepest rise is department {trends.idxmax()} ({_usd(trends.max())} per month)"
            )
        if trends.min() < 0:
            extremes.append(
                f"the steepest fall is department {trends.idxmin()} ({_usd(trends.min())} per month)"
            )
        finding += (
            f"{(trends > 0).sum()} of {len(trends)} departments trend upwards and {(trends < 0).sum()} "
            f"downwards{'; ' + ', '.join(extremes) if extremes else ''}. "
        )
    finding += (
        "Monthly totals also swing with the number of Fridays in a month (4 or 5) — see avg_weekly_sales."
    )
    axes.set_ylabel("monthly sales (USD)")
    axes.set_title(f"Monthly sales of the top {len(top)} departments")
    return finding, figure


def _weeks_on_top(frame: pd.DataFrame, what: str, unit: str) -> tuple[str, pd.Series]:
    counts = frame.groupby("store").size().sort_values(ascending=False)
    weeks = frame["week_date"].nunique()
    tied_weeks = frame.loc[frame["tied"], "week_date"].nunique()
    leader = counts.index[0]
    ties = (
        f"{tied_weeks} week{'s' if tied_weeks != 1 else ''} had a tie, each tied store reported{unit}"
        if tied_weeks
        else "No week had a tie."
    )
    finding = (
        f"Store {leader} had the {what} in {counts.iloc[0]} of {weeks} weeks; {len(counts)} "
        f"store{'s' if len(counts) != 1 else ''} had it at least once. {ties}"
    )
    return finding, counts


def _uc06(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    if frame.empty:
        _empty(axes)
        return "No store-weeks.", figure
    best = frame.loc[frame["store_weekly_sales"].idxmax()]
    finding, counts = _weeks_on_top(frame, "highest sales", ".")
    finding += (
        f" The best store-week of all was store {best.store} on {_day(best.week_date)} with "
        f"{_usd(best.store_weekly_sales)}."
    )
    _store_bars(axes, counts.index.to_series(), counts.values, "#55a868")
    axes.set_xlabel("store")
    axes.set_ylabel("weeks with the highest sales")
    axes.set_title("How often each store was the week's top seller")
    return finding, figure


def _uc07(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    if frame.empty:
        _empty(axes)
        return "No department-weeks.", figure
    firsts = frame[frame["rank_in_week"] == 1].groupby("dept").size().sort_values(ascending=False)
    weeks = frame["week_date"].nunique()
    peak = frame.loc[frame["dept_weekly_sales"].idxmax()]
    finding = (
        f"Department {firsts.index[0]} ranked first in {firsts.iloc[0]} of {weeks} weeks. The biggest "
        f"department-week was department {peak.dept} on {_day(peak.week_date)} with "
        f"{_usd(peak.dept_weekly_sales)} ({peak.share_of_week_pct:.1f} % of that week's sales)."
    )
    swings = frame["wow_change"].abs()
    if swings.notna().any():
        swing = frame.loc[swings.idxmax()]
        finding += (
            f" The largest week-over-week change: department {swing.dept} on {_day(swing.week_date)} "
            f"({'+' if swing.wow_change >= 0 else '−'}{_usd(abs(swing.wow_change))})."
        )
    top = frame.groupby("dept")["dept_weekly_sales"].sum().sort_values(ascending=False).index[:TOP]
    for dept in top:
        rows = frame[frame["dept"] == dept]
        axes.plot(rows["week_date"], rows["dept_weekly_sales"], label=f"dept {dept}", linewidth=1)
    axes.legend(fontsize=7, ncol=TOP)
    axes.set_ylabel("department weekly sales (USD)")
    axes.set_title(f"Weekly sales of the top {len(top)} departments")
    return finding, figure


def _uc08(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    if frame.empty:
        _empty(axes)
        return "No fuel prices.", figure
    cheapest = frame.loc[frame["fuel_price"].idxmin()]
    finding, counts = _weeks_on_top(frame, "lowest fuel price", " (identical prices).")
    finding += (
        f" The lowest price of all was ${cheapest.fuel_price:.3f} (store {cheapest.store}, "
        f"{_day(cheapest.week_date)}); fuel prices cover {_day(frame['week_date'].min())} to "
        f"{_day(frame['week_date'].max())}."
    )
    _store_bars(axes, counts.index.to_series(), counts.values, "#8172b2")
    axes.set_xlabel("store")
    axes.set_ylabel("weeks with the lowest fuel price")
    axes.set_title("How often each store had the week's lowest fuel price")
    return finding, figure


def _uc09(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    if frame.empty:
        _empty(axes)
        return "No store-years.", figure
    partial = sorted(frame.loc[frame["partial_year"], "year"].unique())
    parts = []
    for year, rows in frame.groupby("year"):
        leader = rows.loc[rows["rank_by_sales"].idxmin()]
        text = f"{year}: store {leader.store} leads with {_usd(leader.yearly_sales)}"
        growth = rows.dropna(subset=["yoy_avg_weekly_growth_pct"])
        if len(growth):
            fastest = growth.loc[growth["rank_by_growth"].idxmin()]
            slowest = growth.loc[growth["yoy_avg_weekly_growth_pct"].idxmin()]
            text += (
                f", fastest growth store {fastest.store} ({_signed_pct(fastest.yoy_avg_weekly_growth_pct)}), "
                f"slowest store {slowest.store} ({_signed_pct(slowest.yoy_avg_weekly_growth_pct)}), median "
                f"{_signed_pct(growth['yoy_avg_weekly_growth_pct'].median())} in average weekly sales"
            )
        parts.append(text)
    finding = "; ".join(parts) + "."
    if partial:
        finding += (
            f" Partial years in the data: {', '.join(map(str, partial))} — growth of yearly totals against "
            "them mixes coverage with performance, so stores are ranked by the growth of average weekly "
            "sales."
        )
    growth = frame.dropna(subset=["yoy_avg_weekly_growth_pct"])
    years = sorted(growth["year"].unique())
    if years:
        width = 0.8 / len(years)
        stores = sorted(frame["store"].unique())
        position = {store: index for index, store in enumerate(stores)}
        for offset, year in enumerate(years):
            rows = growth[growth["year"] == year]
            axes.bar(
                [position[s] + offset * width for s in rows["store"]],
                rows["yoy_avg_weekly_growth_pct"],
                width,
                label=str(year),
            )
        axes.set_xticks([position[s] for s in stores], [str(s) for s in stores], fontsize=6)
        axes.axhline(0, color="#333", linewidth=0.8)
        axes.legend()
    else:
        _empty(axes)
    axes.set_xlabel("store")
    axes.set_ylabel("YoY growth of avg weekly sales (%)")
    axes.set_title("Year-over-year growth per store")
    return finding, figure


def _uc10(frame: pd.DataFrame) -> tuple[str, Figure]:
    figure, axes = _figure()
    chain = frame[frame["level"] == "chain"]
    types = frame[frame["level"] == "type"]
    if chain.empty:
        _empty(axes)
        return "No store-weeks with features.", figure
    total = chain.iloc[0]
    finding = (
        f"Chain-wide, offer weeks (any MarkDown > 0) averaged {_usd(total.offer_avg_sales)} of store weekly "
        f"sales against {_usd(total.no_offer_avg_sales)} without offers "
        f"({_signed_pct(total.offer_vs_no_offer_pct)}"
        f"; {total.offer_weeks:,} vs {total.no_offer_weeks:,} store-weeks). Caveat: offers only exist from "
        f"{_day(total.first_offer_week)}, so the comparison is confounded by time — the no-offer weeks are "
        "mostly earlier ones, with other seasons and less growth. "
    )
    if total.no_offer_weeks_since_first_offer:
        finding += (
            f"Against the {total.no_offer_weeks_since_first_offer:,} no-offer store-weeks since then only, "
            f"the difference is {_signed_pct(total.offer_vs_no_offer_since_first_offer_pct)}"
        )
    else:
        finding += (
            "Since then every store-week has an offer, so this data cannot separate the offers' effect from "
            "the time effect"
        )
    finding += (
        "; by type: "
        + ", ".join(
            f"{row.store_type} {_signed_pct(row.offer_vs_no_offer_pct)}"
            + (
                f" ({_signed_pct(row.offer_vs_no_offer_since_first_offer_pct)} since the first offer)"
                if row.no_offer_weeks_since_first_offer
                else ""
            )
            for row in types.itertuples()
        )
        + "."
        if len(types)
        else "."
    )
    groups = pd.concat([types.assign(label="type " + types["store_type"]), chain.assign(label="chain")])
    positions = range(len(groups))
    series = [
        ("offer_avg_sales", "offer weeks"),
        ("no_offer_avg_sales", "no-offer weeks (all)"),
        ("no_offer_avg_sales_since_first_offer", "no-offer weeks since first offer"),
    ]
    for index, (column, label) in enumerate(series):
        axes.bar([p + (index - 1) * 0.27 for p in positions], groups[column], 0.27, label=label)
    axes.set_xticks(list(positions), list(groups["label"]))
    axes.set_ylabel("avg store weekly sales (USD)")
    axes.legend(fontsize=7)
    axes.set_title(
        f"With vs without offers (confounded by time: offers start {_day(total.first_offer_week)})"
    )
    return finding, figure


SECTIONS: dict[int, Callable[[pd.DataFrame], tuple[str, Figure]]] = {
    1: _uc01, 2: _uc02, 3: _uc03, 4: _uc04, 5: _uc05, 6: _uc06, 7: _uc07, 8: _uc08, 9: _uc09, 10: _uc10,
}  # fmt: skip


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def section(number: int, frame: pd.DataFrame) -> tuple[str, str]:
    """Use case ``number``'s finding and its chart as a base64 PNG."""
    finding, figure = SECTIONS[number](frame)
    return finding, _png(figure)
