"""The Spark features job's parsing on a local session (no lab): it must read the text files exactly as
the pandas loader does, since both follow datasets.textvalues."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from retailstream.datasets.contract import contract
from retailstream.datasets.loader import DataFileError, load_lenient
from retailstream.stages.features.build import LOADED, classify, read_raw

pytestmark = pytest.mark.spark

HEADER = ",".join(contract("features").headers)
NAMES = {spec.header: spec.name for spec in contract("features").columns}


def _week(number: int) -> str:
    return (date(2010, 2, 5) + timedelta(weeks=number)).isoformat()


def _both_engines(spark, tmp_path, files: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str]]:
    """Per raw line, its week date as loaded or the rejection reason, from Spark's classify (over all the
    files at once) and from the pandas loader (file by file)."""
    for name, lines in files.items():
        (tmp_path / name).write_text("\n".join([HEADER, *lines]) + "\n")
    spark_outcome = {
        row.raw: str(row.week_date) if row.status == LOADED else row.reason
        for row in classify(read_raw(spark, [tmp_path.as_uri()])).collect()
    }
    pandas_outcome = {}
    for name, lines in files.items():
        try:
            valid, rejected = load_lenient(tmp_path / name, "features")
        except DataFileError as error:
            pandas_outcome.update(dict.fromkeys(lines, error.reason))
            continue
        loaded = valid["week_date"].dt.strftime("%Y-%m-%d").tolist()
        pandas_outcome.update(
            zip([line for line in lines if line not in set(rejected["raw"])], loaded, strict=True)
        )
        for raw, column, reason in rejected[["raw", "column", "reason"]].itertuples(index=False):
            pandas_outcome[raw] = f"{NAMES[column]} {reason}"
    return spark_outcome, pandas_outcome


def _loaded(outcome: str) -> bool:
    return outcome[:4].isdigit()


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
    spark_outcome, pandas_outcome = _both_engines(spark, tmp_path, {"features_2010.csv": lines})
    assert len([line for line in lines if _loaded(pandas_outcome[line])]) == 8
    assert {raw: _loaded(outcome) for raw, outcome in spark_outcome.items()} == {
        raw: _loaded(outcome) for raw, outcome in pandas_outcome.items()
    }


def test_spark_decides_the_date_format_per_file_as_the_loader_does(spark, tmp_path):
    def rows(store: int, *dates: str) -> list[str]:
        return [f"{store},{day},40.0,2.5,NA,NA,NA,NA,NA,211.1,8.1,FALSE" for day in dates]

    files = {
        "features_us.csv": rows(1, "03/12/2010", "03/19/2010", "02/30/2010"),  # month-first, proven
        "features_dmy.csv": rows(2, "19/03/2010", "03/12/2010"),  # day-first, proven
        "features_fridays.csv": rows(3, "02/05/2010", "02/12/2010"),  # unproven: Fridays month-first
        "features_tie.csv": rows(4, "03/12/2010"),  # both readings Fridays: day-first
        "features_iso.csv": rows(5, "2010-03-12", "2010/03/19"),
        "features_mixed.csv": rows(6, "2010-03-12", "19/03/2010"),
        "features_slash_mixed.csv": rows(7, "19/03/2010", "03/26/2010"),
    }
    spark_outcome, pandas_outcome = _both_engines(spark, tmp_path, files)
    assert [spark_outcome[line] for line in files["features_us.csv"]] == [
        "2010-03-12",
        "2010-03-19",
        "week_date not a date (mm/dd/yyyy), got '02/30/2010'",
    ]
    assert [spark_outcome[line] for lines in list(files.values())[1:4] for line in lines] == [
        "2010-03-19",
        "2010-12-03",
        "2010-02-05",
        "2010-02-12",
        "2010-12-03",
    ]
    assert (
        spark_outcome[files["features_iso.csv"][1]] == "week_date not a date (yyyy-mm-dd), got '2010/03/19'"
    )
    for name in ("features_mixed.csv", "features_slash_mixed.csv"):
        assert all(spark_outcome[line].startswith("mixed date formats: '") for line in files[name])
        assert all(pandas_outcome[line].startswith("mixed date formats: line ") for line in files[name])
    same = {raw: outcome for raw, outcome in pandas_outcome.items() if not outcome.startswith("mixed")}
    assert {raw: spark_outcome[raw] for raw in same} == same
