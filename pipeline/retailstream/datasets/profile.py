"""The properties of a dataset tree that a reviewer checks first, computed file by file.

Works on an ``incoming/`` tree, on a folder of real Kaggle files, or on one file: every CSV found is
read with the lenient loader, so a defect shows up as a rejected row instead of stopping the profile.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from retailstream.datasets.contract import KINDS, contract
from retailstream.datasets.loader import DataFileError, kind_from_file_name, load_lenient

MARKDOWNS = [f"markdown{number}" for number in range(1, 6)]


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

    def add(self, kind: str, frame: pd.DataFrame) -> None:
        self.rows[kind] += len(frame)
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


def _day(value) -> str | None:
    return None if value is None else str(np.datetime64(value, "D"))


def _csv_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = [p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith((".csv", ".csv.gz"))]
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
    }
