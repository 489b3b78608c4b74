"""The week calendar of the retail data: weekly Fridays and the four holiday weeks of each year."""

from __future__ import annotations

from datetime import date

import numpy as np

FIRST_WEEK = date(2010, 2, 5)
LAST_SALES_WEEK = date(2012, 10, 26)
LAST_FEATURES_WEEK = date(2013, 7, 26)
# Markdown data only exists from this week on; CPI and unemployment are not published from the other.
FIRST_MARKDOWN_WEEK = date(2011, 11, 11)
FIRST_WEEK_WITHOUT_MACRO = date(2013, 5, 3)

# The weeks flagged IsHoliday in the source data (each is the Friday of the week holding the holiday).
HOLIDAY_WEEKS: dict[date, str] = {
    date(2010, 2, 12): "super_bowl",
    date(2011, 2, 11): "super_bowl",
    date(2012, 2, 10): "super_bowl",
    date(2013, 2, 8): "super_bowl",
    date(2010, 9, 10): "labor_day",
    date(2011, 9, 9): "labor_day",
    date(2012, 9, 7): "labor_day",
    date(2013, 9, 6): "labor_day",
    date(2010, 11, 26): "thanksgiving",
    date(2011, 11, 25): "thanksgiving",
    date(2012, 11, 23): "thanksgiving",
    date(2013, 11, 29): "thanksgiving",
    date(2010, 12, 31): "christmas",
    date(2011, 12, 30): "christmas",
    date(2012, 12, 28): "christmas",
    date(2013, 12, 27): "christmas",
}


def fridays(first: date, last: date) -> np.ndarray:
    """Every 7th day from ``first`` to ``last`` inclusive, as ``datetime64[D]``."""
    return np.arange(np.datetime64(first), np.datetime64(last) + 1, 7, dtype="datetime64[D]")


SALES_WEEKS = fridays(FIRST_WEEK, LAST_SALES_WEEK)
FEATURE_WEEKS = fridays(FIRST_WEEK, LAST_FEATURES_WEEK)


def holiday_names(weeks: np.ndarray) -> np.ndarray:
    """The holiday of each week ('' for ordinary weeks)."""
    names = {np.datetime64(day, "D"): name for day, name in HOLIDAY_WEEKS.items()}
    return np.array([names.get(week, "") for week in weeks], dtype=object)
