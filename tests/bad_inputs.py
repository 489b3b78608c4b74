"""A corpus of bad input files, as data, and what each pure entry point of the pipeline does with them.

Each kind (``BadInput``) has a name, what is wrong with it, the bytes of one file (a sales file unless
``dataset`` says otherwise) and the expected outcome: the whole file rejected with a reason, or some rows
rejected with theirs, and how many rows the file held. ``outcomes()`` runs every kind through every pure
entry point (``ENTRY_POINTS``):

- ``load_lenient``: the loader behind ``data prepare``/``data profile`` and the Glue job;
- ``merge._parse``: the Glue job's parse of one raw file; a bad file must be quarantined, never raise;
- ``parse_object``: the Lambda loader, on the CSV, on it gzip-ed, on JSON lines made from it (kinds about
  values and columns) and on Parquet (kinds about values: overflow, NaN/inf, unknown stores, keys…);
- ``prepare``: the file under its real Kaggle name (train.csv, stores.csv, features.csv) beside good ones.

``tests/unit/test_bad_inputs.py`` checks every outcome against the expectation: rows in = valid + rejected
(or the count of a file rejected whole), every reject has a reason, nothing raises but ``DataFileError``.
``PYTHONPATH=pipeline python tests/bad_inputs.py`` rewrites ``tests/bad_inputs.md`` (the kind × entry
point table); the test fails while it is stale.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from retailstream.datasets.contract import arrow_schema
from retailstream.datasets.generator import GenerationRequest
from retailstream.datasets.loader import DataFileError, count_data_rows, load_lenient
from retailstream.datasets.prepare import prepare
from retailstream.stages.clean.merge import RawFile, _parse
from retailstream.stages.load.formats import parse_object

TABLE = Path(__file__).with_name("bad_inputs.md")
KNOWN_STORES = (1, 2, 3)
# A small cap, so that the gzip bomb is cheap to build and to refuse.
MAX_INFLATED_MB = 1
ENTRY_POINTS = (
    "load_lenient",
    "merge._parse",
    "parse_object csv",
    "parse_object csv.gz",
    "parse_object jsonl",
    "parse_object parquet",
    "prepare",
)
REAL_FILE_NAMES = {"sales": "train.csv", "stores": "stores.csv", "features": "features.csv"}


@dataclass(frozen=True)
class Expected:
    rows: int  # the data rows the file holds
    rejects: tuple[str, ...] = ()  # part of each rejected row's reason, in line order
    file: str | None = None  # part of the reason the whole file is rejected for
    exact: bool = True  # False: only part of the file can be read, the row count is a lower bound

    @property
    def clean(self) -> bool:
        return not self.rejects and self.file is None


@dataclass(frozen=True)
class BadInput:
    name: str
    about: str
    data: bytes
    expected: Expected
    dataset: str = "sales"
    jsonl: bool = False  # about values or columns: as JSON lines it must come out the same
    parquet: tuple[list[tuple], Expected] | None = None  # typed sales rows, for kinds about values


@dataclass(frozen=True)
class Outcome:
    rows: int  # valid + rejected, or what a file rejected whole held
    valid: int = 0
    rejects: tuple[str, ...] = ()
    file: str | None = None
    exact: bool = True


# --- building the files ----------------------------------------------------------------------------------

SALES_HEADER = "Store,Dept,Date,Weekly_Sales,IsHoliday"
GOOD = (
    "1,1,2010-02-05,24924.50,FALSE",
    "1,2,2010-02-05,50605.27,FALSE",
    "2,1,2010-02-12,-139.65,TRUE",  # a return, in the Super Bowl week
    "3,5,2010-02-19,0.01,FALSE",
)
STORES_HEADER = "Store,Type,Size"
GOOD_STORES = ("1,A,151315", "2,B,34875", "3,C,39690")
FEATURES_HEADER = (
    "Store,Date,Temperature,Fuel_Price,MarkDown1,MarkDown2,MarkDown3,MarkDown4,MarkDown5,CPI,Unemployment,"
    "IsHoliday"
)
GOOD_FEATURES = tuple(
    f"{store},05/02/2010,42.31,2.572,NA,NA,NA,NA,NA,211.09,8.106,FALSE" for store in (1, 2, 3)
)
TRAFFIC_HEADER = "Store,Date,Customers"


def text(*rows: str, header: str = SALES_HEADER, end: str = "\n") -> bytes:
    return (end.join([header, *rows]) + end).encode()


def sales(*rows: tuple) -> list[tuple]:
    """Typed sales rows for Parquet: (store, dept, week date, weekly sales, holiday)."""
    return [(s, d, date.fromisoformat(w), v, h) for s, d, w, v, h in rows]


def ok(rows: int) -> Expected:
    return Expected(rows)


def rejected(rows: int, *reasons: str) -> Expected:
    return Expected(rows, reasons)


def whole(rows: int, reason: str, exact: bool = True) -> Expected:
    return Expected(rows, file=reason, exact=exact)


def _gzip_bomb() -> bytes:
    """A header, one row, then 6 MB of zero bytes (one huge line): 6 KB compressed."""
    stream = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(2**20)
    head = stream.compress(text(GOOD[0]))
    return head + b"".join(stream.compress(zeros) for _ in range(6)) + stream.flush()


def _many_rows() -> bytes:
    return text(*(f"1,{dept},2010-02-05,{dept * 1037.25:.2f},FALSE" for dept in range(1, 61)))


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _corrupt_deflate(data: bytes) -> bytes:
    return data[:10] + b"\xff" + data[11:]  # the reserved deflate block type


GOOD_ROWS = [(1, 1, "2010-02-05", 24924.5, False), (3, 5, "2010-02-19", 0.01, False)]

KINDS: tuple[BadInput, ...] = (
    # --- the shape of the file ---
    BadInput(
        "semicolons",
        "fields separated by ';'",
        text(*(r.replace(",", ";") for r in GOOD), header=SALES_HEADER.replace(",", ";")),
        whole(4, "wrong delimiter: the header is separated by ';'"),
    ),
    BadInput(
        "tabs",
        "fields separated by tabs",
        text(*(r.replace(",", "\t") for r in GOOD), header=SALES_HEADER.replace(",", "\t")),
        whole(4, "separated by a tab"),
    ),
    BadInput(
        "pipes",
        "fields separated by '|'",
        text(*(r.replace(",", "|") for r in GOOD), header=SALES_HEADER.replace(",", "|")),
        whole(4, "separated by '|'"),
    ),
    BadInput(
        "missing_column",
        "no IsHoliday column",
        text(*(r.rsplit(",", 1)[0] for r in GOOD), header="Store,Dept,Date,Weekly_Sales"),
        whole(4, "missing column(s) IsHoliday"),
        jsonl=True,
    ),
    BadInput(
        "extra_column",
        "an extra Note column",
        text(*(f"{r},x" for r in GOOD), header=f"{SALES_HEADER},Note"),
        whole(4, "unexpected column(s) Note"),
        jsonl=True,
    ),
    BadInput(
        "reordered_columns",
        "columns in another order",
        text(
            "2010-02-05,1,1,FALSE,24924.50",
            "2010-02-12,2,1,TRUE,-139.65",
            header="Date,Dept,Store,IsHoliday,Weekly_Sales",
        ),
        ok(2),
        jsonl=True,
    ),
    BadInput(
        "repeated_column",
        "the Date column twice",
        text("1,1,2010-02-05,2010-02-05,10,FALSE", header="Store,Dept,Date,Date,Weekly_Sales,IsHoliday"),
        whole(1, "repeated column(s) week_date"),
    ),
    BadInput(
        "renamed_columns",
        "headers of another dataset",
        text(*GOOD, header="Shop,Department,Week,Sales,Holiday"),
        whole(4, "missing column(s) Store, Dept, Date, Weekly_Sales, IsHoliday"),
    ),
    BadInput(
        "snake_case_header",
        "the canonical column names",
        text(*GOOD, header="store,dept,week_date,weekly_sales,is_holiday"),
        ok(4),
        jsonl=True,
    ),
    BadInput("empty", "no bytes at all", b"", whole(0, "empty file")),
    BadInput("whitespace_only", "only blank lines", b" \r\n\t\n\n", whole(0, "empty file")),
    BadInput("header_only", "a header and no rows", text(), whole(0, "header only")),
    BadInput(
        "blank_lines",
        "blank lines before the header and between rows",
        b"\n \n" + text(GOOD[0], "", "   ", *GOOD[1:], ""),
        ok(4),
    ),
    BadInput(
        "truncated_last_line",
        "the last line cut off mid-row",
        text(*GOOD[:3], "3,5,2010-0").rstrip(b"\n"),
        rejected(4, "expected 5 fields, found 3"),
    ),
    BadInput(
        "short_and_long_rows",
        "a row with a field missing, one with a trailing comma",
        text(GOOD[0], "1,2,2010-02-05,10.00", GOOD[2] + ","),
        rejected(3, "expected 5 fields, found 4", "expected 5 fields, found 6"),
    ),
    BadInput(
        "decimal_comma",
        "European decimal commas, unquoted and quoted",
        text(GOOD[0], "1,2,2010-02-05,50605,27,FALSE", '2,1,2010-02-12,"139,65",TRUE'),
        rejected(3, "expected 5 fields, found 6", "not a number, got '139,65'"),
    ),
    BadInput(
        "huge_header",
        "a header field beyond the csv module's 128 KiB limit",
        text(*GOOD, header=SALES_HEADER + "," + "x" * 200_000),
        whole(4, "unreadable header"),
    ),
    BadInput(
        "huge_line",
        "a 200,000-digit weekly sales value",
        text(GOOD[0], "1,2,2010-02-05," + "9" * 200_000 + ",FALSE"),
        rejected(2, "must be <= 9999999999.99"),
    ),
    # --- line ends, encodings, compression ---
    BadInput(
        "bom_crlf",
        "a UTF-8 byte order mark and CRLF line ends (as 'sales data-set.csv')",
        b"\xef\xbb\xbf" + text(*GOOD, end="\r\n"),
        ok(4),
    ),
    BadInput("cr_only", "CR-only line ends (as the real stores file)", text(*GOOD, end="\r"), ok(4)),
    BadInput("gzip", "gzip-compressed", gzip.compress(text(*GOOD)), ok(4)),
    BadInput(
        "gzip_members",
        "two gzip members, then zero padding (as concatenated .gz files)",
        gzip.compress(text(*GOOD[:2])) + gzip.compress("\n".join(GOOD[2:]).encode() + b"\n") + bytes(16),
        ok(4),
    ),
    BadInput(
        "gzip_truncated",
        "gzip cut short: the rows inflated before the cut are counted",
        _cut(gzip.compress(_many_rows())),
        whole(60, "corrupt gzip data", exact=False),
    ),
    BadInput(
        "gzip_corrupt",
        "gzip whose deflate data is garbage",
        _corrupt_deflate(gzip.compress(_many_rows())),
        whole(60, "corrupt gzip data", exact=False),
    ),
    BadInput(
        "gzip_trailing_garbage",
        "gzip followed by bytes that are no gzip member",
        gzip.compress(text(*GOOD)) + b"trailing garbage",
        whole(4, "corrupt gzip data", exact=False),
    ),
    BadInput(
        "gzip_bomb",
        f"6 MB of zeros in 6 KB of gzip, beyond a {MAX_INFLATED_MB} MB cap",
        _gzip_bomb(),
        whole(2, f"inflates beyond {MAX_INFLATED_MB} MB", exact=False),
    ),
    BadInput(
        "latin1",
        "Latin-1 text (café)",
        text(*GOOD, "3,6,2010-02-19,1.00,FALSE # caf\xe9").decode().encode("latin-1"),
        whole(5, "not UTF-8 text (byte 0xe9)"),
    ),
    BadInput(
        "windows1252",
        "Windows-1252 smart quotes",
        text(*GOOD[:2], "2,1,2010-02-12,\u201c-139.65\u201d,TRUE").decode().encode("cp1252"),
        whole(3, "not UTF-8 text (byte 0x93)"),
    ),
    BadInput(
        "utf16",
        "UTF-16 with its byte order mark",
        text(*GOOD).decode().encode("utf-16"),
        whole(4, "not UTF-8 text (byte 0xff)"),
    ),
    BadInput(
        "binary_garbage", "arbitrary bytes", bytes(range(256)) * 4, whole(4, "not UTF-8 text (byte 0x80)")
    ),
    BadInput(
        "nul_bytes",
        "NUL bytes inside values",
        text(GOOD[0], "1,2,2010-02-05,506\x0005.27,FALSE", "2,1\x00,2010-02-12,-139.65,TRUE"),
        rejected(3, "not a number", "not an integer"),
    ),
    # --- quoting ---
    BadInput(
        "unbalanced_quote",
        "a quote that never closes",
        text(GOOD[0], '1,2,"2010-02-05,50605.27,FALSE', GOOD[2]),
        rejected(3, "malformed quoting"),
    ),
    BadInput(
        "newline_in_quotes",
        "a quoted value spanning two lines (two broken lines)",
        text(GOOD[0], '1,2,2010-02-05,"50605', '27",FALSE', GOOD[2]),
        rejected(4, "malformed quoting", "expected 5 fields, found 2"),
    ),
    BadInput(
        "quoted_values",
        "every value quoted",
        text(*(",".join(f'"{v}"' for v in r.split(",")) for r in GOOD)),
        ok(4),
        jsonl=True,
    ),
    # --- values ---
    BadInput(
        "not_numbers",
        "spreadsheet errors, currency and thousands separators",
        text(
            GOOD[0],
            "1,2,2010-02-05,#VALUE!,FALSE",
            "1,3,2010-02-05,$50605.27,FALSE",
            '1,4,2010-02-05,"50,605.27",FALSE',
            "1,5,2010-02-05,#N/A,FALSE",
        ),
        rejected(5, *["not a number"] * 4),
        jsonl=True,
    ),
    BadInput(
        "null_spellings",
        "null, None and N/A are not missing-value spellings (NA and empty are)",
        text(GOOD[0], "1,2,2010-02-05,null,FALSE", "1,3,2010-02-05,None,FALSE", "1,4,2010-02-05,N/A,FALSE"),
        rejected(4, *["not a number"] * 3),
        jsonl=True,
    ),
    BadInput(
        "not_integers",
        "a decimal store, a word for a department, a 10-digit store",
        text(
            GOOD[0],
            "1.5,2,2010-02-05,1.00,FALSE",
            "1,two,2010-02-05,1.00,FALSE",
            "1234567890,3,2010-02-05,1.00,FALSE",
        ),
        rejected(4, *["not an integer"] * 3),
        jsonl=True,
    ),
    BadInput(
        "missing_values",
        "NA and empty where a value is required",
        text(GOOD[0], "1,2,2010-02-05,NA,FALSE", "1,,2010-02-05,1.00,FALSE", "1,4,2010-02-05,1.00,"),
        rejected(4, *["is missing"] * 3),
        jsonl=True,
        parquet=(
            sales(GOOD_ROWS[0], (1, None, "2010-02-05", 1.0, False), (1, 3, "2010-02-05", None, False)),
            rejected(3, "is missing", "is missing"),
        ),
    ),
    BadInput(
        "sales_overflow",
        "weekly sales beyond DECIMAL(12, 2), both ways (the bounds themselves are valid)",
        text(
            GOOD[0],
            "1,2,2010-02-05,1e15,FALSE",
            "1,3,2010-02-05,-1e15,FALSE",
            "1,4,2010-02-05,9999999999.99,FALSE",
            "1,5,2010-02-05,-9999999999.99,FALSE",
        ),
        rejected(5, "must be <= 9999999999.99", "must be >= -9999999999.99"),
        jsonl=True,
        parquet=(
            sales(
                GOOD_ROWS[0],
                (1, 2, "2010-02-05", 1e15, False),
                (1, 3, "2010-02-05", 1e20, False),
                (1, 4, "2010-02-05", 9999999999.99, False),
            ),
            rejected(4, "must be <= 9999999999.99", "must be <= 9999999999.99"),
        ),
    ),
    BadInput(
        "nan_inf",
        "nan, inf and -inf as values (Parquet: NaN is missing, infinities out of bounds)",
        text(
            GOOD[0],
            "1,2,2010-02-05,nan,FALSE",
            "1,3,2010-02-05,inf,FALSE",
            "1,4,2010-02-05,-inf,FALSE",
            "1,5,2010-02-05,Infinity,FALSE",
            "1,6,2010-02-05,1e999,FALSE",
        ),
        rejected(
            6, "not a number", "not a number", "not a number", "not a number", "must be <= 9999999999.99"
        ),
        jsonl=True,
        parquet=(
            sales(
                GOOD_ROWS[0],
                (1, 2, "2010-02-05", float("nan"), False),
                (1, 3, "2010-02-05", float("inf"), False),
                (1, 4, "2010-02-05", float("-inf"), False),
            ),
            rejected(4, "is missing", "must be <= 9999999999.99", "must be >= -9999999999.99"),
        ),
    ),
    BadInput(
        "store_overflow",
        "store 70000 (RDS SMALLINT UNSIGNED ends at 65535)",
        text(GOOD[0], "70000,1,2010-02-05,1.00,FALSE"),
        rejected(2, "must be <= 65535"),
        jsonl=True,
        parquet=(sales(GOOD_ROWS[0], (70000, 1, "2010-02-05", 1.0, False)), rejected(2, "must be <= 65535")),
    ),
    BadInput(
        "dept_overflow",
        "department 100",
        text(GOOD[0], "1,100,2010-02-05,1.00,FALSE"),
        rejected(2, "must be <= 99"),
        jsonl=True,
        parquet=(sales(GOOD_ROWS[0], (1, 100, "2010-02-05", 1.0, False)), rejected(2, "must be <= 99")),
    ),
    BadInput(
        "dept_not_positive",
        "departments 0 and -1",
        text(GOOD[0], "1,0,2010-02-05,1.00,FALSE", "1,-1,2010-02-05,1.00,FALSE"),
        rejected(3, "must be >= 1", "must be >= 1"),
        jsonl=True,
        parquet=(
            sales(GOOD_ROWS[0], (1, 0, "2010-02-05", 1.0, False), (1, -1, "2010-02-05", 1.0, False)),
            rejected(3, "must be >= 1", "must be >= 1"),
        ),
    ),
    BadInput(
        "unknown_stores",
        "stores 4 and 9 are not in the stores data",
        text(GOOD[0], "4,1,2010-02-05,1.00,FALSE", "9,1,2010-02-05,1.00,FALSE"),
        rejected(3, "unknown store id", "unknown store id"),
        jsonl=True,
        parquet=(
            sales(GOOD_ROWS[0], (4, 1, "2010-02-05", 1.0, False), (9, 1, "2010-02-05", 1.0, False)),
            rejected(3, "unknown store id", "unknown store id"),
        ),
    ),
    BadInput(
        "duplicate_keys",
        "the same (store, dept, week) twice in one file",
        text(*GOOD, "1,1,2010-02-05,99.00,FALSE"),
        rejected(5, "duplicate key (store, dept, week_date) of line"),
        jsonl=True,
        parquet=(
            sales(*GOOD_ROWS, (1, 1, "2010-02-05", 99.0, False)),
            rejected(3, "duplicate key (store, dept, week_date) of row 1"),
        ),
    ),
    BadInput(
        "holiday_spellings",
        "yes, 1, t and f are not TRUE/FALSE (any case is)",
        text(
            *(
                f"1,{d},2010-02-05,1.00,{flag}"
                for d, flag in enumerate(("yes", "1", "true", "TRUE", "t", "False", "f"), 1)
            )
        ),
        rejected(7, *["not TRUE or FALSE"] * 4),
        jsonl=True,
    ),
    BadInput(
        "unicode_digits",
        "Arabic-Indic and full-width digits",
        text(
            GOOD[0],
            "\u0661,2,2010-02-05,1.00,FALSE",
            "1,3,2010-02-05,\uff15\uff10.00,FALSE",
            "1,4,\uff12\uff10\uff11\uff10-02-05,1.00,FALSE",
        ),
        rejected(4, "not an integer", "not a number", "not a date"),
        jsonl=True,
    ),
    BadInput(
        "invisible_characters",
        "a no-break space and a zero-width space around numbers",
        text(GOOD[0], "1,2,2010-02-05,\u00a01.00,FALSE", "1,3,2010-02-05,1.00\u200b,FALSE"),
        rejected(3, "not a number", "not a number"),
        jsonl=True,
    ),
    BadInput(
        "padded_values",
        "values padded with spaces and tabs",
        text(" 1 ,\t1\t, 2010-02-05 , 24924.50 , FALSE ", "2,1,2010-02-12,\t-139.65,TRUE"),
        ok(2),
        jsonl=True,
    ),
    BadInput(
        "scientific_and_signs",
        "exponents and explicit signs are numbers",
        text("+1,1,2010-02-05,2.49245e4,FALSE", "2,+1,2010-02-12,-1.3965E2,TRUE"),
        ok(2),
        jsonl=True,
    ),
    # --- dates ---
    BadInput(
        "day_first_dates",
        "dd/mm/yyyy (as 'sales data-set.csv')",
        text("1,1,05/02/2010,1.00,FALSE", "1,1,19/02/2010,1.00,FALSE"),
        ok(2),
        jsonl=True,
    ),
    BadInput(
        "us_dates",
        "mm/dd/yyyy: 02/19/2010 proves it, so 03/12/2010 is 12 March, not 3 December",
        text("1,1,02/19/2010,1.00,FALSE", "1,1,03/12/2010,1.00,FALSE"),
        ok(2),
        jsonl=True,
    ),
    BadInput(
        "mixed_date_formats",
        "yyyy-mm-dd and dd/mm/yyyy in one file",
        text(GOOD[0], "1,2,12/02/2010,1.00,FALSE"),
        whole(2, "('2010-02-05') is yyyy-mm-dd, line"),
        jsonl=True,
    ),
    BadInput(
        "mixed_slash_dates",
        "dd/mm/yyyy and mm/dd/yyyy in one file",
        text("1,1,19/02/2010,1.00,FALSE", "1,2,02/26/2010,1.00,FALSE"),
        whole(2, "('19/02/2010') can only be dd/mm/yyyy"),
        jsonl=True,
    ),
    BadInput(
        "not_dates",
        "impossible dates, two-digit years, other separators",
        text(
            GOOD[0],
            "1,2,2010-02-30,1.00,FALSE",
            "1,3,2010-13-05,1.00,FALSE",
            "1,4,05/02/10,1.00,FALSE",
            "1,5,2010/02/05,1.00,FALSE",
        ),
        rejected(5, *["not a date (yyyy-mm-dd)"] * 4),
        jsonl=True,
    ),
    BadInput(
        "not_a_friday",
        "a Thursday",
        text(GOOD[0], "1,2,2010-02-04,1.00,FALSE"),
        rejected(2, "must be a Friday"),
        jsonl=True,
        parquet=(sales(GOOD_ROWS[0], (1, 2, "2010-02-04", 1.0, False)), rejected(2, "must be a Friday")),
    ),
    BadInput(
        "dates_out_of_range",
        "Fridays in 1989, 2100 and 9999",
        text(GOOD[0], "1,2,1989-12-29,1.00,FALSE", "1,3,2100-01-01,1.00,FALSE", "1,4,9999-12-31,1.00,FALSE"),
        rejected(4, "must be >= 1990-01-01", "must be <= 2099-12-31", "must be <= 2099-12-31"),
        jsonl=True,
        parquet=(
            sales(GOOD_ROWS[0], (1, 2, "1989-12-29", 1.0, False), (1, 3, "9999-12-31", 1.0, False)),
            rejected(3, "must be >= 1990-01-01", "must be <= 2099-12-31"),
        ),
    ),
    # --- the other datasets ---
    BadInput(
        "stores_cr_only",
        "the real stores file's CR-only line ends",
        text(*GOOD_STORES, header=STORES_HEADER, end="\r"),
        ok(3),
        dataset="stores",
    ),
    BadInput(
        "stores_bad_values",
        "store type D, size 0, store 1 twice",
        text("1,A,151315", "2,D,34875", "3,C,0", "1,B,1", header=STORES_HEADER),
        rejected(4, "must be one of A, B, C", "must be > 0", "duplicate key (store) of line"),
        dataset="stores",
        jsonl=True,
    ),
    BadInput(
        "features_us_dates",
        "a features file in mm/dd/yyyy (02/26/2010 proves it)",
        text(
            *(
                f"{s},02/{d}/2010,42.31,2.572,NA,NA,NA,NA,NA,211.09,8.106,FALSE"
                for s, d in ((1, "05"), (2, "26"))
            ),
            header=FEATURES_HEADER,
        ),
        ok(2),
        dataset="features",
        jsonl=True,
    ),
    BadInput(
        "features_bad_values",
        "markdown inf, unemployment 120, fuel price 0",
        text(
            "1,05/02/2010,42.31,2.572,inf,NA,NA,NA,NA,211.09,8.106,FALSE",
            "2,05/02/2010,42.31,2.572,NA,NA,NA,NA,NA,211.09,120,FALSE",
            "3,05/02/2010,42.31,0,NA,NA,NA,NA,NA,211.09,8.106,FALSE",
            header=FEATURES_HEADER,
        ),
        rejected(3, "not a number", "must be <= 100", "must be > 0"),
        dataset="features",
        jsonl=True,
    ),
    BadInput(
        "traffic_bad_values",
        "customers beyond nine digits, negative customers",
        text("1,2010-02-05,3000000000", "2,2010-02-05,-5", "3,2010-02-05,1200", header=TRAFFIC_HEADER),
        rejected(3, "not an integer", "must be >= 0"),
        dataset="store_traffic",
        jsonl=True,
    ),
)


def json_lines(data: bytes) -> bytes:
    """The file's rows as JSON lines, each value the JSON string the CSV held."""
    lines = [line for line in data.decode("utf-8-sig").splitlines() if line.strip()]
    header, *rows = csv.reader(lines)
    return "".join(json.dumps(dict(zip(header, row, strict=True))) + "\n" for row in rows).encode()


def parquet(rows: list[tuple]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([field.with_nullable(True) for field in arrow_schema("sales")])
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        [pa.array(values, field.type) for values, field in zip(columns, schema, strict=True)], schema=schema
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


# --- the entry points ------------------------------------------------------------------------------------


def _known(kind: BadInput) -> set[int] | None:
    return None if kind.dataset == "stores" else set(KNOWN_STORES)


def _load_lenient(kind: BadInput) -> Outcome:
    try:
        valid, rejects = load_lenient(
            kind.data,
            kind.dataset,
            name=kind.name,
            known_stores=_known(kind),
            max_inflated_mb=MAX_INFLATED_MB,
        )
    except DataFileError as error:
        rows, exact = count_data_rows(kind.data, MAX_INFLATED_MB)  # as the Glue job counts a rejected file
        return Outcome(rows, file=error.reason, exact=exact)
    return Outcome(len(valid) + len(rejects), len(valid), tuple(rejects["reason"]))


def _glue_parse(kind: BadInput) -> Outcome:
    relative = f"{kind.dataset}/{kind.name}.csv"
    file = RawFile(f"raw/{relative}", relative, "etag", 0.0, kind.data)
    parsed = _parse(file, kind.dataset, _known(kind), "corpus", MAX_INFLATED_MB)
    if parsed.valid is None:
        (record,) = parsed.rejected
        return Outcome(parsed.rows_in, file=record["reason"], exact=record["rows_exact"])
    return Outcome(parsed.rows_in, len(parsed.valid), tuple(record["reason"] for record in parsed.rejected))


def _parse_object(kind: BadInput, data: bytes, held: Callable[[bytes], tuple[int, bool]]) -> Outcome:
    """``held`` counts the rows of an object rejected whole (parse_object itself does not)."""
    try:
        parsed = parse_object(data, kind.dataset, kind.name, _known(kind), MAX_INFLATED_MB)
    except DataFileError as error:
        rows, exact = held(data)
        return Outcome(rows, file=error.reason, exact=exact)
    return Outcome(parsed.rows_in, len(parsed.valid), tuple(row.reason for row in parsed.rejected))


def _csv_rows(data: bytes) -> tuple[int, bool]:
    return count_data_rows(data, MAX_INFLATED_MB)


def _json_rows(data: bytes) -> tuple[int, bool]:
    return len([line for line in data.split(b"\n") if line.strip()]), True


def _parquet_rows(data: bytes) -> tuple[int, bool]:
    import pyarrow.parquet as pq

    return pq.read_metadata(io.BytesIO(data)).num_rows, True


def _prepare(kind: BadInput) -> Outcome:
    files = {"stores.csv": text(*GOOD_STORES, header=STORES_HEADER), "train.csv": text(*GOOD)}
    files["features.csv"] = text(*GOOD_FEATURES, header=FEATURES_HEADER)
    files[REAL_FILE_NAMES[kind.dataset]] = kind.data
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as folder:
        for name, data in files.items():
            (Path(folder) / name).write_bytes(data)
        try:
            manifest = prepare(Path(folder), GenerationRequest(), max_inflated_mb=MAX_INFLATED_MB).manifest
        except DataFileError as error:  # a real file is loaded strictly: its first problem ends the split
            rows, exact = count_data_rows(kind.data, MAX_INFLATED_MB)
            return Outcome(rows, file=error.reason, exact=exact)
    rows = manifest["rows"][kind.dataset]
    return Outcome(rows, rows)


def run(kind: BadInput, entry_point: str) -> Outcome | None:
    """What ``entry_point`` makes of ``kind``; None where it does not apply."""
    gzipped = kind.data[:2] == b"\x1f\x8b"
    if entry_point == "load_lenient":
        return _load_lenient(kind)
    if entry_point == "merge._parse":
        return _glue_parse(kind)
    if entry_point == "parse_object csv":
        return _parse_object(kind, kind.data, _csv_rows)
    if entry_point == "parse_object csv.gz":
        return None if gzipped else _parse_object(kind, gzip.compress(kind.data, mtime=0), _csv_rows)
    if entry_point == "parse_object jsonl":
        return _parse_object(kind, json_lines(kind.data), _json_rows) if kind.jsonl else None
    if entry_point == "parse_object parquet":
        return _parse_object(kind, parquet(kind.parquet[0]), _parquet_rows) if kind.parquet else None
    return _prepare(kind) if kind.dataset in REAL_FILE_NAMES else None


def expected(kind: BadInput, entry_point: str) -> Expected:
    return kind.parquet[1] if entry_point == "parse_object parquet" else kind.expected


def outcomes() -> dict[str, dict[str, Outcome | None]]:
    return {kind.name: {entry: run(kind, entry) for entry in ENTRY_POINTS} for kind in KINDS}


# --- the table -------------------------------------------------------------------------------------------


def _short(reason: str, width: int = 48) -> str:
    reason = reason if len(reason) <= width else reason[: width - 1] + "…"
    # NUL, no-break or zero-width spaces… written as escapes, and no cell ends at a '|'.
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in reason)
    return shown.replace("|", "\\|")


def _cell(outcome: Outcome | None) -> str:
    if outcome is None:
        return "—"
    if outcome.file is not None:
        held = f"{outcome.rows} rows" if outcome.exact else f"≥ {outcome.rows} rows"
        return f"file rejected ({held}): {_short(outcome.file)}"
    if not outcome.rejects:
        return f"{outcome.valid} ok"
    return f"{outcome.valid} ok, {len(outcome.rejects)} rejected: {_short(outcome.rejects[0])}"


def table(results: dict[str, dict[str, Outcome | None]]) -> str:
    lines = [
        "# Bad inputs × entry points",
        "",
        "Generated from `tests/bad_inputs.py` by `PYTHONPATH=pipeline python tests/bad_inputs.py`;",
        "`tests/unit/test_bad_inputs.py` checks every cell against the corpus's expectation and that this",
        "file is current. A cell is what the entry point made of the file: how many rows were valid and",
        "rejected (with the first reason), or the file rejected whole with its reason and the rows it held",
        "(≥: only part of it could be read). — : the entry point does not apply.",
        "",
        f"Known stores: {', '.join(map(str, KNOWN_STORES))} (others are unknown store ids in sales, features",
        f"and traffic). Compressed data may inflate to {MAX_INFLATED_MB} MB (setting `max_inflated_mb`).",
        "",
        "| kind | dataset | what is wrong | " + " | ".join(f"`{entry}`" for entry in ENTRY_POINTS) + " |",
        "|" + "---|" * (3 + len(ENTRY_POINTS)),
    ]
    for kind in KINDS:
        cells = [_cell(results[kind.name][entry]) for entry in ENTRY_POINTS]
        lines.append(
            f"| `{kind.name}` | {kind.dataset} | {_short(kind.about, 200)} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TABLE.write_text(table(outcomes()))
    print(f"wrote {TABLE} ({len(KINDS)} kinds × {len(ENTRY_POINTS)} entry points)")
