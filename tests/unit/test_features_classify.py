"""The Spark features job's parsing on a local session (no lab): it must read the text files exactly as
the pandas loader does, since both follow datasets.textvalues."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from retailstream.datasets.contract import contract
from retailstream.datasets.loader import load_lenient
from retailstream.features.build import LOADED, classify, read_raw

pytestmark = pytest.mark.spark

HEADER = ",".join(contract("features").headers)


def _week(number: int) -> str:
    return (date(2010, 2, 5) + timedelta(weeks=number)).isoformat()


def _both_engines(spark, tmp_path, name: str, lines: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Per raw line, LOADED or the rejection reason, from Spark's classify and from the pandas loader."""
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    spark_outcome = {
        row.raw: row.reason if row.status != LOADED else LOADED
        for row in classify(read_raw(spark, str(tmp_path))).collect()
    }
    _, rejected = load_lenient(path, "features")
    pandas_outcome = dict.fromkeys(lines, LOADED)
    for raw, column, reason in rejected[["raw", "column", "reason"]].itertuples(index=False):
        pandas_outcome[raw] = f"{column.lower()} {reason}"
    return spark_outcome, pandas_outcome


def test_spark_and_the_loader_accept_the_same_numbers(spark, tmp_path):
    temperatures = [
        "42.5",
        "\t42.5 ",
        "+4.25e1",
        ".5",
        "7.",
        "12.5d",  # Java's parser takes a type suffix
        "0x1p3",  # and hexadecimal
        "Infinity",
        "NaN",
        "1e999",  # overflows to infinity
        "\u0661\u0662",
        "\uff11\uff12",
        "1_000",
    ]
    stores = ["1", " 2\t", "+3", "\u0664", "\uff15", "6.0"]
    lines = [f"1,{_week(i)},{t},2.5,NA,NA,NA,NA,NA,211.1,8.1,FALSE" for i, t in enumerate(temperatures)]
    lines += [f"{s},{_week(20)},40.0,2.5,NA,NA,NA,NA,NA,211.1,8.1,FALSE" for s in stores]
    spark_outcome, pandas_outcome = _both_engines(spark, tmp_path, "features_2010.csv", lines)
    loaded = [line for line in lines if pandas_outcome[line] == LOADED]
    assert len(loaded) == 8
    assert {raw: outcome == LOADED for raw, outcome in spark_outcome.items()} == {
        raw: outcome == LOADED for raw, outcome in pandas_outcome.items()
    }
