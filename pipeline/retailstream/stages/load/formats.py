"""Decode one object — CSV, JSON lines or Parquet, each optionally gzip-compressed — into the contract's
canonical rows and the rejected ones, with the reasons the datasets loader gives.

CSV goes straight through ``datasets.loader.load_lenient``. JSON lines (one object per line, ended by a
line feed) are checked record by record: each record's values, as text, go through the loader's
parsers and rules (``loader.check_rows``), so both text formats obey one set of rules, and a reject
names its JSON line. Parquet is already typed: it is cast to the contract's Arrow schema and checked
with the contract's row rules. A problem of the whole object raises ``DataFileError``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from retailstream.datasets.contract import arrow_schema, contract, pandas_dtypes, row_rules
from retailstream.datasets.loader import (
    MAX_INFLATED_MB,
    DataFileError,
    beyond_the_cap,
    check_rows,
    decode_text,
    inflate,
    load_lenient,
)

# Columns a curated object may carry besides the contract's (lineage written by the Glue job).
LINEAGE_COLUMNS = ("source_key",)


@dataclass(frozen=True)
class RejectedRow:
    row: int  # line number in a text file, row number (1-based) in a Parquet file
    reason: str
    raw: str


@dataclass
class ParsedObject:
    format: str
    valid: pd.DataFrame
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return len(self.valid) + len(self.rejected)


def parse_object(
    data: bytes,
    kind: str,
    name: str,
    known_stores: Collection[int] | None = None,
    max_inflated_mb: float = MAX_INFLATED_MB,
) -> ParsedObject:
    """``max_inflated_mb`` caps what gzip data and Parquet pages may inflate to (setting max_inflated_mb)."""
    content = inflate(data, name, max_inflated_mb)
    suffix = "+gzip" if content is not data else ""
    if content[:4] == b"PAR1":
        return _parquet(content, kind, name, known_stores, "parquet" + suffix, max_inflated_mb)
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return _json_lines(content, kind, name, known_stores, "jsonl" + suffix)
    valid, rejected = load_lenient(
        content, kind, name=name, known_stores=known_stores, max_inflated_mb=max_inflated_mb
    )
    return ParsedObject("csv" + suffix, valid, _from_loader(rejected))


def _from_loader(rejected: pd.DataFrame) -> list[RejectedRow]:
    return [
        RejectedRow(int(line), (f"{column}: " if isinstance(column, str) else "") + reason, raw)
        for line, column, reason, raw in rejected[["line", "column", "reason", "raw"]].itertuples(index=False)
    ]


def _empty_frame(kind: str) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in pandas_dtypes(kind).items()})


def _json_lines(data, kind, name, known_stores, fmt) -> ParsedObject:
    text = decode_text(data, name)
    keys: dict[str, None] = {}
    records: list[tuple[int, dict | str, str]] = []
    # Only a line feed ends a JSON line: str.splitlines would also split at U+2028, U+2029 and other
    # characters a JSON string may hold as they are.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as error:  # RecursionError: nested too deeply
            records.append((number, f"not valid JSON: {error}", line))
            continue
        if not isinstance(record, dict):
            records.append((number, "not a JSON object", line))
            continue
        keys.update(dict.fromkeys(record))
        records.append((number, record, line))
    if not records:
        raise DataFileError(name, "empty file")
    if not keys:  # not one JSON object: nothing to type
        return ParsedObject(fmt, _empty_frame(kind), [RejectedRow(*record) for record in records])
    header = list(keys)
    # Each record's values become text for the loader's parsers, so JSON obeys the same rules as CSV.
    rows = [
        (number, [_text(record.get(key)) for key in header] if isinstance(record, dict) else record, line)
        for number, record, line in records
    ]
    valid, rejected = check_rows(name, kind, header, rows, known_stores)
    return ParsedObject(fmt, valid, _from_loader(rejected))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)  # an object or array: the parsers reject it, quoting it as it was


def _parquet(data, kind, name, known_stores, fmt, max_inflated_mb) -> ParsedObject:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(data))
        # Judge the size from the footer before reading: the pages uncompressed, or 8 bytes a value where
        # run-length encoding keeps even the uncompressed pages small.
        metadata = file.metadata
        pages = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        if max(pages, 8 * metadata.num_rows * metadata.num_columns) > max_inflated_mb * 2**20:
            raise DataFileError(name, beyond_the_cap("Parquet data", max_inflated_mb))
        table = file.read()
    except (pa.ArrowException, OSError) as error:
        raise DataFileError(name, f"not a readable Parquet file: {error}") from None
    dataset = contract(kind)
    problems = []
    missing = [column for column in dataset.names if column not in table.column_names]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    extra = [c for c in table.column_names if c not in dataset.names and c not in LINEAGE_COLUMNS]
    if extra:
        problems.append(f"unexpected column(s) {', '.join(extra)}")
    if problems:
        raise DataFileError(name, f"{kind} file: {'; '.join(problems)}", 1)
    if table.num_rows == 0:
        raise DataFileError(name, "no data rows")
    target = pa.schema([field.with_nullable(True) for field in arrow_schema(kind)])
    try:
        table = table.select(dataset.names).cast(target)
    except pa.ArrowException as error:  # ArrowInvalid, ArrowTypeError, ArrowNotImplementedError…
        raise DataFileError(name, f"column types do not match the {kind} contract: {error}") from None
    # Dates stay in Arrow's unit until the rules have rejected those beyond pandas' nanosecond range.
    frame = table.to_pandas(date_as_object=False)

    reasons: list[str | None] = [None] * len(frame)
    ok = np.ones(len(frame), dtype=bool)

    def reject(broken: np.ndarray, reason: str) -> None:
        fresh = np.flatnonzero(broken & ok)
        for position in fresh.tolist():
            reasons[position] = reason
        ok[fresh] = False

    for rule in row_rules(kind):
        reject(rule.violated_in(frame), rule.message)
    if known_stores is not None and "store" in frame:
        reject(~frame["store"].isin(list(known_stores)).to_numpy(), "store: unknown store id")
    # The frame has a RangeIndex, so index labels are row positions.
    candidates = frame.loc[ok, list(dataset.key)]
    first = candidates.reset_index().groupby(list(dataset.key), sort=False)["index"].transform("min")
    repeated = first.to_numpy() != candidates.index.to_numpy()
    for position, first_position in zip(
        candidates.index[repeated].tolist(), first[repeated].tolist(), strict=True
    ):
        reasons[position] = f"duplicate key ({', '.join(dataset.key)}) of row {first_position + 1}"
        ok[position] = False

    bad = np.flatnonzero(~ok)
    records = frame.iloc[bad].to_dict("records")
    rejected = [
        RejectedRow(position + 1, str(reasons[position]), json.dumps(record, default=str))
        for position, record in zip(bad.tolist(), records, strict=True)
    ]
    valid = frame.loc[ok].reset_index(drop=True).astype(pandas_dtypes(kind))
    return ParsedObject(fmt, valid, rejected)
