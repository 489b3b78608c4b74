"""The clean-and-merge job's logic: raw CSV objects → curated Parquet, incrementally, reconciled.

One run:

1. reads the job bookmark (like Glue's) and lists the raw objects it has not processed yet — a new key,
   or a known key with a new ETag;
2. parses each with ``datasets.loader.load_lenient`` (types, both date formats, booleans, trims, the
   contract's rules; sales and traffic rows of a store missing from the stores data are rejected);
3. merges the new rows into the curated partitions they touch — ``sales/year=YYYY/month=MM/``, and one
   object each for stores and store_traffic — where a key (store, dept, week_date) present more than
   once is won by the newest file: the higher ``_vK`` resubmission number, then the later S3
   LastModified. Each curated row keeps the raw key it came from (``source_key``);
4. writes only partitions whose content changed (stores first: sales reference stores in RDS), then
   the rejected rows as JSON lines to the quarantine bucket (reason, source key, line), then the
   bookmark. A rerun with nothing new writes nothing, so it causes no S3 events downstream.

Every run reconciles: rows in = rows curated + rows quarantined + duplicates dropped.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

from retailstream.datasets.contract import arrow_schema, contract, pandas_dtypes
from retailstream.datasets.loader import DataFileError, count_data_rows, load_lenient
from retailstream.s3util import S3Location, iter_objects
from retailstream.settings import Settings

log = logging.getLogger(__name__)

BOOKMARK = "bookmark.json"
# Stores before the datasets that reference them.
ORDER = ("stores", "store_traffic", "sales")
_VERSION = re.compile(r"_v(\d+)$")
_SALES_PARTITION = re.compile(r"/year=(\d{4})/month=(\d{2})/")
_READERS = 8


@dataclass(frozen=True)
class Locations:
    raw: S3Location
    curated: S3Location
    quarantine: S3Location
    state: S3Location  # bookmark and run reports


@dataclass
class DatasetCounts:
    files: int = 0
    files_rejected: int = 0
    rows_in: int = 0
    rows_curated: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_replaced: int = 0  # curated rows of earlier runs superseded by this run's newer files
    files_retracted: int = 0  # raw files no longer delivered
    rows_retracted: int = 0  # curated rows whose key no longer comes from any delivered file

    def reconciles(self) -> bool:
        return self.rows_in == self.rows_curated + self.rows_quarantined + self.rows_duplicate


@dataclass
class RawFile:
    key: str
    relative: str  # the key below the raw prefix, e.g. sales/store=01/sales_2010-02.csv
    etag: str
    modified: float
    data: bytes = b""

    @property
    def rank(self) -> list:
        """Newest file wins: resubmission version first, then upload time, then the key."""
        stem = self.relative.rsplit("/", 1)[-1].split(".", 1)[0]
        match = _VERSION.search(stem)
        return [int(match.group(1)) if match else 1, self.modified, self.key]


@dataclass
class Parsed:
    file: RawFile
    valid: pd.DataFrame | None
    rejected: list[dict] = field(default_factory=list)
    rows_in: int = 0


def dataset_prefixes(s: Settings) -> dict[str, str]:
    return {"stores": s.stores_prefix, "store_traffic": s.traffic_prefix, "sales": s.sales_prefix}


def curated_key(locations: Locations, s: Settings, kind: str, partition: tuple) -> str:
    prefix = dataset_prefixes(s)[kind]
    if kind == "sales":
        year, month = partition
        return locations.curated.key(
            prefix, f"year={year}", f"month={month:02d}", f"sales_{year}-{month:02d}.parquet"
        )
    return locations.curated.key(prefix, f"{kind}.parquet")


def clean_merge(locations: Locations, run_id: str, s3, s: Settings) -> dict:
    """Run the job once; returns its report (also what the runner stores with the run)."""
    bookmark = _read_json(s3, locations.state.bucket, locations.state.key(BOOKMARK)) or {}
    seen: dict[str, dict] = bookmark.get("objects", {})
    if any("partitions" not in entry for entry in seen.values()):
        seen = {}  # a bookmark of an earlier job version, which did not record partitions: redo all once
    # Without a bookmark every curated partition is checked against the raw files, so none outlives them.
    fresh = not seen
    counts = {kind: DatasetCounts() for kind in ORDER}
    written: list[dict] = []
    removed: list[str] = []
    quarantine_objects: list[str] = []
    known_stores = _curated_stores(s3, locations, s)
    stores_changed = False
    for kind in ORDER:
        listing = _listing(s3, locations, s, kind)
        folder = locations.raw.key(dataset_prefixes(s)[kind]) + "/"
        gone = sorted(key for key in seen if key.startswith(folder) and key not in listing)
        # New stores revalidate every sales and traffic row (their store must exist).
        changed = [
            f
            for f in listing.values()
            if (kind != "stores" and stores_changed) or seen.get(f.key, {}).get("etag") != f.etag
        ]
        parsed = _parse_all(
            s3,
            locations,
            kind,
            changed,
            None if kind == "stores" else known_stores,
            run_id,
            s.max_inflated_mb,
        )
        affected = {p: None for key in gone for p in _partitions(seen[key])}
        if fresh:
            affected.update(dict.fromkeys(_curated_partitions(s3, locations, s, kind)))
        for p in parsed:
            affected.update(dict.fromkeys(_partitions(seen.get(p.file.key, {}))))
            affected.update(dict.fromkeys(_partitions_of(kind, p.valid)))
        # Files not delivered again whose rows share a partition with a change: the partition is rebuilt
        # from every file that feeds it, so a retracted winner gives its key back to the next newest file.
        changed_keys = {f.key for f in changed}
        feeding = [
            f
            for f in listing.values()
            if f.key not in changed_keys and affected.keys() & set(_partitions(seen[f.key]))
        ]
        carried = _parse_all(
            s3,
            locations,
            kind,
            feeding,
            None if kind == "stores" else known_stores,
            run_id,
            s.max_inflated_mb,
        )
        c = counts[kind]
        c.files = len(parsed)
        c.files_rejected = sum(1 for p in parsed if p.valid is None)
        c.files_retracted = len(gone)
        c.rows_in = sum(p.rows_in for p in parsed)
        # A file rejected as a whole quarantines all of its rows (one entry names the reason).
        c.rows_quarantined = sum(p.rows_in if p.valid is None else len(p.rejected) for p in parsed)
        w, r = _rebuild_partitions(s3, locations, s, kind, sorted(affected), parsed, carried, c)
        written += w
        removed += r
        if kind == "stores":
            stores_now = _curated_stores(s3, locations, s)
            stores_changed = stores_now != known_stores
            known_stores = stores_now
        quarantine_objects += _write_quarantine(s3, locations, parsed, seen)
        for key in gone:
            if seen[key].get("quarantined"):
                s3.delete_object(Bucket=locations.quarantine.bucket, Key=_quarantine_key(locations, key))
            del seen[key]
        for p in parsed:
            seen[p.file.key] = {
                "etag": p.file.etag,
                "rank": p.file.rank,
                "rows_in": p.rows_in,
                "quarantined": len(p.rejected),
                "run_id": run_id,
                "partitions": [list(partition) for partition in _partitions_of(kind, p.valid)],
            }
    report = _report(run_id, locations, counts, written, removed, quarantine_objects)
    if report["totals"]["files"] or report["totals"]["files_retracted"] or bookmark.get("objects") != seen:
        _write_json(s3, locations.state.bucket, locations.state.key(BOOKMARK), {"objects": seen})
    if not report["totals"]["reconciles"]:
        raise RuntimeError(f"run {run_id} does not reconcile: {report['totals']}")
    return report


def _report(run_id, locations, counts, written, removed, quarantine_objects) -> dict:
    totals = DatasetCounts(
        **{
            name: sum(getattr(c, name) for c in counts.values())
            for name in DatasetCounts.__dataclass_fields__
        }
    )
    return {
        "run_id": run_id,
        "locations": {
            name: getattr(locations, name).uri() for name in ("raw", "curated", "quarantine", "state")
        },
        "datasets": {kind: {**vars(c), "reconciles": c.reconciles()} for kind, c in counts.items()},
        "totals": {**vars(totals), "reconciles": totals.reconciles()},
        "curated_objects": written,
        "removed_objects": removed,
        "quarantine_objects": quarantine_objects,
    }


def nothing_new(locations: Locations, s3, s: Settings) -> bool:
    """Whether a run would find nothing to do: the bookmark (of this job version) lists exactly the raw
    objects there are now, each with the ETag it had. Such a run reads and writes nothing."""
    bookmark = _read_json(s3, locations.state.bucket, locations.state.key(BOOKMARK)) or {}
    seen = bookmark.get("objects", {})
    if not seen or any("partitions" not in entry for entry in seen.values()):
        return False
    listed = {key: f.etag for kind in ORDER for key, f in _listing(s3, locations, s, kind).items()}
    return listed == {key: entry["etag"] for key, entry in seen.items()}


def idle_report(locations: Locations, run_id: str) -> dict:
    """The report of a run that found nothing new (what ``clean_merge`` returns for one)."""
    return _report(run_id, locations, {kind: DatasetCounts() for kind in ORDER}, [], [], [])


def report_key(locations: Locations, run_id: str) -> str:
    return locations.state.key("runs", run_id, "report.json")


def write_report(s3, locations: Locations, run_id: str, report: dict) -> None:
    s3.put_object(
        Bucket=locations.state.bucket,
        Key=report_key(locations, run_id),
        Body=json.dumps(report, indent=1).encode(),
        ContentType="application/json",
    )


def _listing(s3, locations: Locations, s: Settings, kind: str) -> dict[str, RawFile]:
    folder = locations.raw.key(dataset_prefixes(s)[kind])
    files = {}
    for obj in iter_objects(s3, locations.raw.bucket, folder):
        relative = obj["Key"][len(locations.raw.prefix) + 1 :] if locations.raw.prefix else obj["Key"]
        etag = obj["ETag"].strip('"')
        files[obj["Key"]] = RawFile(obj["Key"], relative, etag, obj["LastModified"].timestamp())
    return files


def _curated_stores(s3, locations: Locations, s: Settings) -> frozenset[int] | None:
    stores = _read_parquet(s3, locations.curated.bucket, curated_key(locations, s, "stores", ()))
    return frozenset(stores["store"].tolist()) if stores is not None else None


def _partitions(entry: dict) -> list[tuple]:
    return [tuple(partition) for partition in entry.get("partitions", [])]


def _partitions_of(kind: str, valid: pd.DataFrame | None) -> list[tuple]:
    if valid is None or valid.empty:
        return []
    return sorted({tuple(int(v) for v in partition) for partition in _partition_of(kind)(valid)})


def _curated_partitions(s3, locations: Locations, s: Settings, kind: str) -> list[tuple]:
    """The partitions that have a curated object now (read from the keys)."""
    folder = locations.curated.key(dataset_prefixes(s)[kind])
    if kind != "sales":
        return [()] if any(True for _ in iter_objects(s3, locations.curated.bucket, folder)) else []
    found = set()
    for obj in iter_objects(s3, locations.curated.bucket, folder):
        match = _SALES_PARTITION.search(obj["Key"])
        if match:
            found.add((int(match.group(1)), int(match.group(2))))
    return sorted(found)


def _parse_all(s3, locations, kind, pending, known_stores, run_id, max_inflated_mb) -> list[Parsed]:
    def fetch(file: RawFile) -> RawFile:
        response = s3.get_object(Bucket=locations.raw.bucket, Key=file.key, IfMatch=f'"{file.etag}"')
        file.data = response["Body"].read()
        return file

    with ThreadPoolExecutor(_READERS) as pool:
        fetched = list(pool.map(fetch, sorted(pending, key=lambda f: f.rank)))
    return [_parse(file, kind, known_stores, run_id, max_inflated_mb) for file in fetched]


def _parse(file: RawFile, kind: str, known_stores, run_id: str, max_inflated_mb: float) -> Parsed:
    try:
        valid, rejected = load_lenient(
            file.data, kind, name=file.key, known_stores=known_stores, max_inflated_mb=max_inflated_mb
        )
    except DataFileError as error:
        # The whole file is quarantined: its record says how many rows it held (a lower bound when only
        # part of its gzip data inflated), so the run still reconciles without losing them.
        rows, exact = count_data_rows(file.data, max_inflated_mb)
        record = {"source_key": file.key, "line": error.line, "column": error.column, "reason": error.reason}
        log.warning(
            "clean.file_rejected key=%s reason=%s rows=%d rows_exact=%s", file.key, error.reason, rows, exact
        )
        record.update(raw=None, run_id=run_id, rows=rows, rows_exact=exact)
        return Parsed(file, None, [record], rows)
    records = [
        {
            "source_key": file.key,
            "line": int(line),
            "column": column if isinstance(column, str) else None,
            "reason": reason,
            "raw": raw,
            "run_id": run_id,
        }
        for line, column, reason, raw in rejected[["line", "column", "reason", "raw"]].itertuples(index=False)
    ]
    valid = valid.assign(source_key=file.key)
    return Parsed(file, valid, records, len(valid) + len(records))


def _partition_of(kind: str) -> Callable[[pd.DataFrame], pd.Series | list]:
    if kind == "sales":
        return lambda frame: list(zip(frame["week_date"].dt.year, frame["week_date"].dt.month, strict=True))
    return lambda frame: [()] * len(frame)


def _rebuild_partitions(
    s3,
    locations: Locations,
    s: Settings,
    kind: str,
    partitions: list[tuple],
    parsed: list[Parsed],
    carried: list[Parsed],
    counts: DatasetCounts,
) -> tuple[list[dict], list[str]]:
    """Rebuild each affected partition from every file that feeds it: per key the newest file wins.
    Counts describe this run's files (``parsed``); rows of the other feeding files (``carried``) were
    counted when they arrived. Writes only partitions whose content changed; deletes emptied ones."""
    frames = [
        p.valid.assign(_rank=[p.file.rank] * len(p.valid), _new=new)
        for group, new in ((parsed, True), (carried, False))
        for p in group
        if p.valid is not None and len(p.valid)
    ]
    by_partition: dict[tuple, pd.DataFrame] = {}
    if frames:
        rows = pd.concat(frames, ignore_index=True)
        rows["_partition"] = _partition_of(kind)(rows)
        for partition, group in rows.groupby("_partition", sort=False):
            by_partition[tuple(int(v) for v in partition)] = group
    key_columns = list(contract(kind).key)
    written, removed = [], []
    for partition in partitions:
        target = curated_key(locations, s, kind, partition)
        existing = _read_parquet(s3, locations.curated.bucket, target)
        feeding = by_partition.get(partition)
        if feeding is None:
            winners = None
        else:
            ordered = feeding.assign(_order=[tuple(r) for r in feeding["_rank"]]).sort_values(
                "_order", kind="stable"
            )
            winners = ordered.drop_duplicates(key_columns, keep="last")
            new_rows = int(feeding["_new"].sum())
            counts.rows_curated += int(winners["_new"].sum())
            counts.rows_duplicate += new_rows - int(winners["_new"].sum())
        if existing is not None and winners is None:
            counts.rows_retracted += len(existing)
        elif existing is not None:
            outcome = existing[key_columns].merge(
                winners[[*key_columns, "_new"]], how="left", on=key_columns, indicator=True
            )
            counts.rows_retracted += int((outcome["_merge"] == "left_only").sum())
            counts.rows_replaced += int(outcome["_new"].eq(True).sum())  # superseded by this run's files
        if winners is None:
            if existing is not None:
                s3.delete_object(Bucket=locations.curated.bucket, Key=target)
                removed.append(target)
                log.info("clean.partition_removed key=%s rows=%d", target, len(existing))
            continue
        out = _canonical(winners, kind)
        if existing is not None and out.equals(_canonical(existing, kind)):
            continue
        body = _parquet_bytes(out, kind)
        put = s3.put_object(Bucket=locations.curated.bucket, Key=target, Body=body)
        written.append({"key": target, "rows": len(out), "etag": put["ETag"].strip('"'), "bytes": len(body)})
        log.info("clean.partition_written key=%s rows=%d", target, len(out))
    return written, removed


def _canonical(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    columns = [*contract(kind).names, "source_key"]
    dtypes = {**pandas_dtypes(kind), "source_key": "object"}
    ordered = frame[columns].astype(dtypes).sort_values(list(contract(kind).key))
    return ordered.reset_index(drop=True)


def _parquet_bytes(frame: pd.DataFrame, kind: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(kind).append(pa.field("source_key", pa.string(), nullable=False))
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False).replace_schema_metadata(None)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def _read_parquet(s3, bucket: str, key: str) -> pd.DataFrame | None:
    import pyarrow.parquet as pq

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    frame = pq.read_table(io.BytesIO(body)).to_pandas(date_as_object=False)
    for column in frame.columns:
        if str(frame[column].dtype).startswith("datetime64"):
            frame[column] = frame[column].astype("datetime64[ns]")
    return frame


def _quarantine_key(locations: Locations, raw_key: str) -> str:
    relative = raw_key[len(locations.raw.prefix) + 1 :] if locations.raw.prefix else raw_key
    return locations.quarantine.key(relative + ".rejected.jsonl")


def _write_quarantine(s3, locations: Locations, parsed: list[Parsed], seen: dict) -> list[str]:
    """One JSON-lines object per raw file with rejected rows, named after the raw file; a stale one
    (the file's previous version had rejects, this one has none) is removed."""
    keys = []
    for p in parsed:
        target = _quarantine_key(locations, p.file.key)
        if p.rejected:
            body = "".join(json.dumps(record, default=str) + "\n" for record in p.rejected)
            s3.put_object(Bucket=locations.quarantine.bucket, Key=target, Body=body.encode())
            keys.append(target)
        elif seen.get(p.file.key, {}).get("quarantined"):
            s3.delete_object(Bucket=locations.quarantine.bucket, Key=target)
    return keys


def _read_json(s3, bucket: str, key: str) -> dict | None:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def _write_json(s3, bucket: str, key: str, payload: dict) -> None:
    s3.put_object(
        Bucket=bucket, Key=key, Body=json.dumps(payload, indent=1).encode(), ContentType="application/json"
    )
