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
GENERATOR_VERSION = "2"
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


def store_table(seed: int, count: int) -> list[Store]:
    """Stores 1..count; each block of 45 holds the real 22/17/6 mix of A/B/C in a seeded order."""
    stores = []
    for block in range((count + STORES_PER_BLOCK - 1) // STORES_PER_BLOCK):
        types = np.repeat(list(TYPE_MIX), list(TYPE_MIX.values()))
        _rng(seed, _LAYOUT, block).shuffle(types)
        for offset, store_type in enumerate(types):
            number = block * STORES_PER_BLOCK + offset + 1
            if number > count:
                break
            low, high = SIZE_RANGES[str(store_type)]
            size = int(_rng(seed, _STORE, number).integers(low, high + 1))
            stores.append(Store(number, str(store_type), size))
    return stores


# --- the chain-wide model: departments and the calendar ------------------------------------------------


def _day_of_year(weeks: np.ndarray) -> np.ndarray:
    return (weeks - weeks.astype("datetime64[Y]")).astype(int) + 1


def _month_day(weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    months = weeks.astype("datetime64[M]")
    return months.astype(int) % 12 + 1, (weeks - months).astype(int) + 1


def _bump(day_of_year: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((day_of_year - centre) / width) ** 2)


def _holiday_uplift(weeks: np.ndarray) -> np.ndarray:
    """Extra demand per week before department sensitivity: the run-up to Christmas and Black Friday."""
    names = holiday_names(weeks)
    month, day = _month_day(weeks)
    uplift = np.zeros(len(weeks))
    uplift[names == "super_bowl"] = 0.07
    uplift[names == "labor_day"] = 0.04
    uplift[names == "thanksgiving"] = 0.55
    uplift[names == "christmas"] = 0.35
    december = month == 12
    uplift[december & (day >= 18) & (day <= 24)] = 0.60  # the last shopping week before Christmas
    uplift[december & (day >= 11) & (day <= 17)] = 0.15
    return uplift


@dataclass
class Calendar:
    weeks: np.ndarray
    is_holiday: np.ndarray
    seasons: np.ndarray  # (component, week): summer, back to school, spring, December
    uplift: np.ndarray
    years_elapsed: np.ndarray

    @classmethod
    def of(cls, weeks: np.ndarray) -> Calendar:
        day = _day_of_year(weeks)
        seasons = np.stack(
            [
                np.cos(2 * np.pi * (day - 196) / 365.25),
                _bump(day, 225, 10),
                _bump(day, 110, 14),
                _bump(day, 352, 9),
            ]
        )
        elapsed = (weeks - weeks[0]).astype(int) / 365.25
        return cls(weeks, holiday_names(weeks) != "", seasons, _holiday_uplift(weeks), elapsed)


@dataclass
class Catalog:
    """What a department is like anywhere in the chain (seeded, the same for every store)."""

    scale: np.ndarray
    prevalence: np.ndarray
    complete_share: np.ndarray
    volatility: np.ndarray
    holiday_sensitivity: np.ndarray
    season_amplitude: np.ndarray  # (department, component)
    negative_rate: np.ndarray

    @classmethod
    def of(cls, seed: int) -> Catalog:
        rng = _rng(seed, _CATALOG)
        count = len(DEPARTMENTS)
        scale = rng.lognormal(np.log(6800), 1.05, count)
        scale[rng.choice(count, 6, replace=False)] *= 3.0  # a few anchor departments (grocery-like)
        # Rank 0 is the biggest department: big departments are everywhere and sell every week.
        rank = np.argsort(np.argsort(-scale)) / (count - 1)
        prevalence = np.clip(1.05 - 0.9 * rank**3 + rng.normal(0, 0.03, count), 0.05, 1.0)
        complete_share = np.clip(0.94 - 0.6 * rank**2, 0.3, 0.94)
        volatility = 0.05 + 0.18 * rank + rng.uniform(0, 0.05, count)
        sensitivity = rng.lognormal(-0.1, 0.5, count)
        sensitivity[rng.choice(count, 4, replace=False)] *= 3.0  # toys/electronics-like spikes
        amplitude = np.column_stack(
            [
                rng.normal(0, 0.12, count),
                rng.uniform(0, 0.6, count) * (rng.random(count) < 0.2),
                rng.uniform(0, 0.5, count) * (rng.random(count) < 0.25),
                rng.uniform(0, 0.7, count) * (rng.random(count) < 0.6),
            ]
        )
        negative_rate = np.clip(0.0005 * np.exp(3.2 * rank), 0.0001, 0.03)
        return cls(scale, prevalence, complete_share, volatility, sensitivity, amplitude, negative_rate)


def _fuel_path(seed: int, weeks: np.ndarray) -> np.ndarray:
    """A national fuel price: rising into 2011, high and wavy after; seeded wiggles around the anchors."""
    anchors = np.array(["2010-02-01", "2010-07-01", "2010-12-01", "2011-05-01", "2011-10-01",
                        "2012-04-01", "2012-08-01", "2012-12-01", "2013-03-01", "2013-08-01"],
                       dtype="datetime64[D]")  # fmt: skip
    prices = np.array([2.62, 2.70, 2.95, 3.85, 3.55, 3.95, 3.70, 3.55, 3.80, 3.60])
    prices = prices + _rng(seed, _ECONOMY).normal(0, 0.06, len(prices))
    return np.interp(weeks.astype(int), anchors.astype(int), prices)


# --- one store -------------------------------------------------------------------------------------------


@dataclass
class StoreSales:
    departments: np.ndarray  # department numbers, ascending
    present: np.ndarray  # (department, week) bool: the row exists
    weekly_sales: np.ndarray  # (department, week), rounded to cents


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

    type_factor = {"A": 1.0, "B": 0.9, "C": 0.8}[store.store_type]
    store_scale = (store.size / 150_000) ** 0.85 * type_factor * rng.lognormal(0, 0.2)
    affinity = rng.normal(0, 0.4, len(chosen))
    growth = rng.normal(0.01, 0.03)
    season = np.maximum(0.15, 1 + catalog.season_amplitude[chosen] @ calendar.seasons)
    holiday = 1 + np.outer(catalog.holiday_sensitivity[chosen], calendar.uplift)
    store_shock = rng.normal(0, 0.04, weeks)  # local weather and events move all departments
    noise = _ar1(rng, catalog.volatility[chosen], weeks, persistence=0.5)
    log_sales = (
        np.log(store_scale * catalog.scale[chosen])[:, None]
        + affinity[:, None]
        + np.log(season * holiday)
        + growth * calendar.years_elapsed
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
    """Customer visits: the week's sales over an average basket that grows in holiday weeks."""
    rng = _rng(seed, _TRAFFIC, store.store)
    basket = {"A": 62.0, "B": 54.0, "C": 47.0}[store.store_type] * rng.lognormal(0, 0.08)
    basket_per_week = basket * (1 + 0.25 * calendar.uplift) * rng.lognormal(0, 0.04, len(weekly_total))
    return np.maximum(0, np.round(weekly_total / basket_per_week)).astype(np.int64)


def store_features(
    seed: int, store: Store, fuel_path: np.ndarray, calendar: Calendar
) -> dict[str, np.ndarray]:
    rng = _rng(seed, _FEATURES, store.store)
    weeks = calendar.weeks
    count = len(weeks)
    day = _day_of_year(weeks)
    macro_missing = weeks >= np.datetime64(FIRST_WEEK_WITHOUT_MACRO)

    # Climate: warmer regions swing less over the year; coldest around 20 January.
    mean_temperature = rng.uniform(42, 76)
    swing = np.clip(38 - 0.33 * mean_temperature + rng.normal(0, 2.5), 8, 30)
    temperature = (
        mean_temperature
        - swing * np.cos(2 * np.pi * (day - 20) / 365.25)
        + _ar1(rng, np.array([4.5]), count, persistence=0.6)[0]
    )

    fuel = fuel_path + rng.uniform(-0.12, 0.42) + _ar1(rng, np.array([0.025]), count, persistence=0.8)[0]

    # Two CPI families as in the real data: a few regions on an index near 130, most near 210.
    years = calendar.years_elapsed
    if rng.random() < 0.3:
        months = weeks.astype("datetime64[M]")
        monthly_years = (months - months[0]).astype(int) / 12  # this index is published monthly
        cpi = rng.uniform(126, 132) * (1 + rng.uniform(0.012, 0.02)) ** monthly_years
    else:
        cpi = rng.uniform(204, 216) * (1 + rng.uniform(0.018, 0.028)) ** years
    cpi = np.where(macro_missing, np.nan, cpi)

    # Unemployment changes each quarter; stores spread from about 4 % to 14 %.
    quarters = (weeks.astype("datetime64[M]").astype(int) // 3).astype(float)
    quarter_years = (quarters - quarters[0]) / 4
    unemployment = np.clip(rng.normal(8.0, 1.8), 3.8, 14.5) + rng.normal(-0.35, 0.25) * quarter_years
    unemployment = np.where(macro_missing, np.nan, np.clip(unemployment, 2.5, 20.0))

    columns = {
        "store": np.full(count, store.store),
        "week_date": weeks,
        "temperature": np.round(temperature, 2),
        "fuel_price": np.round(fuel, 3),
        **_markdowns(rng, store, calendar),
        "cpi": np.round(cpi, 7),
        "unemployment": np.round(unemployment, 3),
        "is_holiday": calendar.is_holiday,
    }
    return columns


# Share of weeks with each markdown reported, typical amount in USD for a 150k sq ft store, and how much
# the holiday run-up multiplies it.
_MARKDOWNS = ((0.93, 6500, 1.5), (0.62, 1800, 6.0), (0.82, 700, 30.0), (0.86, 3000, 1.5), (0.99, 4200, 1.3))


def _markdowns(rng: np.random.Generator, store: Store, calendar: Calendar) -> dict[str, np.ndarray]:
    weeks = calendar.weeks
    reported_from = weeks >= np.datetime64(FIRST_MARKDOWN_WEEK)
    first_week = np.flatnonzero(reported_from)[:1]
    size_factor = store.size / 150_000
    holiday_season = np.clip(calendar.uplift / 0.55, 0, 1)
    columns = {}
    for number, (share, typical, holiday_boost) in enumerate(_MARKDOWNS, start=1):
        reported = reported_from & (rng.random(len(weeks)) < share)
        if number == 1:
            reported[first_week] = True  # every store reports the first markdown week
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
        self.fuel_path = _fuel_path(self.seed, FEATURE_WEEKS)
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

        features = store_features(self.seed, store, self.fuel_path, self.features_calendar)
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
