"""The properties of a dataset tree that a reviewer checks first, computed file by file.

Works on an ``incoming/`` tree, on a folder of real Kaggle files, or on one file: every CSV found is
read with the lenient loader, so a defect shows up as a rejected row instead of stopping the profile.
``chain_shape`` adds what makes the numbers look like a retail chain (holiday uplift per store type, who
leads the weeks, seasonality, returns, markdown coverage), so synthetic and real data can be compared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from retailstream.datasets.contract import KINDS, contract
from retailstream.datasets.loader import DataFileError, kind_from_file_name, load_lenient
from retailstream.datasets.prepare import find_real_files
from retailstream.datasets.weeks import holiday_names

MARKDOWNS = [f"markdown{number}" for number in range(1, 6)]
_SHAPE_COLUMNS = {
    "stores": ["store", "store_type"],
    "sales": ["store", "dept", "week_date", "weekly_sales", "is_holiday"],
    "features": ["store", "week_date", *MARKDOWNS],
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class _Totals:
    files: Counter = field(default_factory=Counter)
    rows: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    missing: dict[str, Counter] = field(default_factory=lambda: {kind: Counter() for kind in KINDS})
    rejection_examples: list[str] = field(default_factory=list)
    store_types: Counter = field(default_factory=Counter)
    stores: set = field(default_factory=set)
    sales_stores: set = field(default_factory=set)
    departments: set = field(default_factory=set)
    sales_weeks: set = field(default_factory=set)
    sales_holiday_weeks: set = field(default_factory=set)
    feature_weeks: set = field(default_factory=set)
    negative_sales: int = 0
    total_sales: float = 0.0
    markdown_weeks: set = field(default_factory=set)
    weeks_without_cpi: set = field(default_factory=set)
    traffic_weeks: set = field(default_factory=set)
    customers: int = 0
    # The columns chain_shape reads, file by file: plain arrays, as thousands of small DataFrames would
    # cost more than their data (about 50 MB of sales at scale 5).
    columns: dict[str, dict[str, list[np.ndarray]]] = field(
        default_factory=lambda: {kind: {name: [] for name in names} for kind, names in _SHAPE_COLUMNS.items()}
    )

    def add(self, kind: str, frame: pd.DataFrame) -> None:
        self.rows[kind] += len(frame)
        for name, arrays in self.columns.get(kind, {}).items():
            arrays.append(frame[name].to_numpy())
        for name in contract(kind).names:
            self.missing[kind][name] += int(frame[name].isna().sum())
        weeks = frame.get("week_date")
        if kind == "stores":
            self.stores.update(frame["store"].tolist())
            self.store_types.update(frame["store_type"].tolist())
        elif kind == "sales":
            self.sales_stores.update(frame["store"].unique().tolist())
            self.departments.update(frame["dept"].unique().tolist())
            self.sales_weeks.update(weeks.unique())
            self.sales_holiday_weeks.update(weeks[frame["is_holiday"]].unique())
            self.negative_sales += int((frame["weekly_sales"] < 0).sum())
            self.total_sales += float(frame["weekly_sales"].sum())
        elif kind == "features":
            self.feature_weeks.update(weeks.unique())
            self.markdown_weeks.update(weeks[frame[MARKDOWNS].notna().any(axis=1)].unique())
            self.weeks_without_cpi.update(weeks[frame["cpi"].isna()].unique())
        else:
            self.traffic_weeks.update(weeks.unique())
            self.customers += int(frame["customers"].sum())

    def frame(self, kind: str) -> pd.DataFrame | None:
        """The collected columns of ``kind`` as one frame (None if no file had any), releasing the parts."""
        columns = self.columns.pop(kind)
        if not next(iter(columns.values())):
            return None
        # Column by column, so each column's parts are freed before the next is joined.
        return pd.DataFrame({name: np.concatenate(columns.pop(name)) for name in list(columns)}, copy=False)


def _day(value) -> str | None:
    return None if value is None else str(np.datetime64(value, "D"))


def _csv_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    # A datasets folder holding the real Kaggle files is those files, not also the tree split from them.
    real = find_real_files(path)
    files = list(real.values()) or [
        p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith((".csv", ".csv.gz"))
    ]
    # Stores first, so every later file's store ids are checked against them.
    return sorted(files, key=lambda p: (kind_from_file_name(p.name) != "stores", str(p)))


def profile_path(path: Path) -> dict:
    """The profile of every dataset CSV under ``path`` (or of the one file ``path``)."""
    totals = _Totals()
    for file in _csv_files(path):
        valid, rejected = load_lenient(file, known_stores=sorted(totals.stores) or None)
        kind = valid.attrs["kind"]
        totals.files[kind] += 1
        totals.add(kind, valid)
        totals.rejected[kind] += len(rejected)
        if len(rejected) and len(totals.rejection_examples) < 10:
            for row in rejected.head(3).itertuples():
                column = row.column if isinstance(row.column, str) else None
                totals.rejection_examples.append(str(DataFileError(row.source, row.reason, row.line, column)))

    sales_weeks = sorted(totals.sales_weeks)
    traffic_rows = totals.rows["store_traffic"]
    types = dict(sorted(totals.store_types.items()))
    return {
        "path": str(path),
        "files": dict(sorted(totals.files.items())),
        "rows": dict(sorted(totals.rows.items())),
        "rejected_rows": dict(sorted(totals.rejected.items())),
        "rejection_examples": totals.rejection_examples,
        "stores": len(totals.stores or totals.sales_stores),
        "store_types": types,
        "departments": len(totals.departments),
        "sales_weeks": len(sales_weeks),
        "first_sales_week": _day(sales_weeks[0]) if sales_weeks else None,
        "last_sales_week": _day(sales_weeks[-1]) if sales_weeks else None,
        "feature_weeks": len(totals.feature_weeks),
        "holiday_weeks_in_sales": [_day(week) for week in sorted(totals.sales_holiday_weeks)],
        "first_markdown_week": _day(min(totals.markdown_weeks, default=None)),
        "first_week_without_cpi": _day(min(totals.weeks_without_cpi, default=None)),
        "negative_sales": totals.negative_sales,
        "total_sales": round(totals.total_sales, 2),
        "traffic_weeks": len(totals.traffic_weeks),
        "average_weekly_customers": round(totals.customers / traffic_rows, 1) if traffic_rows else None,
        "missing_values": {
            kind: dict(counts) for kind, counts in totals.missing.items() if totals.rows[kind]
        },
        "chain": chain_shape(*(totals.frame(kind) for kind in ("sales", "stores", "features"))),
    }


def _pct(value: float) -> float:
    return round(100 * float(value), 2)


def _leaders(weekly: pd.DataFrame, who: str, value: str, top: int) -> dict:
    """Who has the largest ``value`` each week: the ``top`` most frequent leaders and their share of weeks."""
    leaders = weekly.loc[weekly.groupby("week_date")[value].idxmax(), who].value_counts()
    weeks = int(leaders.sum())
    return {
        "weeks": weeks,
        "distinct": len(leaders),
        "top": [
            {who: int(key), "weeks": int(count), "share_pct": _pct(count / weeks)}
            for key, count in leaders.head(top).items()
        ],
    }


def _week_label(week: pd.Timestamp) -> str:
    """The holiday of the week, or ``before_christmas`` for the two weeks before the Christmas week."""
    name = holiday_names(np.array([week.to_datetime64()], dtype="datetime64[D]"))[0]
    if not name and week.month == 12 and 11 <= week.day <= 24:
        return "before_christmas"
    return name


def _holiday_uplift(store_weeks: pd.DataFrame, types: dict[int, str]) -> dict[str, float]:
    """Per store type, average store weekly sales in holiday weeks vs the other weeks, in percent."""
    typed = store_weeks.assign(store_type=store_weeks["store"].map(types)).dropna(subset=["store_type"])
    means = typed.groupby(["store_type", "is_holiday"])["store_sales"].mean().unstack()
    uplift = {}
    for store_type, row in means.iterrows():
        holiday, other = row.get(True), row.get(False)
        if pd.notna(holiday) and pd.notna(other) and other > 0:
            uplift[str(store_type)] = _pct(holiday / other - 1)
    return uplift


def chain_shape(
    sales: pd.DataFrame | None, stores: pd.DataFrame | None = None, features: pd.DataFrame | None = None
) -> dict | None:
    """What makes the data look like a retail chain, from canonical frames (None without sales).

    Holiday uplift per store type (as use case 2: average store weekly sales in holiday vs other weeks),
    the stores and departments that lead the weeks and how often, the largest weeks and the month profile
    (indexes, 100 = the average store-week), the share of negative sales rows, and markdown coverage.
    A key repeated by a resubmitted file counts once, with its newest (last read) amount.
    """
    if sales is None or sales.empty:
        return None
    superseded = sales.duplicated(["store", "dept", "week_date"], keep="last")
    if superseded.any():  # filtering copies the frame: only when a resubmission repeats keys
        sales = sales[~superseded]
    store_weeks = (
        sales.groupby(["store", "week_date"])
        .agg(store_sales=("weekly_sales", "sum"), is_holiday=("is_holiday", "any"))
        .reset_index()
    )
    dept_weeks = sales.groupby(["dept", "week_date"])["weekly_sales"].sum().reset_index()
    types = {} if stores is None else dict(zip(stores["store"], stores["store_type"], strict=True))
    top_stores = _leaders(store_weeks, "store", "store_sales", 3)
    for entry in top_stores["top"]:
        entry["store_type"] = types.get(entry["store"])

    average = store_weeks["store_sales"].mean()
    by_week = store_weeks.groupby("week_date")["store_sales"].mean()
    by_month = store_weeks.groupby(store_weeks["week_date"].dt.month)["store_sales"].mean()
    return {
        "holiday_uplift_pct_by_type": _holiday_uplift(store_weeks, types),
        "top_stores": top_stores,
        "top_departments": _leaders(dept_weeks, "dept", "weekly_sales", 5),
        "largest_weeks": [
            {"week": _day(week), "label": _week_label(week), "index": round(100 * float(mean) / average, 1)}
            for week, mean in by_week.nlargest(5).items()
        ],
        "month_index": {
            MONTHS[month - 1]: round(100 * float(mean) / average, 1) for month, mean in by_month.items()
        },
        "negative_sales_pct": _pct((sales["weekly_sales"] < 0).mean()),
        "markdowns": _markdown_coverage(features),
    }


def _markdown_coverage(features: pd.DataFrame | None) -> dict | None:
    """From the first week with any markdown: the share of store-weeks with one, and of negative amounts."""
    if features is None or features.empty:
        return None
    reported = features[MARKDOWNS].notna().any(axis=1)
    if not reported.any():
        return {"first_week": None, "store_weeks_pct": 0.0, "negative_amounts_pct": 0.0}
    first = features.loc[reported, "week_date"].min()
    since = features["week_date"] >= first
    amounts = features.loc[since, MARKDOWNS].to_numpy().ravel()
    amounts = amounts[~np.isnan(amounts)]
    return {
        "first_week": _day(first),
        "store_weeks_pct": _pct(reported[since].mean()),
        "negative_amounts_pct": _pct((amounts < 0).mean()),
    }
