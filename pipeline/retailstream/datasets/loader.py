"""One reader for the generator's files and the real Kaggle files, into canonical typed frames.

Accepted input: a path or the raw bytes of an object (optionally gzip-compressed, inflated up to
``max_inflated_mb``), UTF-8 with or without
a BOM, LF / CRLF / CR-only line ends, the Kaggle headers or the canonical snake_case names in any
order, values as ``datasets.textvalues`` spells them (ASCII numbers; dates in one format per file,
yyyy-mm-dd, dd/mm/yyyy or mm/dd/yyyy; ``NA`` or empty for missing values; TRUE/FALSE in any case).
Blank lines are not rows; the header is the first line that is not blank.

``load`` is strict: the first bad row raises ``DataFileError`` naming file, line, column and reason.
``load_lenient`` returns ``(valid, rejected)``: every data line lands in exactly one of them, and a
rejected row keeps its source, line number, column, reason and raw text, ready for quarantine.
Problems of the whole file (empty, header only, wrong delimiter, missing or extra columns, unknown
dataset kind, not UTF-8, dates in more than one format, corrupt gzip data or more than
``max_inflated_mb`` of it) raise ``DataFileError`` in both modes: a file that cannot be parsed never
raises anything else.
"""

from __future__ import annotations

import csv
import gc
import os
import re
import zlib
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np
import pandas as pd

from retailstream.datasets import textvalues
from retailstream.datasets.contract import KINDS, ColumnSpec, contract, pandas_dtypes, row_rules

Source = str | os.PathLike | bytes
# A data row for the parser: its line number, its values as text in header order (or, as a str, why it
# could not be split into values) and its raw text, kept by a reject.
TextRow = tuple[int, list[str] | str, str]

REJECTED_COLUMNS = ["source", "line", "column", "reason", "raw"]

# The file names of both Kaggle publications and of the generator.
KNOWN_FILE_NAMES = {
    "train.csv": "sales",
    "sales data-set.csv": "sales",
    "features.csv": "features",
    "features data set.csv": "features",
    "stores.csv": "stores",
    "stores data-set.csv": "stores",
    "store_traffic.csv": "store_traffic",
}
_FILE_NAME_PATTERNS = (
    (re.compile(r"sales_\d{4}-\d{2}(_v\d+)?\.csv"), "sales"),
    (re.compile(r"features_\d{4}\.csv"), "features"),
)
# The default of Settings.max_inflated_mb (a test keeps them equal): the loader needs no Settings.
MAX_INFLATED_MB = 1024
_GZIP_MAGIC = b"\x1f\x8b"
# A value quoted in a reason is cut after this many characters: a 100 KB field must not become the reason
# (the whole line stays in the reject's raw text).
_SHOWN = 60
_FOREIGN_DELIMITERS = {";": "';'", "\t": "a tab", "|": "'|'"}
_INTEGER = re.compile(textvalues.INTEGER)
_NUMBER = re.compile(textvalues.NUMBER)
_ISO_DATE = re.compile(textvalues.ISO.pattern)
_SLASH_DATE = re.compile(textvalues.SLASH_DATE)


class DataFileError(ValueError):
    """A file, or a row of it, that does not meet the contract; the message says where and why."""

    def __init__(self, source: str, reason: str, line: int | None = None, column: str | None = None):
        self.source = source
        self.reason = reason
        self.line = line
        self.column = column
        where = [source]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {reason}")


class LoadResult(NamedTuple):
    valid: pd.DataFrame
    rejected: pd.DataFrame


def load(
    source: Source,
    kind: str | None = None,
    *,
    name: str | None = None,
    known_stores: Collection[int] | None = None,
    max_inflated_mb: float = MAX_INFLATED_MB,
) -> pd.DataFrame:
    """The canonical frame of an entirely valid file; else ``DataFileError`` for its first bad row.

    ``kind`` defaults to what the header (or the file name) says; ``name`` names a bytes source in
    messages; ``known_stores`` makes a store id outside it a bad row.
    """
    valid, rejected = load_lenient(
        source, kind, name=name, known_stores=known_stores, max_inflated_mb=max_inflated_mb
    )
    if len(rejected):
        first = rejected.iloc[0]
        column = first["column"] if isinstance(first["column"], str) else None
        raise DataFileError(first["source"], first["reason"], int(first["line"]), column)
    return valid


def load_lenient(
    source: Source,
    kind: str | None = None,
    *,
    name: str | None = None,
    known_stores: Collection[int] | None = None,
    max_inflated_mb: float = MAX_INFLATED_MB,
) -> LoadResult:
    """Valid rows as a canonical frame and every other data line as a rejected row (see module doc).

    Both frames carry the dataset kind in ``.attrs["kind"]``.
    """
    label, text = _read_text(source, name, max_inflated_mb)
    with _cycle_collector_paused():
        numbered, header, kind, specs = _file_layout(label, text, kind)
        rows = [(number, _split_row(line), line) for number, line in numbered[1:]]
        return _FileParser(label, kind, header, specs, known_stores).run(rows)


def check_file(
    source: Source, kind: str, *, name: str | None = None, max_inflated_mb: float = MAX_INFLATED_MB
) -> None:
    """Only the checks of the whole file (readable text, a header of ``kind``, rows): ``DataFileError``
    for a file that no row-by-row reader could take; for engines that read the rows themselves."""
    label, text = _read_text(source, name, max_inflated_mb)
    _file_layout(label, text, kind)


def _file_layout(label: str, text: str, kind: str | None):
    """The numbered non-blank lines, the header, the dataset kind and the header's columns."""
    numbered = _non_blank_lines(text)
    if not numbered:
        raise DataFileError(label, "empty file")
    at, line = numbered[0]
    header = _split_header(label, line, at)
    kind = _resolve_kind(label, kind, header, at)
    specs = _header_specs(label, kind, header, at)
    if len(numbered) == 1:
        raise DataFileError(label, "header only, no data rows")
    return numbered, header, kind, specs


def check_rows(
    label: str,
    kind: str,
    header: list[str],
    rows: list[TextRow],
    known_stores: Collection[int] | None = None,
) -> LoadResult:
    """Type and check rows that are already text values (the JSON lines reader gives them) with the
    parsers, rules and reject records of ``load_lenient``; ``header`` names the values of each row."""
    specs = _header_specs(label, kind, header, None)
    with _cycle_collector_paused():
        return _FileParser(label, kind, header, specs, known_stores).run(rows)


def detect_kind(source: Source, *, name: str | None = None, max_inflated_mb: float = MAX_INFLATED_MB) -> str:
    """The dataset kind of a file, from its header (or, when the header is ambiguous, its name)."""
    label, text = _read_text(source, name, max_inflated_mb)
    numbered = _non_blank_lines(text)
    if not numbered:
        raise DataFileError(label, "empty file")
    at, line = numbered[0]
    return _resolve_kind(label, None, _split_header(label, line, at), at)


def count_data_rows(data: bytes, max_inflated_mb: float = MAX_INFLATED_MB) -> tuple[int, bool]:
    """How many data rows a CSV file holds, counted as ``load_lenient`` counts them (the non-blank lines
    after the header), also when it is rejected as a whole: its quarantine record says what it stood for.

    Bytes that are not UTF-8 are counted by their line ends (UTF-16 decoded by its byte order mark).
    ``exact`` is False when only part of gzip data could be inflated (corrupt, or beyond the cap): the
    count is then a lower bound.
    """
    exact = True
    if data[:2] == _GZIP_MAGIC:
        data, problem = _gunzip(data, max_inflated_mb)
        exact = problem is None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")  # any byte decodes, and line ends stay the same bytes
    return max(0, len(_non_blank_lines(text)) - 1), exact


def kind_from_file_name(name: str) -> str | None:
    base = PurePosixPath(name).name.lower().removesuffix(".gz")
    if base in KNOWN_FILE_NAMES:
        return KNOWN_FILE_NAMES[base]
    return next((kind for pattern, kind in _FILE_NAME_PATTERNS if pattern.fullmatch(base)), None)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Parsing allocates millions of small lists that never form cycles; the cycle collector walking
    them repeatedly doubles the time for a file the size of train.csv."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- the file as text -------------------------------------------------------------------------------------


def inflate(data: bytes, label: str, max_inflated_mb: float = MAX_INFLATED_MB) -> bytes:
    """``data``, or its content when it is gzip-compressed (every member, as gunzip does).

    Inflated incrementally: a gzip bomb stops at ``max_inflated_mb`` instead of exhausting memory.
    """
    if data[:2] != _GZIP_MAGIC:
        return data
    content, problem = _gunzip(data, max_inflated_mb)
    if problem is not None:
        raise DataFileError(label, problem)
    return content


def beyond_the_cap(what: str, max_inflated_mb: float) -> str:
    return f"{what} inflates beyond {max_inflated_mb:g} MB (setting max_inflated_mb)"


def _gunzip(data: bytes, max_inflated_mb: float) -> tuple[bytes, str | None]:
    """What inflates cleanly within the cap, and why inflating stopped short (None when it did not)."""
    limit = int(max_inflated_mb * 2**20)
    chunks: list[bytes] = []
    size = 0
    pending = data
    while pending:
        stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip: zlib checks header, CRC and length
        try:
            while not stream.eof:
                before = len(pending)
                chunk = stream.decompress(pending, limit + 1 - size)
                pending = stream.unconsumed_tail
                if not chunk and len(pending) == before:
                    return b"".join(chunks), "corrupt gzip data: it ends before the end of its stream"
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    return b"".join(chunks)[:limit], beyond_the_cap("gzip data", max_inflated_mb)
        except zlib.error as error:
            return b"".join(chunks), f"corrupt gzip data: {error}"
        # Another member may follow; gzip allows zero padding at the end.
        pending = stream.unused_data.lstrip(b"\0")
    return b"".join(chunks), None


def _read_text(source: Source, name: str | None, max_inflated_mb: float) -> tuple[str, str]:
    if isinstance(source, bytes | bytearray | memoryview):
        label, data = name or "<bytes>", bytes(source)
    else:
        label = name or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise DataFileError(label, f"cannot read the file: {error.strerror}") from None
    return label, decode_text(inflate(data, label, max_inflated_mb), label)


def decode_text(data: bytes, label: str) -> str:
    """UTF-8 text without its byte order mark; else ``DataFileError`` naming the first bad line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = len(re.split(rb"\r\n|\r|\n", data[: error.start]))
        raise DataFileError(label, f"not UTF-8 text (byte 0x{data[error.start]:02x})", line) from None
    return text.removeprefix("\ufeff")


def _non_blank_lines(text: str) -> list[tuple[int, str]]:
    """The lines holding more than white space, numbered from 1 (LF, CRLF and CR-only line ends)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]


def _split_header(label: str, line: str, at: int) -> list[str]:
    if "," not in line:
        for delimiter, shown in _FOREIGN_DELIMITERS.items():
            if delimiter in line:
                raise DataFileError(
                    label, f"wrong delimiter: the header is separated by {shown}, expected ','", at
                )
    try:
        fields = next(csv.reader([line]))
    except csv.Error as error:  # e.g. a field beyond the csv module's limit of 128 KiB
        raise DataFileError(label, f"unreadable header: {error}", at) from None
    return [field.strip() for field in fields]


def _normalized(header: str) -> str:
    return re.sub(r"[\s_]", "", header.lower())


def _aliases(kind: str) -> dict[str, ColumnSpec]:
    """Kaggle header or canonical name, case-, space- and underscore-insensitive, to its column."""
    return {
        alias: spec
        for spec in contract(kind).columns
        for alias in (_normalized(spec.header), _normalized(spec.name))
    }


def _resolve_kind(label: str, kind: str | None, header: list[str], at: int) -> str:
    if kind is not None:
        if kind not in KINDS:
            raise DataFileError(label, f"unknown dataset kind {kind!r}; expected one of {', '.join(KINDS)}")
        return kind
    normalized = [_normalized(field) for field in header]
    matched = {k: sum(field in _aliases(k) for field in normalized) for k in KINDS}
    exact = [k for k in KINDS if matched[k] == len(header) == len(contract(k).columns)]
    if len(exact) == 1:
        return exact[0]
    by_name = kind_from_file_name(label)
    if by_name is not None:
        return by_name
    best = max(matched.values())
    candidates = [k for k in KINDS if matched[k] == best]
    if len(candidates) == 1 and best * 2 >= len(contract(candidates[0]).columns):
        return candidates[0]
    raise DataFileError(
        label,
        f"unknown dataset kind: header {_shown(','.join(header))!r} matches none of {', '.join(KINDS)}",
        at,
    )


def _header_specs(label: str, kind: str, header: list[str], at: int | None) -> list[ColumnSpec]:
    aliases = _aliases(kind)
    specs = [aliases.get(_normalized(field)) for field in header]
    names = [spec.name for spec in specs if spec is not None]
    problems = []
    missing = [spec.header for spec in contract(kind).columns if spec.name not in names]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    extra = [_shown(field) for field, spec in zip(header, specs, strict=True) if spec is None]
    if extra:
        problems.append(f"unexpected column(s) {', '.join(extra)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        raise DataFileError(label, f"{kind} file: {'; '.join(problems)}", at)
    return specs


# --- rows ---------------------------------------------------------------------------------------------------


class _FileParser:
    """Types and checks the data rows of one file, keeping the first problem of each row."""

    def __init__(
        self,
        label: str,
        kind: str,
        header: list[str],
        specs: list[ColumnSpec],
        known_stores: Collection[int] | None,
    ) -> None:
        self.label = label
        self.kind = kind
        self.header_of = {spec.name: field for spec, field in zip(specs, header, strict=True)}
        self.specs = specs
        self.known_stores = known_stores

    def run(self, text_rows: list[TextRow]) -> LoadResult:
        rejected: list[tuple[int, str | None, str, str]] = []
        rows: list[list[str]] = []
        kept: list[tuple[int, str]] = []
        width = len(self.specs)
        for number, fields, raw in text_rows:
            if isinstance(fields, str):
                rejected.append((number, None, fields, raw))
            elif len(fields) != width:
                rejected.append((number, None, f"expected {width} fields, found {len(fields)}", raw))
            else:
                rows.append(fields)
                kept.append((number, raw))

        text = {
            spec.name: [value.strip(textvalues.PADDING) for value in values]
            for spec, values in zip(
                self.specs, zip(*rows, strict=True) if rows else [()] * width, strict=True
            )
        }
        problems = _RowProblems(len(rows))
        typed = self._typed_and_checked(text, problems, [number for number, _ in kept])
        for position in np.flatnonzero(problems.found).tolist():
            number, line = kept[position]
            rejected.append((number, problems.columns[position], problems.reasons[position], line))

        valid = ~problems.found
        frame = pd.DataFrame({name: values[valid] for name, values in typed.items()}).astype(
            pandas_dtypes(self.kind)
        )
        rejected.sort(key=lambda entry: entry[0])
        numbers, columns, reasons, lines = zip(*rejected, strict=True) if rejected else ([], [], [], [])
        rejects = pd.DataFrame(
            {
                "source": [self.label] * len(rejected),
                "line": np.array(numbers, dtype=np.int64),
                "column": np.array(columns, dtype=object),
                "reason": np.array(reasons, dtype=object),
                "raw": np.array(lines, dtype=object),
            },
            columns=REJECTED_COLUMNS,
        )
        frame.attrs["kind"] = rejects.attrs["kind"] = self.kind
        return LoadResult(frame, rejects)

    def _typed_and_checked(
        self, text: dict[str, list[str]], problems: _RowProblems, line_numbers: list[int]
    ) -> dict[str, np.ndarray]:
        """The typed columns (in contract order), recording parse failures and broken rules."""
        dataset = contract(self.kind)
        date_format = self._date_format(text, line_numbers)
        typed: dict[str, np.ndarray] = {}
        unparsable: dict[str, np.ndarray] = {}
        for spec in dataset.columns:
            typed[spec.name], unparsable[spec.name] = _parse(spec, text[spec.name], date_format)
        rules = row_rules(self.kind)
        for spec in dataset.columns:
            values, column = text[spec.name], self.header_of[spec.name]
            failure = textvalues.PARSE_FAILURES[spec.type]
            if spec.type == "date":
                failure %= date_format.name if date_format else textvalues.ANY_DATE_FORMAT
            problems.record(unparsable[spec.name], column, failure, values)
            for rule in (rule for rule in rules if rule.column == spec.name):
                problems.record(
                    rule.violated_in(typed), column, rule.reason, None if rule.check == "not_null" else values
                )
            if spec.name == "store" and self.known_stores is not None:
                unknown = ~np.isin(typed["store"], list(self.known_stores)) & ~np.isnan(typed["store"])
                problems.record(unknown, column, "unknown store id", values)

        # Within one file a key appears once; across files the newest file wins later in the pipeline.
        first_line_of: dict[tuple, int] = {}
        repeated = np.zeros(len(line_numbers), dtype=bool)
        first_lines = [""] * len(line_numbers)
        keys = zip(*(typed[name].tolist() for name in dataset.key), strict=True)
        for position, key in enumerate(keys):
            if problems.found[position]:
                continue
            if key in first_line_of:
                repeated[position] = True
                first_lines[position] = str(first_line_of[key])
            else:
                first_line_of[key] = line_numbers[position]
        problems.record(
            repeated,
            ",".join(self.header_of[name] for name in dataset.key),
            f"duplicate key ({', '.join(dataset.key)}) of line",
            first_lines,
            "{reason} {value}",
        )
        return typed

    def _date_format(
        self, text: dict[str, list[str]], line_numbers: list[int]
    ) -> textvalues.DateFormat | None:
        """The file's one date format (``textvalues.decide_date_format``); mixed formats reject the file."""
        names = [spec.name for spec in contract(self.kind).columns if spec.type == "date"]
        values = [value for name in names for value in text[name]]
        try:
            return textvalues.decide_date_format(_date_evidence(values, line_numbers * len(names)))
        except textvalues.MixedDateFormats as error:
            raise DataFileError(self.label, str(error)) from None


class _RowProblems:
    """The first problem (column, reason) of each row; texts are built only for the rows that get one."""

    def __init__(self, count: int) -> None:
        self.found = np.zeros(count, dtype=bool)
        self.reasons: list[str | None] = [None] * count
        self.columns: list[str | None] = [None] * count

    def record(
        self,
        broken: np.ndarray,
        column: str,
        reason: str,
        values: list[str] | None = None,
        template: str = "{reason}, got '{value}'",
    ) -> None:
        fresh = np.flatnonzero(broken & ~self.found)
        for position in fresh.tolist():
            self.reasons[position] = (
                reason if values is None else template.format(reason=reason, value=_shown(values[position]))
            )
            self.columns[position] = column
        self.found[fresh] = True


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN else f"{value[:_SHOWN]}…"


def _split_row(line: str) -> list[str] | str:
    """The fields of a CSV line, or why it cannot be split."""
    if '"' not in line:
        return line.split(",")
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as error:
        return f"malformed quoting: {error}"


def _integer(text: str) -> float:
    if not _INTEGER.fullmatch(text):
        raise ValueError(text)
    return float(text)


def _number(text: str) -> float:
    # What overflows to infinity (1e999) is a number beyond the contract's bounds, rejected by them.
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    return float(text)


def _date_evidence(values: list[str], lines: list[int]) -> textvalues.DateEvidence:
    """What a file's date values show; each example is the first of its kind, named by its line."""
    found: dict[str, str] = {}
    fridays = {textvalues.DAY_FIRST: 0, textvalues.MONTH_FIRST: 0}
    for text, count in Counter(values).items():  # in the order the values first appear
        if _ISO_DATE.fullmatch(text):
            found.setdefault("iso", text)
        elif fields := _SLASH_DATE.fullmatch(text):
            found.setdefault("slash", text)
            if int(fields[1]) > 12:
                found.setdefault("day_first", text)
            if int(fields[2]) > 12:
                found.setdefault("month_first", text)
            for date_format in fridays:
                if _is_friday(text, date_format):
                    fridays[date_format] += count
    return textvalues.DateEvidence(
        **{kind: f"line {lines[values.index(text)]} ('{text}')" for kind, text in found.items()},
        day_first_fridays=fridays[textvalues.DAY_FIRST],
        month_first_fridays=fridays[textvalues.MONTH_FIRST],
    )


def _is_friday(text: str, date_format: textvalues.DateFormat) -> bool:
    try:
        return datetime.strptime(text, date_format.strptime).weekday() == 4
    except ValueError:  # no date in this reading (a month over 12)
        return False


def _week_date(date_format: textvalues.DateFormat | None, text: str) -> np.datetime64:
    if date_format is None or not re.fullmatch(date_format.pattern, text):
        raise ValueError(text)
    # Days, not nanoseconds: year 9999 must reach the date rules, not wrap around (ns end in 2262).
    return np.datetime64(datetime.strptime(text, date_format.strptime).date(), "D")


def _flag(text: str) -> bool:
    return textvalues.FLAGS[text.upper()]


# Per logical type: the parser of one value, the array dtype, the missing value and the failure reason.
_PARSERS = {
    "int": (_integer, "float64", np.nan),  # float until the bad rows are gone, then int32
    "float": (_number, "float64", np.nan),
    "date": (_week_date, "datetime64[D]", np.datetime64("NaT", "D")),
    "bool": (_flag, "object", None),
    "string": (str, "object", None),
}


def _parse(
    spec: ColumnSpec, values: list[str], date_format: textvalues.DateFormat | None
) -> tuple[np.ndarray, np.ndarray]:
    """The column in its type (missing and unparsable values as the missing value) and the unparsable mask."""
    parse, dtype, missing = _PARSERS[spec.type]
    if spec.type == "date":
        parse = partial(parse, date_format)
    # Columns repeat few distinct values (stores, weeks, flags): parse each distinct text once.
    known: dict[str, tuple[object, bool]] = {token: (missing, False) for token in ("", textvalues.MISSING)}
    parsed, unparsable = [], []
    for text in values:
        outcome = known.get(text)
        if outcome is None:
            if text.upper() == textvalues.MISSING:
                outcome = (missing, False)
            else:
                try:
                    outcome = (parse(text), False)
                except (ValueError, KeyError):
                    outcome = (missing, True)
            known[text] = outcome
        parsed.append(outcome[0])
        unparsable.append(outcome[1])
    return np.array(parsed, dtype=dtype), np.array(unparsable, dtype=bool)
