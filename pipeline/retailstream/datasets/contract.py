"""The data contract: the canonical schema of every dataset, declared once as data.

Each dataset is a tuple of ``ColumnSpec`` (snake_case name, the header its CSV files carry, logical type,
nullability, bounds or allowed values) plus its key. Everything else is derived from that one
declaration: ``row_rules`` (the row-level rules), ``pandera_schema`` (pandas), ``spark_schema`` and
``spark_rejection_rules`` (PySpark), ``arrow_schema`` (Parquet writers). pandera, pyspark and pyarrow
are imported inside the functions that use them, so importing this module never starts Java.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pandera
    import pyarrow
    from pyspark.sql import Column
    from pyspark.sql.types import StructType

LogicalType = Literal["int", "float", "bool", "date", "string"]
Bound = float | date


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    header: str  # as written in the Kaggle files and by the generator
    type: LogicalType
    nullable: bool = False
    minimum: Bound | None = None
    maximum: Bound | None = None
    exclusive_minimum: bool = False
    allowed: tuple[str, ...] | None = None
    friday: bool = False
    description: str = ""


@dataclass(frozen=True)
class DatasetContract:
    kind: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    description: str

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return next(column for column in self.columns if column.name == name)


# Dates outside this window can only be typos (a two-digit year, swapped fields).
_SANE_DATES = {"minimum": date(1990, 1, 1), "maximum": date(2099, 12, 31)}
# What the storage types hold: RDS (rds/schema.sql), int32 in pandas, Arrow, Spark and Hive, and Hive's
# DOUBLE for the feature columns. Every numeric column is bounded within its types, so a valid value can
# always be stored, and an infinite one is never valid (a test checks the bounds against schema.sql).
_SMALLINT_UNSIGNED_MAX = 65_535
_INT32_MAX = 2**31 - 1
_DECIMAL_12_2 = {"minimum": -9_999_999_999.99, "maximum": 9_999_999_999.99}
_FINITE = {"minimum": -sys.float_info.max, "maximum": sys.float_info.max}

_STORE = ColumnSpec(
    "store", "Store", "int", minimum=1, maximum=_SMALLINT_UNSIGNED_MAX, description="store number"
)
_WEEK_DATE = ColumnSpec(
    "week_date", "Date", "date", friday=True, description="the Friday of the week", **_SANE_DATES
)
_IS_HOLIDAY = ColumnSpec(
    "is_holiday",
    "IsHoliday",
    "bool",
    description="week holds Super Bowl, Labor Day, Thanksgiving or Christmas",
)


def _markdown(number: int) -> ColumnSpec:
    # Negative markdowns occur in the source data (reversed promotions): only Hive's DOUBLE bounds them.
    return ColumnSpec(
        f"markdown{number}",
        f"MarkDown{number}",
        "float",
        nullable=True,
        description=f"promotional markdown {number} in USD; missing before 2011-11-11",
        **_FINITE,
    )


CONTRACTS: dict[str, DatasetContract] = {
    contract.kind: contract
    for contract in (
        DatasetContract(
            "stores",
            (
                _STORE,
                ColumnSpec("store_type", "Type", "string", allowed=("A", "B", "C"), description="format"),
                ColumnSpec(
                    "size",
                    "Size",
                    "int",
                    minimum=0,
                    exclusive_minimum=True,
                    maximum=1_000_000,
                    description="sales floor in square feet",
                ),
            ),
            key=("store",),
            description="one row per store",
        ),
        DatasetContract(
            "sales",
            (
                _STORE,
                ColumnSpec("dept", "Dept", "int", minimum=1, maximum=99, description="department number"),
                _WEEK_DATE,
                # Negative weekly sales are returns exceeding sales, valid data: only the RDS column's
                # DECIMAL(12, 2) bounds them.
                ColumnSpec(
                    "weekly_sales", "Weekly_Sales", "float", description="USD, two decimals", **_DECIMAL_12_2
                ),
                _IS_HOLIDAY,
            ),
            key=("store", "dept", "week_date"),
            description="weekly sales per store and department",
        ),
        DatasetContract(
            "features",
            (
                _STORE,
                _WEEK_DATE,
                ColumnSpec(
                    "temperature",
                    "Temperature",
                    "float",
                    minimum=-80.0,
                    maximum=140.0,
                    description="regional average, degrees Fahrenheit",
                ),
                ColumnSpec(
                    "fuel_price",
                    "Fuel_Price",
                    "float",
                    minimum=0.0,
                    exclusive_minimum=True,
                    maximum=20.0,
                    description="regional fuel price, USD per gallon",
                ),
                *(_markdown(number) for number in range(1, 6)),
                ColumnSpec(
                    "cpi",
                    "CPI",
                    "float",
                    nullable=True,
                    minimum=0.0,
                    exclusive_minimum=True,
                    maximum=1000.0,
                    description="consumer price index; missing for the last months",
                ),
                ColumnSpec(
                    "unemployment",
                    "Unemployment",
                    "float",
                    nullable=True,
                    minimum=0.0,
                    maximum=100.0,
                    description="regional unemployment rate in percent; missing for the last months",
                ),
                _IS_HOLIDAY,
            ),
            key=("store", "week_date"),
            description="weekly regional and promotional features per store",
        ),
        DatasetContract(
            "store_traffic",
            (
                _STORE,
                _WEEK_DATE,
                ColumnSpec(
                    "customers",
                    "Customers",
                    "int",
                    minimum=0,
                    maximum=_INT32_MAX,
                    description="customer visits",
                ),
            ),
            key=("store", "week_date"),
            description="weekly customer visits per store (synthetic only: the Kaggle data has none)",
        ),
    )
}

KINDS: tuple[str, ...] = tuple(CONTRACTS)

# How the canonical frames hold each logical type in pandas ("str" is object in pandas 2, the string
# dtype in pandas 3).
PANDAS_DTYPES: dict[LogicalType, str] = {
    "int": "int32",
    "float": "float64",
    "bool": "bool",
    "date": "datetime64[ns]",
    "string": "str",
}


def contract(kind: str) -> DatasetContract:
    try:
        return CONTRACTS[kind]
    except KeyError:
        raise ValueError(f"unknown dataset kind {kind!r}; expected one of {', '.join(KINDS)}") from None


@dataclass(frozen=True)
class RowRule:
    """One row-level condition a valid row satisfies, evaluated in pandas or in Spark."""

    column: str
    check: Literal["not_null", "minimum", "maximum", "allowed", "friday"]
    reason: str  # what a violating value fails, e.g. "must be >= 1"
    bound: Bound | tuple[str, ...] | None = None
    exclusive: bool = False

    @property
    def message(self) -> str:
        return f"{self.column} {self.reason}"

    def violated_in(self, columns: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """Per row, whether it breaks the rule; a missing value breaks only the not-null rule.

        ``columns`` is a canonical frame, or canonical column names mapped to arrays (NaN/NaT/None missing).
        """
        import pandas as pd

        values = np.asarray(columns[self.column])
        missing = pd.isna(values)
        if self.check == "not_null":
            return missing
        present = values[~missing]
        bound = np.datetime64(self.bound, "D") if isinstance(self.bound, date) else self.bound
        if self.check == "minimum":
            broken = present <= bound if self.exclusive else present < bound
        elif self.check == "maximum":
            broken = present > bound
        elif self.check == "allowed":
            broken = ~np.isin(present, list(bound))
        else:
            # Day 0 of the epoch (1970-01-01) was a Thursday: Friday is 1 modulo 7.
            broken = present.astype("datetime64[D]").astype(np.int64) % 7 != 1
        violated = np.zeros(len(values), dtype=bool)
        violated[~missing] = broken
        return violated


def _format_bound(bound: Bound) -> str:
    if isinstance(bound, date):
        return bound.isoformat()
    short = f"{bound:g}"
    return short if float(short) == bound else repr(bound)  # 9999999999.99, not 1e+10


def row_rules(kind: str) -> tuple[RowRule, ...]:
    """The contract's row-level rules in column order (the key's uniqueness is a table-level rule)."""
    rules: list[RowRule] = []
    for spec in contract(kind).columns:
        if not spec.nullable:
            rules.append(RowRule(spec.name, "not_null", "is missing"))
        if spec.minimum is not None:
            operator = ">" if spec.exclusive_minimum else ">="
            reason = f"must be {operator} {_format_bound(spec.minimum)}"
            rules.append(RowRule(spec.name, "minimum", reason, spec.minimum, spec.exclusive_minimum))
        if spec.maximum is not None:
            reason = f"must be <= {_format_bound(spec.maximum)}"
            rules.append(RowRule(spec.name, "maximum", reason, spec.maximum))
        if spec.allowed is not None:
            rules.append(
                RowRule(spec.name, "allowed", f"must be one of {', '.join(spec.allowed)}", spec.allowed)
            )
        if spec.friday:
            rules.append(RowRule(spec.name, "friday", "must be a Friday"))
    return tuple(rules)


def pandas_dtypes(kind: str) -> dict[str, str]:
    return {spec.name: PANDAS_DTYPES[spec.type] for spec in contract(kind).columns}


def pandera_schema(kind: str) -> pandera.DataFrameSchema:
    """The contract as a pandera schema: dtypes, nullability, the row rules and the key's uniqueness."""
    import pandas as pd
    import pandera.pandas as pa

    def check(rule: RowRule) -> pa.Check:
        bound = pd.Timestamp(rule.bound) if isinstance(rule.bound, date) else rule.bound
        if rule.check == "minimum":
            return pa.Check.gt(bound) if rule.exclusive else pa.Check.ge(bound)
        if rule.check == "maximum":
            return pa.Check.le(bound)
        if rule.check == "allowed":
            return pa.Check.isin(list(bound))
        return pa.Check(lambda values: values.dt.day_of_week == 4, name="is_friday", error=rule.reason)

    rules = [rule for rule in row_rules(kind) if rule.check != "not_null"]
    dataset = contract(kind)
    columns = {
        spec.name: pa.Column(
            PANDAS_DTYPES[spec.type],
            checks=[check(rule) for rule in rules if rule.column == spec.name],
            nullable=spec.nullable,
            description=spec.description,
        )
        for spec in dataset.columns
    }
    return pa.DataFrameSchema(
        columns,
        unique=list(dataset.key),
        report_duplicates="exclude_first",
        strict=True,
        ordered=True,
        name=kind,
        description=dataset.description,
    )


def spark_schema(kind: str, *, all_nullable: bool = False) -> StructType:
    """The Spark StructType; ``all_nullable`` for reading raw input, where missing values must load so
    the not-null rules can quarantine them."""
    from pyspark.sql import types as T

    spark_types = {
        "int": T.IntegerType(),
        "float": T.DoubleType(),
        "bool": T.BooleanType(),
        "date": T.DateType(),
        "string": T.StringType(),
    }
    return T.StructType(
        [
            T.StructField(spec.name, spark_types[spec.type], all_nullable or spec.nullable)
            for spec in contract(kind).columns
        ]
    )


def spark_rejection_rules(kind: str) -> list[tuple[str, Column]]:
    """(reason, condition) pairs on canonical typed columns; the condition is TRUE for a violating row.

    Needs an active SparkSession (PySpark builds Column objects through the JVM).
    """
    from pyspark.sql import functions as F

    def violated(rule: RowRule) -> Column:
        values = F.col(rule.column)
        if rule.check == "not_null":
            return values.isNull()
        if rule.check == "minimum":
            broken = values <= F.lit(rule.bound) if rule.exclusive else values < F.lit(rule.bound)
        elif rule.check == "maximum":
            broken = values > F.lit(rule.bound)
        elif rule.check == "allowed":
            broken = ~values.isin(list(rule.bound))
        else:
            broken = F.dayofweek(values) != 6  # Spark counts Sunday as 1
        # A comparison with NULL is NULL: make it FALSE so only the not-null rule rejects missing values.
        return F.coalesce(broken, F.lit(False))

    return [(rule.message, violated(rule)) for rule in row_rules(kind)]


def spark_rejection_reason(kind: str) -> Column:
    """The first broken rule's reason for each row, NULL for a valid row."""
    from pyspark.sql import functions as F

    return F.coalesce(
        *(F.when(condition, F.lit(reason)) for reason, condition in spark_rejection_rules(kind))
    )


def arrow_schema(kind: str) -> pyarrow.Schema:
    """The contract for Parquet writers; dates are date32 so Spark and Hive read them as DATE."""
    import pyarrow as pa

    arrow_types = {
        "int": pa.int32(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "string": pa.string(),
    }
    return pa.schema(
        [
            pa.field(spec.name, arrow_types[spec.type], nullable=spec.nullable)
            for spec in contract(kind).columns
        ]
    )
