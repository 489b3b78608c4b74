"""Synthetic "Walmart store sales" data with the shape and the properties of the Kaggle set.

Generation streams store by store: each store's numbers come from random generators keyed by
(seed, stream, store), so a store's rows do not depend on how many stores are generated or in which
order, and memory stays bounded by one store. What is modelled, and why, is in datasets/README.md.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retailstream.datasets import layout
from retailstream.datasets.weeks import (
    FEATURE_WEEKS,
    FIRST_MARKDOWN_WEEK,
    FIRST_WEEK_WITHOUT_MACRO,
    SALES_WEEKS,
    holiday_names,
)

# Raised whenever the same request writes other files, so `data prepare` regenerates an older tree.
GENERATOR_VERSION = "3"
STORES_PER_BLOCK = 45
# Store formats per block of 45 stores, as in the real chain.
TYPE_MIX = {"A": 22, "B": 17, "C": 6}
SIZE_RANGES = {"A": (150_000, 220_000), "B": (35_000, 140_000), "C": (35_000, 45_000)}
# Bigger formats carry more departments; the real stores have 61..79.
DEPARTMENTS_PER_TYPE = {"A": 77, "B": 74, "C": 62}
# 81 department numbers in use out of 1..99.
UNUSED_DEPARTMENTS = frozenset({15, 53, 57, 61, 62, 63, 64, 66, 68, 69, 70, 73, 75, 76, 84, 86, 88, 89})
DEPARTMENTS = np.array([d for d in range(1, 100) if d not in UNUSED_DEPARTMENTS])
# Store ids of the "unknown store" defect: beyond the stores of any usual scale (45 x scale), yet within RDS
# SMALLINT UNSIGNED (65,535), with room for the integration tests' store-id offsets (under 60,000).
UNKNOWN_STORE_BASE = 5_000
# Stores of a region share its climate, fuel price and economy (the real features are regional too).
REGIONS = 10

# The real chain's weekly lead rotates among three big type-A stores: each block of 45 stores has three
# flagships of near-equal volume whose trends diverge, so the top store changes over the years. Per
# flagship: volume (as in _store_volume) and yearly log trend. The first leads in 2010, the second in 2011,
# the third from autumn 2011; around each crossover weekly noise makes them alternate, so none leads more
# than about half the weeks.
FLAGSHIP_PATHS = ((1.91, -0.08), (1.76, 0.0), (1.55, 0.08))
FLAGSHIP_SIZES = (195_000, 220_000)  # the real leaders are among the biggest stores

# Departments numbered as the real chain's biggest, plus a December one (7): volume relative to the
# biggest, summer amplitude and holiday sensitivity. Grocery-like 92 leads most weeks, beverage-like 95
# overtakes it in summer, electronics-like 72 and toy-like 7 surge in the Thanksgiving and Christmas weeks.
ANCHOR_DEPARTMENTS = {
    92: (1.00, 0.00, 0.4),
    95: (0.93, 0.16, 0.4),
    38: (0.81, -0.03, 0.1),
    72: (0.63, 0.00, 4.0),
    90: (0.60, 0.02, 0.4),
    40: (0.60, 0.00, 0.4),
    2: (0.58, 0.00, 0.6),
    91: (0.45, 0.00, 0.6),
    13: (0.41, 0.03, 0.6),
    8: (0.40, 0.00, 0.6),
    7: (0.30, 0.00, 5.0),
}
# Weekly sales in USD of the biggest department in a store of volume 1, so that stores average about
# USD 1.05M a week as in the real chain (about USD 75k of it in its biggest department).
TOP_DEPARTMENT_SALES = 74_000.0

# How far each format follows the chain's holiday calendar and time of year: in the real data holiday weeks
# lift average store sales by about +11 % in type B, +7 % in type A and hardly at all in type C (small,
# grocery-led stores with a flat year).
FORMAT_RESPONSE = {"A": 1.0, "B": 1.45, "C": 0.1}
# Sales per square foot by format, on top of the size effect: the real type-C stores sell the most per
# square foot, type B about as much as A.
FORMAT_LEVEL = {"A": 1.0, "B": 0.95, "C": 1.25}

# Independent random streams: adding draws to one never shifts the numbers of another.
_CATALOG, _ECONOMY, _LAYOUT, _STORE, _SALES, _FEATURES, _TRAFFIC, _DEFECTS = range(8)


def _rng(seed: int, stream: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, *key)))


@dataclass(frozen=True)
class GenerationRequest:
    scale: int = 1
    seed: int = 42
    defects: int = 0
    stores: int | None = None  # only the first N stores (quick tests); None = all 45 x scale

    @property
    def store_count(self) -> int:
        full = STORES_PER_BLOCK * self.scale
        return full if self.stores is None else min(self.stores, full)

    def describe(self) -> dict:
        return {"scale": self.scale, "seed": self.seed, "defects": self.defects, "stores": self.stores}


@dataclass(frozen=True)
class Store:
    store: int
    store_type: str
    size: int
    region: int
    flagship: int | None = None  # index into FLAGSHIP_PATHS


def store_table(seed: int, count: int) -> list[Store]:
    """Stores 1..count; each block of 45 holds the real 22/17/6 mix of A/B/C and three type-A flagships in
    a seeded order."""
    stores = []
    for block in range((count + STORES_PER_BLOCK - 1) // STORES_PER_BLOCK):
        layout_rng = _rng(seed, _LAYOUT, block)
        types = np.repeat(list(TYPE_MIX), list(TYPE_MIX.values()))
        layout_rng.shuffle(types)
        flagships = layout_rng.choice(np.flatnonzero(types == "A"), len(FLAGSHIP_PATHS), replace=False)
        flagship_of = {int(offset): rank for rank, offset in enumerate(flagships)}
        for offset, store_type in enumerate(types):
            number = block * STORES_PER_BLOCK + offset + 1
            if number > count:
                break
            flagship = flagship_of.get(offset)
            low, high = SIZE_RANGES[str(store_type)] if flagship is None else FLAGSHIP_SIZES
            rng = _rng(seed, _STORE, number)
            size = int(rng.integers(low, high + 1))
            stores.append(Store(number, str(store_type), size, int(rng.integers(REGIONS)), flagship))
    return stores


# --- the chain-wide model: the calendar, departments and regions ------------------------------------------


def _day_of_year(weeks: np.ndarray) -> np.ndarray:
    return (weeks - weeks.astype("datetime64[Y]")).astype(int) + 1


def _month_day(weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    months = weeks.astype("datetime64[M]")
    return months.astype(int) % 12 + 1, (weeks - months).astype(int) + 1


def _bump(day_of_year: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((day_of_year - centre) / width) ** 2)


def _holiday_events(weeks: np.ndarray) -> np.ndarray:
    """Extra demand of each week from the holiday calendar, for a department of sensitivity 1 in a type-A
    store. As in the real chain: the last week before Christmas is the year's largest, Thanksgiving (Black
    Friday) next, the two weeks before Christmas build up; the flagged Christmas week, which follows
    25 December, falls back; Super Bowl and Labor Day hardly move sales."""
    names = holiday_names(weeks)
    month, day = _month_day(weeks)
    december = month == 12
    events = np.zeros(len(weeks))
    events[names == "super_bowl"] = 0.05
    events[names == "labor_day"] = 0.04
    events[names == "thanksgiving"] = 0.40
    events[december & (day >= 4) & (day <= 10)] = 0.08
    events[december & (day >= 11) & (day <= 17)] = 0.25
    events[december & (day >= 18) & (day <= 24)] = 0.65
    events[names == "christmas"] = -0.08
    return events


def _month_pattern(weeks: np.ndarray) -> np.ndarray:
    """Log effect of the time of year on the whole chain: the real chain's weakest month is January, after
    the holidays (about -10 %), and September-October run a little below the average."""
    day = _day_of_year(weeks)
    return -0.10 * _bump(day, 15, 10) - 0.05 * _bump(day, 275, 25)


@dataclass
class Calendar:
    weeks: np.ndarray
    is_holiday: np.ndarray
    years_elapsed: np.ndarray
    events: np.ndarray  # see _holiday_events
    month_pattern: np.ndarray  # see _month_pattern
    seasons: np.ndarray  # (component, week): summer, back to school, spring; see Catalog.season_amplitude

    @classmethod
    def of(cls, weeks: np.ndarray) -> Calendar:
        day = _day_of_year(weeks)
        seasons = np.stack(
            [np.cos(2 * np.pi * (day - 196) / 365.25), _bump(day, 225, 10), _bump(day, 100, 14)]
        )
        elapsed = (weeks - weeks[0]).astype(int) / 365.25
        return cls(
            weeks,
            holiday_names(weeks) != "",
            elapsed,
            _holiday_events(weeks),
            _month_pattern(weeks),
            seasons,
        )


@dataclass
class Catalog:
    """What a department is like anywhere in the chain (seeded, the same for every store)."""

    scale: np.ndarray  # weekly sales in a store of volume 1
    prevalence: np.ndarray
    complete_share: np.ndarray
    affinity_spread: np.ndarray
    volatility: np.ndarray
    holiday_sensitivity: np.ndarray
    season_amplitude: np.ndarray  # (department, component): log amplitude of each Calendar season
    negative_rate: np.ndarray

    @classmethod
    def of(cls, seed: int) -> Catalog:
        rng = _rng(seed, _CATALOG)
        count = len(DEPARTMENTS)
        anchors = np.isin(DEPARTMENTS, list(ANCHOR_DEPARTMENTS))
        others = int((~anchors).sum())
        volume, summer, sensitivity = (
            np.array([ANCHOR_DEPARTMENTS[dept][part] for dept in DEPARTMENTS[anchors]]) for part in range(3)
        )

        # The rest of the catalogue is heavy-tailed and stays below the anchors.
        scale = np.empty(count)
        scale[anchors] = volume
        scale[~anchors] = np.clip(rng.lognormal(np.log(0.08), 1.0, others), 0.002, 0.35)
        scale *= TOP_DEPARTMENT_SALES

        # Rank 0 is the biggest department: big departments are everywhere, sell every week, vary less
        # between stores and week to week, and see fewer returns.
        rank = np.argsort(np.argsort(-scale)) / (count - 1)
        prevalence = np.clip(1.05 - 0.9 * rank**3 + rng.normal(0, 0.03, count), 0.05, 1.0)
        complete_share = np.where(anchors, 1.0, np.clip(0.93 - 0.6 * rank**2, 0.3, 0.93))
        affinity_spread = 0.08 + 0.4 * rank
        volatility = 0.04 + 0.18 * rank + rng.uniform(0, 0.04, count)
        negative_rate = np.clip(0.0005 * np.exp(3.2 * rank), 0.0001, 0.03)

        # Besides the anchors: some departments peak in summer (garden, outdoor), a few in winter, most
        # barely move; some follow back-to-school or spring. Gift departments (about one in seven) react
        # several times more than the others to the holiday calendar.
        season = np.zeros((count, 3))
        season[anchors, 0] = summer
        kind = rng.random(others)
        season[~anchors, 0] = np.select(
            [kind < 0.2, kind < 0.3],
            [rng.uniform(0.05, 0.3, others), -rng.uniform(0.05, 0.2, others)],
            rng.normal(0, 0.03, others),
        )
        season[~anchors, 1] = rng.uniform(0.1, 0.5, others) * (rng.random(others) < 0.15)
        season[~anchors, 2] = rng.uniform(0.1, 0.5, others) * (rng.random(others) < 0.2)
        holiday_sensitivity = np.empty(count)
        holiday_sensitivity[anchors] = sensitivity
        gift = np.where(rng.random(others) < 0.15, rng.uniform(2.5, 4.5, others), 1.0)
        # At most 6: the week after Christmas (events -0.08, type B x1.45) must leave sales positive.
        holiday_sensitivity[~anchors] = np.minimum(6.0, rng.lognormal(-0.2, 0.5, others) * gift)
        return cls(
            scale,
            prevalence,
            complete_share,
            affinity_spread,
            volatility,
            holiday_sensitivity,
            season,
            negative_rate,
        )


@dataclass
class Region:
    """A region's economy and climate, per features week."""

    mean_temperature: float
    temperature_swing: float
    fuel_price: np.ndarray
    cpi: np.ndarray
    unemployment: np.ndarray


def _national_fuel_price(seed: int, weeks: np.ndarray) -> np.ndarray:
    """A national fuel price like the real one: rising into 2011, high and wavy after; seeded wiggles."""
    anchors = np.array(["2010-02-01", "2010-07-01", "2010-12-01", "2011-05-01", "2011-10-01",
                        "2012-04-01", "2012-08-01", "2012-12-01", "2013-03-01", "2013-08-01"],
                       dtype="datetime64[D]")  # fmt: skip
    prices = np.array([2.62, 2.70, 2.95, 3.85, 3.55, 3.95, 3.70, 3.55, 3.80, 3.60])
    prices = prices + _rng(seed, _ECONOMY).normal(0, 0.06, len(prices))
    return np.interp(weeks.astype(int), anchors.astype(int), prices)


def regions(seed: int, calendar: Calendar) -> list[Region]:
    national_fuel = _national_fuel_price(seed, calendar.weeks)
    return [_region(_rng(seed, _ECONOMY, number), calendar, national_fuel) for number in range(REGIONS)]


def _region(rng: np.random.Generator, calendar: Calendar, national_fuel: np.ndarray) -> Region:
    weeks = calendar.weeks
    count = len(weeks)
    # Warmer regions swing less over the year.
    mean_temperature = rng.uniform(42, 76)
    swing = float(np.clip(38 - 0.33 * mean_temperature + rng.normal(0, 2.5), 8, 30))

    # One price for every store of the region: the national path, the region's offset and a slow regional
    # swing (months long), so which region is cheapest changes over time.
    swing_fuel = _ar1(rng, np.array([0.07]), count, persistence=0.95)[0]
    fuel = national_fuel + rng.uniform(-0.1, 0.35) + swing_fuel

    # Two CPI families as in the real data: a few regions on an index near 130 published monthly, most
    # near 210 published weekly; both drift slowly up.
    if rng.random() < 0.3:
        months = weeks.astype("datetime64[M]")
        monthly_years = (months - months[0]).astype(int) / 12
        cpi = rng.uniform(126, 132) * (1 + rng.uniform(0.012, 0.02)) ** monthly_years
    else:
        cpi = rng.uniform(204, 216) * (1 + rng.uniform(0.018, 0.028)) ** calendar.years_elapsed

    # Unemployment changes each quarter, slowly (mostly falling, as after 2010); regions spread from about
    # 4 % to 14 %.
    quarters = (weeks.astype("datetime64[M]").astype(int) // 3).astype(float)
    quarter_years = (quarters - quarters[0]) / 4
    unemployment = np.clip(rng.normal(8.0, 1.8), 3.8, 14.5) + rng.normal(-0.35, 0.25) * quarter_years
    return Region(mean_temperature, swing, np.round(fuel, 3), cpi, np.clip(unemployment, 2.5, 20.0))


# --- one store -------------------------------------------------------------------------------------------


@dataclass
class StoreSales:
    departments: np.ndarray  # department numbers, ascending
    present: np.ndarray  # (department, week) bool: the row exists
    weekly_sales: np.ndarray  # (department, week), rounded to cents


def _store_volume(rng: np.random.Generator, store: Store) -> tuple[float, float]:
    """The store's sales relative to a 150k sq ft type-A store, and its yearly log trend.

    Sales grow less than proportionally with floor space, times the format's FORMAT_LEVEL; the location
    gives each store its own level and trend, so a mid-sized store can outsell bigger ones and stores'
    ranks drift over the years. Flagships follow FLAGSHIP_PATHS; the bounds on location and trend keep
    the other stores below them but for the odd week.
    """
    if store.flagship is not None:
        volume, trend = FLAGSHIP_PATHS[store.flagship]
        return volume * rng.lognormal(0, 0.01), trend + rng.normal(0, 0.005)
    location = np.clip(rng.lognormal(0, 0.15), 0.7, 1.12)
    volume = (store.size / 150_000) ** 0.85 * FORMAT_LEVEL[store.store_type] * location
    return volume, float(np.clip(rng.normal(0.0, 0.025), -0.05, 0.05))


def _department_mix(
    rng: np.random.Generator, catalog: Catalog, chosen: np.ndarray, present: np.ndarray
) -> np.ndarray:
    """Weekly sales of each chosen department in a store of volume 1: the catalogue's sizes, shifted by the
    store's own customers (small departments vary most between stores), rescaled so that in an average
    week the store sells the whole catalogue's sales, whichever departments it carries and however often
    they sell. A store's level is then its volume's, which keeps the flagships' race as designed."""
    mix = catalog.scale[chosen] * np.exp(rng.normal(0, catalog.affinity_spread[chosen]))
    return mix * catalog.scale.sum() / (mix * present.mean(axis=1)).sum()


def store_sales(seed: int, store: Store, catalog: Catalog, calendar: Calendar) -> StoreSales:
    rng = _rng(seed, _SALES, store.store)
    weeks = len(calendar.weeks)
    count = len(DEPARTMENTS)

    # Which departments: the type's count, most prevalent first (Gumbel top-k = weighted sampling without
    # replacement); every department is guaranteed one store per block so a 45-store chain has all 81.
    wanted = DEPARTMENTS_PER_TYPE[store.store_type] + int(rng.integers(-2, 3))
    priority = np.log(catalog.prevalence) + rng.gumbel(size=count)
    slot = (store.store - 1) % STORES_PER_BLOCK
    priority[(np.arange(count) * 11) % STORES_PER_BLOCK == slot] = np.inf
    chosen = np.sort(np.argsort(-priority)[:wanted])

    present = _presence(rng, catalog.complete_share[chosen], weeks)

    volume, trend = _store_volume(rng, store)
    response = FORMAT_RESPONSE[store.store_type]
    mix = _department_mix(rng, catalog, chosen, present)
    holiday = np.log1p(np.outer(catalog.holiday_sensitivity[chosen], response * calendar.events))
    store_shock = rng.normal(0, 0.04, weeks)  # local weather and events move all departments
    noise = _ar1(rng, catalog.volatility[chosen], weeks, persistence=0.5)
    log_sales = (
        np.log(volume * mix)[:, None]
        + catalog.season_amplitude[chosen] @ calendar.seasons
        + holiday
        + response * calendar.month_pattern
        + trend * calendar.years_elapsed
        + store_shock
        + noise
    )
    sales = np.exp(log_sales)
    # Returns exceeding sales give a small negative week: valid data in the real set too.
    returns = rng.random(sales.shape) < catalog.negative_rate[chosen][:, None]
    sales[returns] = -np.maximum(0.01, rng.lognormal(np.log(25), 1.1, int(returns.sum())))
    return StoreSales(DEPARTMENTS[chosen], present, np.round(sales, 2))


def _presence(rng: np.random.Generator, complete_share: np.ndarray, weeks: int) -> np.ndarray:
    """Most series sell every week; the others start late, stop early or sell only some weeks."""
    count = len(complete_share)
    week = np.arange(weeks)
    pattern = np.where(rng.random(count) < complete_share, 0, rng.integers(1, 4, count))
    start = rng.integers(1, weeks - 4, count)
    stop = rng.integers(5, weeks, count)
    sporadic = rng.random((count, weeks)) < rng.uniform(0.3, 0.9, count)[:, None]
    present = np.ones((count, weeks), dtype=bool)
    present[pattern == 1] = week[None, :] >= start[pattern == 1, None]
    present[pattern == 2] = week[None, :] < stop[pattern == 2, None]
    present[pattern == 3] = sporadic[pattern == 3]
    present[~present.any(axis=1), 0] = True
    return present


def _ar1(rng: np.random.Generator, sigma: np.ndarray, weeks: int, persistence: float) -> np.ndarray:
    """Week-to-week noise with memory: a good or bad week tends to be followed by a similar one."""
    shocks = rng.normal(0, 1, (len(sigma), weeks)) * sigma[:, None] * np.sqrt(1 - persistence**2)
    noise = np.empty_like(shocks)
    noise[:, 0] = shocks[:, 0] / np.sqrt(1 - persistence**2)
    for week in range(1, weeks):
        noise[:, week] = persistence * noise[:, week - 1] + shocks[:, week]
    return noise


def store_traffic(seed: int, store: Store, weekly_total: np.ndarray, calendar: Calendar) -> np.ndarray:
    """Customer visits: the week's sales over an average basket that grows in the holiday run-up as far as
    the format's customers shop for the holidays."""
    rng = _rng(seed, _TRAFFIC, store.store)
    basket = {"A": 62.0, "B": 54.0, "C": 47.0}[store.store_type] * rng.lognormal(0, 0.08)
    holiday_basket = 1 + 0.25 * FORMAT_RESPONSE[store.store_type] * calendar.events
    basket_per_week = basket * holiday_basket * rng.lognormal(0, 0.04, len(weekly_total))
    return np.maximum(0, np.round(weekly_total / basket_per_week)).astype(np.int64)


def store_features(seed: int, store: Store, region: Region, calendar: Calendar) -> dict[str, np.ndarray]:
    rng = _rng(seed, _FEATURES, store.store)
    weeks = calendar.weeks
    count = len(weeks)
    day = _day_of_year(weeks)
    macro_missing = weeks >= np.datetime64(FIRST_WEEK_WITHOUT_MACRO)

    # The region's climate, coldest around 20 January, plus the store's own site and weather.
    temperature = (
        region.mean_temperature
        + rng.normal(0, 1.5)
        - region.temperature_swing * np.cos(2 * np.pi * (day - 20) / 365.25)
        + _ar1(rng, np.array([4.5]), count, persistence=0.6)[0]
    )
    # CPI and unemployment are the region's, measured a little differently around each store.
    cpi = np.where(macro_missing, np.nan, region.cpi * (1 + rng.normal(0, 0.002)))
    unemployment = np.clip(region.unemployment + rng.normal(0, 0.3), 2.5, 20.0)
    unemployment = np.where(macro_missing, np.nan, unemployment)

    return {
        "store": np.full(count, store.store),
        "week_date": weeks,
        "temperature": np.round(temperature, 2),
        "fuel_price": region.fuel_price,
        **_markdowns(rng, store, calendar),
        "cpi": np.round(cpi, 7),
        "unemployment": np.round(unemployment, 3),
        "is_holiday": calendar.is_holiday,
    }


# Share of weeks with each markdown reported (about as in the real data from 2011-11-11: 99.6 %, 72 %, 89 %,
# 86 %, 100 %), typical amount in USD for a 150k sq ft store, and how much the holiday run-up multiplies it.
_MARKDOWNS = ((0.995, 6500, 1.5), (0.72, 1800, 6.0), (0.89, 700, 30.0), (0.86, 3000, 1.5), (0.995, 4200, 1.3))


def _markdowns(rng: np.random.Generator, store: Store, calendar: Calendar) -> dict[str, np.ndarray]:
    """Promotional markdowns, reported only from 2011-11-11; mostly positive, a few reversed (negative)."""
    weeks = calendar.weeks
    reported_from = weeks >= np.datetime64(FIRST_MARKDOWN_WEEK)
    size_factor = store.size / 150_000
    holiday_season = np.clip(calendar.events / 0.4, 0, 1)
    columns = {}
    for number, (share, typical, holiday_boost) in enumerate(_MARKDOWNS, start=1):
        reported = reported_from & (rng.random(len(weeks)) < share)
        amount = (
            typical * size_factor * rng.lognormal(0, 0.9, len(weeks)) * (1 + holiday_boost * holiday_season)
        )
        reversed_promotion = rng.random(len(weeks)) < 0.004
        amount[reversed_promotion] = -rng.uniform(0.01, 200, int(reversed_promotion.sum()))
        columns[f"markdown{number}"] = np.round(np.where(reported, amount, np.nan), 2)
    return columns


# --- known-bad input ------------------------------------------------------------------------------------

DEFECT_KINDS = (
    "bad_date",
    "non_numeric_sales",
    "missing_dept",
    "unknown_store",
    "not_a_friday",
    "wrong_field_count",
    "bad_holiday_flag",
)


@dataclass
class DefectPlan:
    """Where the known-bad rows go (store, month, relative position) and which month is resubmitted."""

    bad_rows: dict[int, list[tuple[int, float, int, str]]] = field(default_factory=dict)
    resubmission: tuple[int, int] | None = None
    resubmitted_rows: int = 0

    @classmethod
    def of(cls, seed: int, count: int, stores: int, months: int) -> DefectPlan:
        plan = cls()
        if count <= 0:
            return plan
        rng = _rng(seed, _DEFECTS)
        for number in range(count):
            store = int(rng.integers(1, stores + 1))
            month = int(rng.integers(0, months))
            entry = (month, float(rng.random()), number, DEFECT_KINDS[number % len(DEFECT_KINDS)])
            plan.bad_rows.setdefault(store, []).append(entry)
        plan.resubmission = (int(rng.integers(1, stores + 1)), int(rng.integers(0, months)))
        plan.resubmitted_rows = count
        return plan


def _bad_row(kind: str, number: int, fields: list[str]) -> str:
    """A copy of a valid row's fields (store, dept, date, sales, flag) broken in one known way."""
    store, dept, week, sales, holiday = fields
    if kind == "bad_date":
        week = f"{week[:4]}-13-{week[8:10]}"
    elif kind == "non_numeric_sales":
        sales = "#VALUE!"
    elif kind == "missing_dept":
        dept = ""
    elif kind == "unknown_store":
        store = str(UNKNOWN_STORE_BASE + number)
    elif kind == "not_a_friday":
        week = str(np.datetime64(week) - 1)
    elif kind == "bad_holiday_flag":
        holiday = "yes"
    elif kind == "wrong_field_count":
        return ",".join((store, dept, week, sales))  # the last field is lost
    return ",".join((store, dept, week, sales, holiday))


# --- the whole tree -------------------------------------------------------------------------------------


class _TreeGenerator:
    def __init__(self, request: GenerationRequest, writer: layout.TreeWriter) -> None:
        self.request = request
        self.writer = writer
        self.seed = request.seed
        self.catalog = Catalog.of(self.seed)
        self.sales_calendar = Calendar.of(SALES_WEEKS)
        self.features_calendar = Calendar.of(FEATURE_WEEKS)
        self.regions = regions(self.seed, self.features_calendar)
        months = SALES_WEEKS.astype("datetime64[M]")
        self.months, self.month_starts = np.unique(months, return_index=True)
        self.month_ends = np.append(self.month_starts[1:], len(SALES_WEEKS))
        self.week_text = [layout.iso_date(week) for week in SALES_WEEKS]
        self.holiday_text = [layout.flag(flag) for flag in self.sales_calendar.is_holiday]
        self.feature_week_years = FEATURE_WEEKS.astype("datetime64[Y]").astype(int) + 1970
        self.feature_years = sorted(set(self.feature_week_years.tolist()))
        self.plan = DefectPlan.of(self.seed, request.defects, request.store_count, len(self.months))
        self.bad_rows: list[dict] = []
        self.resubmissions: list[dict] = []

    def run(self, on_store_done: Callable[[int], None]) -> None:
        stores = store_table(self.seed, self.request.store_count)
        self.writer.write(
            layout.STORES_FILE,
            "stores",
            layout.stores_lines(
                [s.store for s in stores], [s.store_type for s in stores], [s.size for s in stores]
            ),
        )
        for year in self.feature_years:
            self.writer.start(layout.features_file(year), "features")
        self.writer.start(layout.TRAFFIC_FILE, "store_traffic")
        for store in stores:
            self._one_store(store)
            on_store_done(store.store)
        self.writer.close()

    def _one_store(self, store: Store) -> None:
        sales = store_sales(self.seed, store, self.catalog, self.sales_calendar)
        self._write_sales(store, sales)

        weekly_total = np.where(sales.present, sales.weekly_sales, 0).sum(axis=0)
        customers = store_traffic(self.seed, store, weekly_total, self.sales_calendar)
        self.writer.append(
            layout.TRAFFIC_FILE,
            layout.traffic_lines([store.store] * len(customers), self.week_text, customers.tolist()),
        )

        features = store_features(self.seed, store, self.regions[store.region], self.features_calendar)
        for year in self.feature_years:
            in_year = self.feature_week_years == year
            columns = {name: values[in_year].tolist() for name, values in features.items()}
            columns["week_date"] = [str(week) for week in FEATURE_WEEKS[in_year]]
            self.writer.append(layout.features_file(year), layout.features_lines(columns))

    def _write_sales(self, store: Store, sales: StoreSales) -> None:
        prefix = str(store.store)
        departments = [str(dept) for dept in sales.departments]
        bad_rows = sorted(self.plan.bad_rows.get(store.store, []))
        for month_index, (month, start, end) in enumerate(
            zip(self.months, self.month_starts, self.month_ends, strict=True)
        ):
            dept_index, week_offset = np.nonzero(sales.present[:, start:end])
            week_index = week_offset + start
            values = sales.weekly_sales[dept_index, week_index].tolist()
            rows = [
                [prefix, departments[d], self.week_text[w], layout.number(v, 2), self.holiday_text[w]]
                for d, w, v in zip(dept_index.tolist(), week_index.tolist(), values, strict=True)
            ]
            lines = [",".join(row) for row in rows]
            relative = layout.sales_file(store.store, str(month))
            planned = [entry for entry in bad_rows if entry[0] == month_index]
            self.writer.write(relative, "sales", self._with_bad_rows(relative, lines, rows, planned))
            if self.plan.resubmission == (store.store, month_index):
                self._resubmit(store, str(month), rows)

    def _with_bad_rows(
        self, relative: str, lines: list[str], rows: list[list[str]], planned: list
    ) -> list[str]:
        """``lines`` with the planned bad rows inserted, each recorded with its final line number."""
        placed = sorted((int(position * len(rows)), number, kind) for _, position, number, kind in planned)
        merged: list[str] = []
        cursor = 0
        for at, number, kind in placed:
            merged.extend(lines[cursor:at])
            cursor = at
            line = _bad_row(kind, number, rows[min(at, len(rows) - 1)])
            # The header is line 1.
            self.bad_rows.append({"file": relative, "line": len(merged) + 2, "kind": kind, "text": line})
            merged.append(line)
        merged.extend(lines[cursor:])
        return merged

    def _resubmit(self, store: Store, month: str, rows: list[list[str]]) -> None:
        """The store sends the month again with corrected amounts for some rows: newest file wins."""
        rng = _rng(self.seed, _DEFECTS, store.store)
        count = min(self.plan.resubmitted_rows, len(rows))
        picked = np.sort(rng.choice(len(rows), count, replace=False))
        corrected = []
        for index in picked.tolist():
            store_text, dept, week, sales, holiday = rows[index]
            amount = abs(float(sales)) * rng.uniform(0.9, 1.1)
            corrected.append(",".join((store_text, dept, week, layout.number(amount, 2), holiday)))
        relative = layout.sales_file(store.store, month, version=2)
        self.writer.write(relative, "sales", corrected)
        self.resubmissions.append(
            {
                "file": relative,
                "supersedes": layout.sales_file(store.store, month),
                "rows": count,
                "keys": [[int(rows[i][0]), int(rows[i][1]), rows[i][2]] for i in picked.tolist()],
            }
        )


def generate(
    out_dir: Path,
    request: GenerationRequest,
    on_store_done: Callable[[int], None] = lambda store: None,
) -> dict:
    """Write ``<out_dir>/incoming`` (replacing any previous tree) and return its manifest."""
    staged = out_dir / f".{layout.INCOMING_DIR}.staging"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    writer = layout.TreeWriter(staged)
    tree = _TreeGenerator(request, writer)
    tree.run(on_store_done)

    duplicate_keys = sum(entry["rows"] for entry in tree.resubmissions)
    layout.write_json(
        staged / layout.DEFECTS_NAME,
        {
            "bad_rows": tree.bad_rows,
            "resubmissions": tree.resubmissions,
            "summary": {"bad_rows": len(tree.bad_rows), "duplicate_keys": duplicate_keys},
        },
    )
    manifest = {
        "source": "synthetic",
        "generator_version": GENERATOR_VERSION,
        "request": request.describe(),
        "stores": request.store_count,
        "rows": writer.rows_per_dataset(),
        "defects": {"bad_rows": len(tree.bad_rows), "duplicate_keys": duplicate_keys},
        "files": writer.files,
    }
    layout.write_json(staged / layout.MANIFEST_NAME, manifest)
    layout.replace_tree(staged, out_dir / layout.INCOMING_DIR)
    return manifest
