"""The contract: one declaration, consistent pandera, Spark and Arrow forms."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pandas as pd
import pandera.pandas as pa
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
        "dept is missing",
        "dept must be >= 1",
        "dept must be <= 99",
        "week_date is missing",
        "week_date must be >= 1990-01-01",
        "week_date must be <= 2099-12-31",
        "week_date must be a Friday",
        "weekly_sales is missing",  # and nothing else: returns make it negative
        "is_holiday is missing",
    ]
    features = {rule.message for rule in row_rules("features")}
    assert "unemployment must be <= 100" in features and "cpi must be > 0" in features
    assert not any(message.startswith("markdown") for message in features)


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


@pytest.fixture(scope="module")
def spark():
    """A bare local session (no Hive, no UI); reuses an active one and stops only its own."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    session = active or (
        SparkSession.builder.master("local[1]")
        .appName("contract-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    yield session
    if active is None:
        session.stop()


@pytest.mark.spark
def test_spark_rules_reject_the_same_rows_as_pandas(spark):
    rows = [
        (1, 1, date(2010, 2, 5), -5.5, False),  # valid: a return
        (1, 100, date(2010, 2, 5), 10.0, False),
        (1, 1, date(2010, 2, 6), 10.0, False),
        (0, 1, date(2010, 2, 5), 10.0, True),
        (1, 1, date(2010, 2, 5), None, True),
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
    ]

    pandas_frame = pd.DataFrame(rows, columns=EXPECTED["sales"][0])
    pandas_frame["week_date"] = pd.to_datetime(pandas_frame["week_date"])
    for position, (rule, (message, _)) in enumerate(zip(row_rules("sales"), rules, strict=True), start=1):
        assert rule.message == message
        assert [row[position] for row in collected] == rule.violated_in(pandas_frame).tolist(), message
