"""chain_shape: the chain-level measures of `data profile`, on a hand-built chain with literal answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retailstream.datasets.profile import chain_shape

WEEKS = pd.to_datetime(["2010-11-19", "2010-11-26", "2010-12-03", "2010-12-24"])  # the 2nd is Thanksgiving

# (store, dept): weekly sales in the four weeks. Store totals: 1 -> 150 200 150 300, 2 -> 100 220 100 100,
# 3 -> 50 50 50 40 (a return of -10 in week 4).
SERIES = {
    (1, 1): [100, 100, 100, 250],
    (1, 2): [50, 100, 50, 50],
    (2, 1): [60, 20, 60, 60],
    (2, 2): [40, 200, 40, 40],
    (3, 1): [50, 50, 50, 50],
}


def _sales() -> pd.DataFrame:
    rows = [
        (store, dept, week, amount)
        for (store, dept), amounts in SERIES.items()
        for week, amount in zip(WEEKS, amounts, strict=True)
    ]
    rows.append((3, 2, WEEKS[3], -10.0))
    rows.insert(0, (3, 1, WEEKS[0], 999.0))  # superseded by the later row of the same key
    sales = pd.DataFrame(rows, columns=["store", "dept", "week_date", "weekly_sales"])
    return sales.assign(is_holiday=sales["week_date"] == WEEKS[1])


def test_chain_shape_of_a_hand_built_chain():
    stores = pd.DataFrame({"store": [1, 2, 3], "store_type": ["A", "B", "C"]})
    markdowns = {f"markdown{n}": np.full(8, np.nan) for n in range(1, 6)}
    markdowns["markdown1"][1:4] = 10.0  # store 1 from week 2
    markdowns["markdown2"][6] = -5.0  # store 2, week 3: a reversed promotion
    markdowns["markdown3"][7] = 7.0
    features = pd.DataFrame({"store": [1] * 4 + [2] * 4, "week_date": list(WEEKS) * 2, **markdowns})

    chain = chain_shape(_sales(), stores, features)

    assert chain["holiday_uplift_pct_by_type"] == {"A": 0.0, "B": 120.0, "C": pytest.approx(7.14)}
    assert chain["top_stores"] == {
        "weeks": 4,
        "distinct": 2,
        "top": [
            {"store": 1, "weeks": 3, "share_pct": 75.0, "store_type": "A"},
            {"store": 2, "weeks": 1, "share_pct": 25.0, "store_type": "B"},
        ],
    }
    assert [(d["dept"], d["weeks"]) for d in chain["top_departments"]["top"]] == [(1, 3), (2, 1)]
    # The average store-week is 1510 / 12.
    assert chain["largest_weeks"][:2] == [
        {"week": "2010-11-26", "label": "thanksgiving", "index": 124.5},
        {"week": "2010-12-24", "label": "before_christmas", "index": 116.6},
    ]
    assert chain["month_index"] == {"Nov": 102.0, "Dec": 98.0}
    assert chain["negative_sales_pct"] == pytest.approx(100 / 21, abs=0.01)
    assert chain["markdowns"] == {
        "first_week": "2010-11-26",
        "store_weeks_pct": 83.33,
        "negative_amounts_pct": 20.0,
    }


def test_chain_shape_needs_sales_only():
    assert chain_shape(None) is None
    chain = chain_shape(_sales())
    assert chain["holiday_uplift_pct_by_type"] == {} and chain["markdowns"] is None
    assert chain["top_stores"]["top"][0]["store_type"] is None
