"""The contract: one declaration, consistent pandera, Spark and Arrow forms."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import date
from importlib.resources import files

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.parquet as pq
import pytest

from retailstream.datasets.contract import (
    CONTRACTS,
    arrow_schema,
    contract,
    pandas_dtypes,
    pandera_schema,
    row_rules,
    spark_rejection_reason,
    spark_rejection_rules,
    spark_schema,
)

# The names every later stage uses (shared/dataflow.md).
EXPECTED = {
    "sales": (["store", "dept", "week_date", "weekly_sales", "is_holiday"], ("store", "dept", "week_date")),
    "features": (
        [
            "store",
            "week_date",
            "temperature",
            "fuel_price",
            *(f"markdown{n}" for n in range(1, 6)),
            "cpi",
            "unemployment",
            "is_holiday",
        ],
        ("store", "week_date"),
    ),
    "stores": (["store", "store_type", "size"], ("store",)),
    "store_traffic": (["store", "week_date", "customers"], ("store", "week_date")),
}


def test_names_and_keys_are_the_lab_wide_ones():
    assert {kind: (c.names, c.key) for kind, c in CONTRACTS.items()} == EXPECTED
    with pytest.raises(ValueError, match="unknown dataset kind"):
        contract("orders")


def test_row_rules_follow_the_declaration():
    messages = [rule.message for rule in row_rules("sales")]
    assert messages == [
        "store is missing",
        "store must be >= 1",
        "store must be <= 65535",
        "dept is missing",
        "dept must be >= 1",
        "dept must be <= 99",
        "week_date is missing",
        "week_date must be >= 1990-01-01",
        "week_date must be <= 2099-12-31",
        "week_date must be a Friday",
        "weekly_sales is missing",
        "weekly_sales must be >= -9999999999.99",  # returns make it negative: only DECIMAL(12, 2) bounds it
        "weekly_sales must be <= 9999999999.99",
        "is_holiday is missing",
    ]
    features = {rule.message for rule in row_rules("features")}
    assert "unemployment must be <= 100" in features and "cpi must be > 0" in features
    assert "markdown1 must be >= -1.7976931348623157e+308" in features  # finite, as Hive's DOUBLE


def _sql_range(sql_type: str) -> tuple[float, float]:
    """The values a MySQL numeric column type holds."""
    decimal = re.fullmatch(r"DECIMAL\((\d+), ?(\d+)\)", sql_type)
    if decimal:
        digits, scale = int(decimal.group(1)), int(decimal.group(2))
        top = float(f"{'9' * (digits - scale)}.{'9' * scale}")
        return -top, top
    name, _, unsigned = sql_type.partition(" ")
    bits = {"TINYINT": 8, "SMALLINT": 16, "MEDIUMINT": 24, "INT": 32, "BIGINT": 64}[name]
    return (0, 2**bits - 1) if unsigned == "UNSIGNED" else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def _rds_column_types() -> dict[str, dict[str, str]]:
    schema = files("retailstream.rds").joinpath("schema.sql").read_text()
    tables = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\) ENGINE", schema, re.S)
    numeric = r"^\s+(\w+)\s+((?:TINY|SMALL|MEDIUM|BIG)?INT(?: UNSIGNED)?|DECIMAL\(\d+, ?\d+\))\s"
    return {table: dict(re.findall(numeric, body, re.M)) for table, body in tables}


def test_every_numeric_column_is_bounded_by_what_stores_it():
    int32 = (-(2**31), 2**31 - 1)
    rds = _rds_column_types()
    checked = 0
    for kind, dataset in CONTRACTS.items():
        for spec in dataset.columns:
            if spec.type not in ("int", "float"):
                continue
            assert spec.minimum is not None and spec.maximum is not None, f"{kind}.{spec.name} is unbounded"
            ranges = [int32] if spec.type == "int" else [(-sys.float_info.max, sys.float_info.max)]
            if kind in rds:  # the RDS tables are named after the datasets
                ranges.append(_sql_range(rds[kind][spec.name]))
                checked += 1
            for low, high in ranges:
                assert low <= spec.minimum and spec.maximum <= high, (
                    f"{kind}.{spec.name} beyond {low}..{high}"
                )
    assert checked == 7  # store, size; store, dept, weekly_sales; store, customers


def _parquet_sales(weekly_sales: list[float]) -> bytes:
    frame = pd.DataFrame(
        {
            "store": [1] * len(weekly_sales),
            "dept": range(1, len(weekly_sales) + 1),
            "week_date": pd.to_datetime(["2010-02-05"] * len(weekly_sales)),
            "weekly_sales": weekly_sales,
            "is_holiday": [False] * len(weekly_sales),
        }
    )
    schema = pyarrow.schema([field.with_nullable(True) for field in arrow_schema("sales")])
    buffer = io.BytesIO()
    pq.write_table(pyarrow.Table.from_pandas(frame, schema=schema, preserve_index=False), buffer)
    return buffer.getvalue()


def test_values_rds_cannot_hold_are_rejected_in_every_format():
    from retailstream.stages.load.formats import parse_object

    header = "Store,Dept,Date,Weekly_Sales,IsHoliday"
    csv_lines = [
        header,
        "1,1,2010-02-05,1e15,FALSE",
        "70000,2,2010-02-05,1.00,FALSE",
        "1,3,2010-02-05,-9.5,FALSE",
    ]
    parsed = parse_object("\n".join(csv_lines).encode(), "sales", "s.csv")
    assert [r.reason.split(",")[0] for r in parsed.rejected] == [
        "Weekly_Sales: must be <= 9999999999.99",
        "Store: must be <= 65535",
    ]
    assert parsed.valid["weekly_sales"].tolist() == [-9.5]  # a return

    records = [
        {"Store": 1, "Dept": 1, "Date": "2010-02-05", "Weekly_Sales": 1e15, "IsHoliday": False},
        {"Store": 1, "Dept": 2, "Date": "2010-02-05", "Weekly_Sales": -1e15, "IsHoliday": False},
    ]
    parsed = parse_object("\n".join(json.dumps(r) for r in records).encode(), "sales", "s.jsonl")
    assert [r.reason.split(",")[0] for r in parsed.rejected] == [
        "Weekly_Sales: must be <= 9999999999.99",
        "Weekly_Sales: must be >= -9999999999.99",
    ]

    parsed = parse_object(_parquet_sales([np.inf, -np.inf, 1e20, np.nan, -139.65]), "sales", "s.parquet")
    assert [(r.row, r.reason) for r in parsed.rejected] == [
        (1, "weekly_sales must be <= 9999999999.99"),
        (2, "weekly_sales must be >= -9999999999.99"),
        (3, "weekly_sales must be <= 9999999999.99"),
        (4, "weekly_sales is missing"),  # NaN in Parquet is a missing value
    ]
    assert parsed.valid["weekly_sales"].tolist() == [-139.65]


def canonical_sales(**changes) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "store": [1, 1, 2],
            "dept": [1, 2, 1],
            "week_date": pd.to_datetime(["2010-02-05", "2010-02-05", "2010-02-12"]),
            "weekly_sales": [100.5, -20.25, 0.0],
            "is_holiday": [False, False, True],
        }
    )
    for column, (row, value) in changes.items():
        frame.loc[row, column] = value
    return frame.astype(pandas_dtypes("sales"))


def test_pandera_accepts_canonical_frames_with_returns():
    pandera_schema("sales").validate(canonical_sales())


@pytest.mark.parametrize(
    ("changes", "column", "check"),
    [
        ({"week_date": (1, pd.Timestamp("2010-02-06"))}, "week_date", "must be a Friday"),
        ({"dept": (0, 100)}, "dept", "less_than_or_equal_to(99)"),
        ({"store": (0, 0)}, "store", "greater_than_or_equal_to(1)"),
        ({"dept": (1, 1)}, "store", "multiple_fields_uniqueness"),
    ],
)
def test_pandera_rejects_what_the_contract_forbids(changes, column, check):
    with pytest.raises(pa.errors.SchemaErrors) as raised:
        pandera_schema("sales").validate(canonical_sales(**changes), lazy=True)
    failures = raised.value.failure_cases
    assert ((failures["column"] == column) & (failures["check"] == check)).any()


def test_violated_in_marks_rows_and_leaves_missing_values_to_the_not_null_rule():
    frame = pd.DataFrame(
        {
            "store": [1, 2, 3],
            "store_type": ["A", "D", None],
            "size": [100_000.0, float("nan"), -5.0],
        }
    )
    broken = {rule.message: rule.violated_in(frame).tolist() for rule in row_rules("stores")}
    assert broken["store_type must be one of A, B, C"] == [False, True, False]
    assert broken["store_type is missing"] == [False, False, True]
    assert broken["size must be > 0"] == [False, False, True]
    assert broken["size is missing"] == [False, True, False]


def test_spark_schema_and_arrow_schema_mirror_the_declaration():
    from pyspark.sql import types as T

    schema = spark_schema("features")
    assert schema.fieldNames() == EXPECTED["features"][0]
    assert schema["week_date"].dataType == T.DateType() and not schema["week_date"].nullable
    assert schema["store"].dataType == T.IntegerType()
    assert schema["cpi"].dataType == T.DoubleType() and schema["cpi"].nullable
    assert spark_schema("stores")["store_type"].dataType == T.StringType()
    assert all(field.nullable for field in spark_schema("sales", all_nullable=True).fields)

    arrow = arrow_schema("sales")
    assert str(arrow.field("week_date").type) == "date32[day]"
    assert str(arrow.field("store").type) == "int32"
    assert arrow.names == EXPECTED["sales"][0]


def test_importing_the_contract_and_the_cli_stays_light():
    code = (
        "import sys; import retailstream.datasets.contract, retailstream.datasets.cli; "
        "heavy = {'pyspark', 'pandera', 'pandas'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.spark
def test_spark_rules_reject_the_same_rows_as_pandas(spark):
    rows = [
        (1, 1, date(2010, 2, 5), -5.5, False),  # valid: a return
        (1, 100, date(2010, 2, 5), 10.0, False),
        (1, 1, date(2010, 2, 6), 10.0, False),
        (0, 1, date(2010, 2, 5), 10.0, True),
        (1, 1, date(2010, 2, 5), None, True),
        (70_000, 1, date(2010, 2, 5), 10.0, True),
        (1, 1, date(2010, 2, 5), float("-inf"), True),
    ]
    frame = spark.createDataFrame(rows, spark_schema("sales", all_nullable=True))
    rules = spark_rejection_rules("sales")
    reason = spark_rejection_reason("sales").alias("reason")
    collected = frame.select(reason, *(condition for _, condition in rules)).collect()
    assert [row[0] for row in collected] == [
        None,
        "dept must be <= 99",
        "week_date must be a Friday",
        "store must be >= 1",
        "weekly_sales is missing",
        "store must be <= 65535",
        "weekly_sales must be >= -9999999999.99",
    ]

    pandas_frame = pd.DataFrame(rows, columns=EXPECTED["sales"][0])
    pandas_frame["week_date"] = pd.to_datetime(pandas_frame["week_date"])
    for position, (rule, (message, _)) in enumerate(zip(row_rules("sales"), rules, strict=True), start=1):
        assert rule.message == message
        assert [row[position] for row in collected] == rule.violated_in(pandas_frame).tolist(), message


def test_one_date_format_per_file_is_decided_from_all_its_dates():
    from retailstream.datasets.textvalues import (
        DAY_FIRST,
        ISO,
        MONTH_FIRST,
        DateEvidence,
        MixedDateFormats,
        decide_date_format,
    )

    assert decide_date_format(DateEvidence()) is None
    assert decide_date_format(DateEvidence(iso="a")) is ISO
    assert decide_date_format(DateEvidence(slash="a", day_first="b", month_first_fridays=9)) is DAY_FIRST
    assert decide_date_format(DateEvidence(slash="a", month_first="b", day_first_fridays=9)) is MONTH_FIRST
    assert (
        decide_date_format(DateEvidence(slash="a", day_first_fridays=1, month_first_fridays=2)) is MONTH_FIRST
    )
    assert (
        decide_date_format(DateEvidence(slash="a", day_first_fridays=2, month_first_fridays=2)) is DAY_FIRST
    )
    with pytest.raises(MixedDateFormats, match="mixed date formats: A is yyyy-mm-dd, B is dd/mm/yyyy"):
        decide_date_format(DateEvidence(iso="A", slash="B"))
    with pytest.raises(MixedDateFormats, match="C can only be dd/mm/yyyy, D only mm/dd/yyyy"):
        decide_date_format(DateEvidence(slash="B", day_first="C", month_first="D"))
