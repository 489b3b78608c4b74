"""The loader: every real file variant gives the same canonical frame; bad input is named precisely."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from datetime import date

import numpy as np
import pandas as pd
import pytest

from retailstream.datasets.contract import contract, pandas_dtypes, pandera_schema
from retailstream.datasets.loader import DataFileError, detect_kind, load, load_lenient

NA = None
# Small made-up records covering returns, NA markdowns, missing CPI, holiday weeks and every store type.
RECORDS = {
    "stores": [(1, "A", 151_000), (2, "B", 37_500), (3, "C", 42_900)],
    "sales": [
        (1, 1, date(2010, 2, 5), 21_000.5, False),
        (1, 1, date(2010, 2, 12), 39_870.25, True),
        (1, 2, date(2010, 2, 5), 48_200.0, False),
        (2, 1, date(2010, 2, 12), -139.65, True),
        (3, 99, date(2012, 10, 26), 0.01, False),
    ],
    "features": [
        (1, date(2010, 2, 5), 40.5, 2.6, NA, NA, NA, NA, NA, 210.25, 8.1, False),
        (1, date(2011, 11, 11), 58.25, 3.3, 9_000.5, 4_100.0, 210.0, 2_000.0, 6_000.75, 217.5, 7.9, False),
        (2, date(2012, 2, 10), 35.0, 3.45, 11_000.0, -12.5, 80.0, NA, 3_000.0, 131.1234567, 12.25, True),
        (2, date(2013, 5, 3), 70.0, 3.5, 5.0, NA, 1.0, 2.0, 3.0, NA, NA, False),
    ],
    "store_traffic": [
        (1, date(2010, 2, 5), 18_250),
        (1, date(2010, 2, 12), 19_900),
        (2, date(2010, 2, 5), 6_100),
    ],
}


def expected_frame(kind: str) -> pd.DataFrame:
    frame = pd.DataFrame(RECORDS[kind], columns=contract(kind).names)
    if "week_date" in frame:
        frame["week_date"] = pd.to_datetime(frame["week_date"])
    return frame.astype(pandas_dtypes(kind))


def render(
    kind: str,
    dates: str = "iso",
    line_end: str = "\n",
    bom: bool = False,
    canonical_header: bool = False,
    flags=("TRUE", "FALSE"),
    padding: str = "",
) -> bytes:
    """The records as a CSV in one of the variants the real files come in."""
    specs = contract(kind).columns

    def cell(value) -> str:
        if value is None:
            return "NA"
        if isinstance(value, bool):
            return flags[0] if value else flags[1]
        if isinstance(value, date):
            return value.isoformat() if dates == "iso" else value.strftime("%d/%m/%Y")
        return str(value)

    header = ",".join(spec.name if canonical_header else spec.header for spec in specs)
    rows = [",".join(f"{padding}{cell(value)}{padding}" for value in record) for record in RECORDS[kind]]
    text = line_end.join([header, *rows]) + line_end
    return (("\ufeff" if bom else "") + text).encode("utf-8")


VARIANTS = {
    "sales": [
        ("train.csv", {}),
        ("sales data-set.csv", {"dates": "dmy", "line_end": "\r\n", "bom": True}),
        ("sales_2010-02.csv", {"line_end": "\r"}),
        ("anything.csv", {"canonical_header": True, "flags": ("true", "False"), "padding": " "}),
    ],
    "features": [
        ("features.csv", {}),
        ("Features data set.csv", {"dates": "dmy", "line_end": "\r\n"}),
        ("features_2011.csv", {"dates": "dmy", "bom": True}),
    ],
    "stores": [
        ("stores.csv", {"line_end": "\r"}),
        ("stores data-set.csv", {"line_end": "\r\n", "bom": True}),
    ],
    "store_traffic": [("store_traffic.csv", {}), ("store_traffic.csv", {"dates": "dmy", "line_end": "\r"})],
}


@pytest.mark.parametrize(
    ("kind", "file_name", "options"),
    [(kind, name, options) for kind, variants in VARIANTS.items() for name, options in variants],
)
def test_every_real_variant_gives_the_canonical_frame(tmp_path, kind, file_name, options):
    path = tmp_path / file_name
    path.write_bytes(render(kind, **options))
    frame = load(path)
    pd.testing.assert_frame_equal(frame, expected_frame(kind))
    assert frame.attrs["kind"] == kind
    pandera_schema(kind).validate(frame)


def test_bytes_and_gzip_give_the_same_frame():
    expected = expected_frame("sales")
    pd.testing.assert_frame_equal(load(render("sales"), name="s3://retail-raw/sales/x.csv"), expected)
    pd.testing.assert_frame_equal(load(gzip.compress(render("sales")), name="sales.csv.gz"), expected)


def _sales_dates(*dates: str) -> bytes:
    return "\n".join(
        [SALES_HEADER, *(f"1,{dept},{day},10,FALSE" for dept, day in enumerate(dates, 1))]
    ).encode()


@pytest.mark.parametrize(
    ("dates", "read_as"),
    [
        # A US file: 03/19/2010 proves month-first, so 03/12/2010 is 12 March although 3 December 2010 is
        # a Friday too (read value by value, it was 3 December, and 03/19/2010 was not a date).
        (("03/12/2010", "03/19/2010"), ["2010-03-12", "2010-03-19"]),
        (("19/03/2010", "03/12/2010"), ["2010-03-19", "2010-12-03"]),  # proven day-first
        (("02/05/2010",), ["2010-02-05"]),  # unproven: only month-first gives a Friday
        (("05/02/2010",), ["2010-02-05"]),  # unproven: only day-first gives a Friday
        (("03/12/2010",), ["2010-12-03"]),  # both readings are Fridays: day-first, as the Kaggle files
        (("5/2/2010", "2010-02-05x"), ["2010-02-05", None]),  # the second is no date at all
    ],
)
def test_the_date_format_is_decided_once_per_file(dates, read_as):
    valid, rejected = load_lenient(_sales_dates(*dates), name="sales_2010.csv")
    by_dept = dict(zip(valid["dept"], valid["week_date"].dt.strftime("%Y-%m-%d"), strict=True))
    assert [by_dept.get(dept) for dept in range(1, len(dates) + 1)] == read_as
    assert list(rejected["reason"]) == [
        f"not a date (dd/mm/yyyy), got '{date}'"
        for date, day in zip(dates, read_as, strict=True)
        if day is None
    ]


@pytest.mark.parametrize(
    ("dates", "reason"),
    [
        (
            ("2010-02-05", "2010-02-12", "19/02/2010"),
            "mixed date formats: line 2 ('2010-02-05') is yyyy-mm-dd, line 4 ('19/02/2010') is dd/mm/yyyy or "
            "mm/dd/yyyy",
        ),
        (
            ("05/02/2010", "19/02/2010", "02/26/2010"),
            "mixed date formats: line 3 ('19/02/2010') can only be dd/mm/yyyy, line 4 ('02/26/2010') only "
            "mm/dd/yyyy",
        ),
    ],
)
def test_a_file_mixing_date_formats_is_rejected_whole_naming_two_lines(dates, reason):
    with pytest.raises(DataFileError) as raised:
        load_lenient(_sales_dates(*dates), name="sales_2010.csv")
    assert raised.value.reason == reason and raised.value.line is None


def test_the_header_is_the_first_line_that_is_not_blank():
    frame = load(b"\r\n  \r\n" + render("sales", line_end="\r\n"), name="train.csv")
    pd.testing.assert_frame_equal(frame, expected_frame("sales"))


def test_kind_comes_from_the_header_or_the_file_name():
    assert detect_kind(render("features")) == "features"
    assert detect_kind(b"Store,Date\n1,2010-02-05\n", name="store_traffic.csv") == "store_traffic"
    with pytest.raises(DataFileError, match="unknown dataset kind"):
        detect_kind(b"Store,Date\n1,2010-02-05\n", name="mystery.csv")
    with pytest.raises(DataFileError, match="mystery.csv, line 1: unknown dataset kind"):
        load(b"alpha,beta\n1,2\n", name="mystery.csv")
    with pytest.raises(DataFileError, match="sales file: missing column"):
        load(b"alpha,beta\n1,2\n", name="sales_2010-02.csv")  # the name tells the kind
    with pytest.raises(DataFileError, match="unknown dataset kind 'orders'"):
        load(render("sales"), "orders")


SALES_HEADER = "Store,Dept,Date,Weekly_Sales,IsHoliday"


@pytest.mark.parametrize(
    ("content", "line", "column", "reason"),
    [
        ("", None, None, "empty file"),
        (" \r\n\r\n", None, None, "empty file"),
        (f"{SALES_HEADER}\n\n", None, None, "header only"),
        ("Store;Dept;Date;Weekly_Sales;IsHoliday\n1;1;2010-02-05;10;FALSE\n", 1, None, "wrong delimiter"),
        ("\n \nStore;Dept;Date;Weekly_Sales;IsHoliday\n1;1;2010-02-05;10;FALSE\n", 3, None, "delimiter"),
        ("Store,Dept,Date,IsHoliday\n1,1,2010-02-05,FALSE\n", 1, None, "missing column(s) Weekly_Sales"),
        (f"{SALES_HEADER},Note\n1,1,2010-02-05,10,FALSE,x\n", 1, None, "unexpected column(s) Note"),
        ("Store,Dept,Date,Date,Weekly_Sales,IsHoliday\n", 1, None, "repeated column(s) week_date"),
        (f"{SALES_HEADER}\n1,1,2010-02-05,10,FALSE\n1,1,2010-02-30,10,FALSE\n", 3, "Date", "not a date"),
        (f"{SALES_HEADER}\n1,1,31/02/2010,10,FALSE\n", 2, "Date", "not a date (dd/mm/yyyy)"),
        (f"{SALES_HEADER}\n1,1,02/13/2010,10,FALSE\n", 2, "Date", "must be a Friday, got '02/13/2010'"),
        (f"{SALES_HEADER}\n1,1,2010/02/05,10,FALSE\n", 2, "Date", "not a date"),
        (f"{SALES_HEADER}\n1,1,5-2-10,10,FALSE\n", 2, "Date", "not a date"),
        (f"{SALES_HEADER}\n1,1,2010-02-04,10,FALSE\n", 2, "Date", "must be a Friday, got '2010-02-04'"),
        (f"{SALES_HEADER}\n1,1,1910-02-04,10,FALSE\n", 2, "Date", "must be >= 1990-01-01"),
        (f"{SALES_HEADER}\n1,1,2010-02-05,12O4.50,FALSE\n", 2, "Weekly_Sales", "not a number, got '12O4.50'"),
        (f"{SALES_HEADER}\n1,1,2010-02-05,nan,FALSE\n", 2, "Weekly_Sales", "not a number"),
        (f"{SALES_HEADER}\n1,1,2010-02-05,NA,FALSE\n", 2, "Weekly_Sales", "is missing"),
        (f"{SALES_HEADER}\n1,,2010-02-05,10,FALSE\n", 2, "Dept", "is missing"),
        (f"{SALES_HEADER}\n1,100,2010-02-05,10,FALSE\n", 2, "Dept", "must be <= 99"),
        (f"{SALES_HEADER}\n0,1,2010-02-05,10,FALSE\n", 2, "Store", "must be >= 1"),
        (f"{SALES_HEADER}\n1.5,1,2010-02-05,10,FALSE\n", 2, "Store", "not an integer"),
        (f"{SALES_HEADER}\n1,1,2010-02-05,10,yes\n", 2, "IsHoliday", "not TRUE or FALSE, got 'yes'"),
        (f"{SALES_HEADER}\n1,1,2010-02-05,10\n", 2, None, "expected 5 fields, found 4"),
        (f'{SALES_HEADER}\n1,1,2010-02-05,"10,FALSE\n', 2, None, "malformed quoting"),
        (
            f"{SALES_HEADER}\n1,1,2010-02-05,10,FALSE\n1,1, 2010-02-05,11,FALSE\n",
            3,
            "Store,Dept,Date",
            "duplicate key (store, dept, week_date) of line 2",
        ),
    ],
)
def test_bad_sales_files_name_file_line_column_and_reason(content, line, column, reason):
    with pytest.raises(DataFileError) as raised:
        load(content.encode(), name="sales_2010-02.csv")
    error = raised.value
    assert (error.source, error.line, error.column) == ("sales_2010-02.csv", line, column)
    assert reason in error.reason
    message = str(error)
    assert message.startswith("sales_2010-02.csv") and reason in message
    if line is not None:
        assert f"line {line}" in message


@pytest.mark.parametrize(
    ("kind", "content", "column", "reason"),
    [
        ("stores", "Store,Type,Size\r1,D,100000\r", "Type", "must be one of A, B, C"),
        ("stores", "Store,Type,Size\r1,A,0\r", "Size", "must be > 0"),
        ("store_traffic", "Store,Date,Customers\n1,2010-02-05,-3\n", "Customers", "must be >= 0"),
        (
            "features",
            "Store,Date,Temperature,Fuel_Price,MarkDown1,MarkDown2,MarkDown3,MarkDown4,MarkDown5,CPI,"
            "Unemployment,IsHoliday\n1,05/02/2010,42.3,2.57,NA,NA,NA,NA,NA,211.1,120.5,FALSE\n",
            "Unemployment",
            "must be <= 100",
        ),
    ],
)
def test_contract_ranges_reject_rows_of_every_dataset(kind, content, column, reason):
    with pytest.raises(DataFileError) as raised:
        load(content.encode(), kind, name=f"{kind}.csv")
    assert (raised.value.line, raised.value.column) == (2, column)
    assert reason in raised.value.reason


def test_unknown_store_ids_are_rejected_only_when_the_stores_are_known():
    content = f"{SALES_HEADER}\n1,1,2010-02-05,10,FALSE\n9001,1,2010-02-05,10,FALSE\n".encode()
    assert len(load(content, "sales")) == 2
    with pytest.raises(DataFileError, match="line 3, column Store: unknown store id, got '9001'"):
        load(content, "sales", known_stores={1, 2, 3})


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(
        f"{SALES_HEADER}\r\n1,1,2010-02-05,10,FALSE\r\n".encode() + b"1,1,2010-02-12,\xff,TRUE\r\n"
    )
    with pytest.raises(DataFileError, match=r"train.csv, line 3: not UTF-8"):
        load(path)


def test_lenient_keeps_every_data_line_either_valid_or_rejected():
    good = render("sales").decode().splitlines()
    bad_lines = [
        "1,1,2010-13-05,10.00,FALSE",
        "1,,2010-03-05,10.00,FALSE",
        "2,1,2010-03-05,#VALUE!,FALSE",
        "2,1,2010-03-05",
        "2,7,2010-03-04,10.00,FALSE",
        good[1],  # the same key as the first data row
    ]
    lines = [good[0], good[1], bad_lines[0], good[2], good[3], "", *bad_lines[1:], good[4], good[5]]
    content = "\r\n".join(lines).encode()

    valid, rejected = load_lenient(content, name="sales_mixed.csv")

    pd.testing.assert_frame_equal(valid, expected_frame("sales"))
    assert len(valid) + len(rejected) == len([line for line in lines[1:] if line])
    assert rejected["raw"].tolist() == bad_lines
    assert rejected["line"].tolist() == [3, 7, 8, 9, 10, 11]
    assert set(rejected["source"]) == {"sales_mixed.csv"}
    columns = [column if isinstance(column, str) else None for column in rejected["column"]]
    assert columns == ["Date", "Dept", "Weekly_Sales", None, "Date", "Store,Dept,Date"]
    assert rejected["reason"].str.len().min() > 5
    with pytest.raises(DataFileError, match="sales_mixed.csv, line 3, column Date"):
        load(content, name="sales_mixed.csv")


def test_big_files_load_quickly():
    """A sales file the size of the real train.csv (421,570 rows) must stay a matter of seconds."""
    weeks = np.arange(np.datetime64("2010-02-05"), np.datetime64("2012-10-27"), 7)
    rows = [
        f"{s},{d},{w},{(s * d) % 997 + 0.25:.2f},FALSE"
        for s in range(1, 46)
        for d in range(1, 66)
        for w in weeks
    ]
    frame = load(("\n".join([SALES_HEADER, *rows]) + "\n").encode(), name="train.csv")
    assert len(frame) == 45 * 65 * 143
    assert frame["week_date"].nunique() == 143


def _corrupt_deflate(data: bytes) -> bytes:
    """Gzip data whose first deflate block has the reserved block type (zlib says "invalid block type")."""
    return data[:10] + b"\xff" + data[11:]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        # Python's csv module refuses fields over 128 KiB: a header that long is garbage, not a crash.
        (("Store," + "x" * 200_000 + "\n1,1\n").encode(), 1, "unreadable header"),
        (_corrupt_deflate(gzip.compress(render("sales"))), None, "corrupt gzip data: "),
    ],
)
def test_a_file_that_cannot_be_parsed_is_a_data_file_error(content, line, reason):
    with pytest.raises(DataFileError) as raised:
        load_lenient(content, "sales", name="sales_2010-02.csv")
    assert raised.value.line == line and raised.value.reason.startswith(reason)


def test_dates_beyond_the_nanosecond_range_get_the_range_reason():
    content = f"{SALES_HEADER}\n1,1,9999-12-31,10,FALSE\n1,1,0001-01-05,10,FALSE\n".encode()
    _, rejected = load_lenient(content, name="sales_2010-02.csv")
    assert [reason.split(",")[0] for reason in rejected["reason"]] == [
        "must be <= 2099-12-31",
        "must be >= 1990-01-01",
    ]


def _gzip_of_zeros(head: bytes, megabytes: int) -> bytes:
    """A gzip bomb: ``head`` then ``megabytes`` MB of zero bytes, a thousandth of that compressed."""
    stream = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(2**20)
    return stream.compress(head) + b"".join(stream.compress(zeros) for _ in range(megabytes)) + stream.flush()


def test_gzip_is_inflated_only_up_to_the_cap():
    from retailstream.stages.load.formats import parse_object

    bomb = _gzip_of_zeros(f"{SALES_HEADER}\n".encode(), 64)
    tracemalloc.start()
    try:
        for parse in (
            lambda: load_lenient(bomb, "sales", name="s.csv.gz", max_inflated_mb=2),
            lambda: parse_object(bomb, "sales", "s.csv.gz", max_inflated_mb=2),
        ):
            with pytest.raises(DataFileError, match="s.csv.gz: gzip data inflates beyond 2 MB"):
                parse()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # never the 64 MB the bomb holds


def test_gzip_members_and_zero_padding_inflate_like_gunzip():
    text = render("sales")
    header, rest = text.split(b"\n", 1)
    assert len(load(gzip.compress(header + b"\n") + gzip.compress(rest) + bytes(8))) == len(RECORDS["sales"])
    with pytest.raises(DataFileError, match="corrupt gzip data"):
        load(gzip.compress(text) + b"trailing garbage")
    with pytest.raises(DataFileError, match="corrupt gzip data"):
        load(gzip.compress(text)[:-12])


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("Weekly_Sales", "\u0661\u0662\u0663.\u0665", "not a number"),  # Arabic-Indic digits
        ("Weekly_Sales", "\uff11\uff12\uff13", "not a number"),  # full-width digits
        ("Weekly_Sales", "1_000", "not a number"),
        ("Weekly_Sales", "Infinity", "not a number"),
        ("Store", "\u0661", "not an integer"),
        ("Dept", "\uff11", "not an integer"),
        ("Date", "\uff12\uff10\uff11\uff10-02-05", "not a date"),
        ("Date", "\u0660\u0665/\u0660\u0662/\u0662\u0660\u0661\u0660", "not a date"),
    ],
)
def test_numbers_and_dates_are_ascii_digits_only(column, value, reason):
    fields = {"Store": "1", "Dept": "1", "Date": "2010-02-05", "Weekly_Sales": "10", "IsHoliday": "FALSE"}
    fields[column] = value
    content = f"{SALES_HEADER}\n{','.join(fields.values())}\n".encode()
    with pytest.raises(DataFileError) as raised:
        load(content, name="sales_2010-02.csv")
    assert raised.value.column == column and raised.value.reason.startswith(reason)


def test_values_are_trimmed_of_spaces_and_tabs_only():
    content = f"{SALES_HEADER}\n 1\t,\t1 ,2010-02-05, \t12.50\t , FALSE\n1,2,2010-02-05,\u00a012.50,TRUE\n"
    valid, rejected = load_lenient(content.encode(), name="sales_2010-02.csv")
    assert valid[["dept", "weekly_sales"]].values.tolist() == [[1, 12.5]]
    assert rejected["reason"].tolist() == ["not a number, got '\u00a012.50'"]


def test_a_huge_value_is_cut_short_in_the_reason_and_kept_whole_in_raw():
    line = f"1,1,2010-02-05,{'9' * 100_000}x,FALSE"
    _, rejected = load_lenient(f"{SALES_HEADER}\n{line}\n".encode(), name="s.csv")
    [reason] = rejected["reason"]
    assert reason.startswith("not a number, got '9999") and len(reason) < 200
    assert rejected["raw"].tolist() == [line]
    with pytest.raises(DataFileError) as raised:
        load_lenient(f"{SALES_HEADER},{'x' * 100_000}\n1,1,2010-02-05,1,FALSE,1\n".encode(), name="s.csv")
    assert (
        raised.value.reason.startswith("sales file: unexpected column(s) xxx")
        and len(raised.value.reason) < 200
    )
