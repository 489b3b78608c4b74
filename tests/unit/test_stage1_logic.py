"""Stage 1 pure logic: object decoding, newest-file ranking, crawler type inference, the Lambda zip."""

from __future__ import annotations

import datetime
import gzip
import io
import json
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retailstream.datasets.contract import arrow_schema
from retailstream.datasets.loader import DataFileError
from retailstream.deploy.lambda_function import HANDLER, function_zip
from retailstream.emulation.glue_crawler import _typed_text_columns, _wider
from retailstream.stages.clean.merge import RawFile
from retailstream.stages.load.formats import parse_object


def _sales(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["store", "dept", "week_date", "weekly_sales", "is_holiday"])
    return frame.assign(week_date=pd.to_datetime(frame.week_date))


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, schema=arrow_schema("sales"), preserve_index=False), buffer)
    return buffer.getvalue()


def test_parquet_rows_get_the_contract_rules_and_key_uniqueness():
    frame = _sales(
        [
            (1, 1, "2010-02-05", 10.0, False),
            (1, 1, "2010-02-11", 10.0, False),  # a Thursday
            (1, 1, "2010-02-05", 11.0, True),  # repeats row 1's key
            (7, 2, "2010-02-05", 1.0, False),  # store 7 is unknown
            (1, 100, "2010-02-05", 1.0, False),  # dept out of range
        ]
    )
    parsed = parse_object(gzip.compress(_parquet(frame)), "sales", "k", known_stores={1})
    assert parsed.format == "parquet+gzip"
    assert len(parsed.valid) == 1 and parsed.rows_in == 5
    reasons = {r.row: r.reason for r in parsed.rejected}
    assert reasons == {
        2: "week_date must be a Friday",
        3: "duplicate key (store, dept, week_date) of row 1",
        4: "store: unknown store id",
        5: "dept must be <= 99",
    }
    assert json.loads(parsed.rejected[0].raw)["week_date"].startswith("2010-02-11")


def test_parquet_with_the_wrong_columns_is_rejected_as_a_whole():
    frame = _sales([(1, 1, "2010-02-05", 10.0, False)]).drop(columns="is_holiday")
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    with pytest.raises(DataFileError, match="missing column"):
        parse_object(buffer.getvalue(), "sales", "k")


def test_json_lines_keep_their_own_line_numbers():
    lines = [
        '{"Store": 1, "Dept": 1, "Date": "2010-02-05", "Weekly_Sales": 1.5, "IsHoliday": false}',
        "",
        "{not json",
        '{"Store": 1, "Dept": 2, "Date": "2010-02-12", "Weekly_Sales": "x", "IsHoliday": true}',
        '{"Store": 1, "Dept": 3, "Date": "2010-02-12", "Weekly_Sales": 2, "IsHoliday": null}',
    ]
    parsed = parse_object("\n".join(lines).encode(), "sales", "k")
    assert parsed.format == "jsonl" and len(parsed.valid) == 1
    assert [(r.row, r.reason.split(":")[0]) for r in parsed.rejected] == [
        (3, "not valid JSON"),
        (4, "Weekly_Sales"),
        (5, "IsHoliday"),
    ]
    assert parsed.rejected[1].raw == lines[3]


def test_newest_file_wins_by_version_then_upload_time():
    old_v2 = RawFile(
        "p/sales/store=01/sales_2010-02_v2.csv", "sales/store=01/sales_2010-02_v2.csv", "e", 100.0
    )
    new_v1 = RawFile("p/sales/store=01/sales_2010-02.csv", "sales/store=01/sales_2010-02.csv", "e", 200.0)
    newer_v1 = RawFile("p/sales/store=02/sales_2010-02.csv", "sales/store=02/sales_2010-02.csv", "e", 300.0)
    assert sorted([old_v2, newer_v1, new_v1], key=lambda f: f.rank) == [new_v1, newer_v1, old_v2]


def test_crawler_types_sampled_values_like_glue():
    header = ["Store", "Date", "Weekly_Sales", "IsHoliday", "Type", "Mixed"]
    rows = [
        ["1", "2010-02-05", "10", "TRUE", "A", "05/02/2010"],
        ["2", "2010-02-12", "1.5", "false", "B", "NA"],
    ]
    assert _typed_text_columns((header, rows)) == [
        ("store", "bigint"),
        ("date", "date"),
        ("weekly_sales", "double"),
        ("isholiday", "boolean"),
        ("type", "string"),
        ("mixed", "string"),
    ]
    assert _wider("bigint", "double") == "double" and _wider("date", "bigint") == "string"


def test_lambda_zip_is_reproducible_and_holds_the_handler():
    first, second = function_zip(), function_zip()
    assert first == second
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    module = HANDLER.rpartition(".")[0].replace(".", "/") + ".py"
    assert module in names and "pymysql/connections.py" in names
    assert not any(n.startswith("retailstream/lab/") or n.endswith("cli.py") for n in names)


def test_parquet_dates_outside_pandas_range_are_rejected_rows():
    frame = _sales([(1, 1, "2010-02-05", 10.0, False), (1, 2, "2010-02-05", 10.0, False)])
    table = pa.Table.from_pandas(frame, schema=arrow_schema("sales"), preserve_index=False)
    days = pa.array([datetime.date(2010, 2, 5), datetime.date(5000, 1, 3)], pa.date32())
    buffer = io.BytesIO()
    pq.write_table(table.set_column(2, "week_date", days), buffer)
    parsed = parse_object(buffer.getvalue(), "sales", "k")
    assert len(parsed.valid) == 1
    assert [(r.row, r.reason) for r in parsed.rejected] == [(2, "week_date must be <= 2099-12-31")]


def test_json_nested_too_deeply_is_a_rejected_line():
    good = '{"Store": 1, "Dept": 1, "Date": "2010-02-05", "Weekly_Sales": 1.5, "IsHoliday": false}'
    parsed = parse_object(f"{good}\n{'[' * 100_000}{']' * 100_000}\n".encode(), "sales", "k")
    assert len(parsed.valid) == 1
    assert [(r.row, r.reason.split(":")[0]) for r in parsed.rejected] == [(2, "not valid JSON")]


def test_parquet_that_would_inflate_beyond_the_cap_is_rejected_from_its_footer():
    frame = _sales([(1, 1, "2010-02-05", 10.0, False)] * 60_000)  # run-length encoded: a few KB
    data = _parquet(frame)
    assert len(data) < 2**16
    with pytest.raises(DataFileError, match="Parquet data inflates beyond 2 MB"):
        parse_object(data, "sales", "k", max_inflated_mb=2)
    assert parse_object(data, "sales", "k").rows_in == 60_000


def test_a_file_rejected_whole_is_quarantined_with_the_rows_it_held():
    from retailstream.stages.clean.merge import _parse

    header = "Store,Dept,Date,Weekly_Sales,IsHoliday\n"
    rows = "".join(f"1,{dept},2010-02-05,{dept * 1037.25:.2f},FALSE\n" for dept in range(1, 61))
    compressed = gzip.compress((header + rows).encode())
    cases = [
        ((header + rows + "1,61,2010-02-05,caf\xe9,FALSE\n").encode("latin-1"), 61, True),
        ((header + rows).encode("utf-16"), 60, True),
        (compressed[: len(compressed) // 2], None, False),  # truncated: the rows inflated before the end
    ]
    for data, held, exact in cases:
        parsed = _parse(RawFile("raw/sales/x.csv", "sales/x.csv", "e", 0.0, data), "sales", None, "r1", 1024)
        [record] = parsed.rejected
        assert parsed.valid is None and parsed.rows_in == record["rows"]
        assert record["rows_exact"] is exact
        if exact:
            assert record["rows"] == held
        else:
            assert 0 < record["rows"] < 60


def test_json_lines_end_only_at_line_feeds_and_each_record_is_checked_as_a_record():
    def line(dept, sales, holiday=False):
        record = {"Store": 1, "Dept": dept, "Date": "2010-02-05", "Weekly_Sales": sales, "IsHoliday": holiday}
        return json.dumps(record, ensure_ascii=False)

    lines = [
        line(1, 1.5),
        line(2, "12\n50"),  # a line break inside a string value (escaped in the JSON text)
        line(3, 2.5, "no\u2028pe"),  # U+2028 raw inside a string: not a line end in JSON lines
        line(4, 3.5, "x\u2029y"),
        line(5, 4.5),
    ]
    parsed = parse_object("\r\n".join(lines).encode(), "sales", "k")
    assert parsed.rows_in == 5 and parsed.valid["dept"].tolist() == [1, 5]
    assert [(r.row, r.reason) for r in parsed.rejected] == [
        (2, "Weekly_Sales: not a number, got '12\n50'"),
        (3, "IsHoliday: not TRUE or FALSE, got 'no\u2028pe'"),
        (4, "IsHoliday: not TRUE or FALSE, got 'x\u2029y'"),
    ]
    assert [r.raw for r in parsed.rejected] == lines[1:4]
