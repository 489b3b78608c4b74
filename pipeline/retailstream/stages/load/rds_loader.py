"""Load one curated S3 object into RDS: fast, idempotent, reconciled.

A curated object is the whole truth about the rows it holds (its partition): loading it makes the
table's rows of that object equal to the object's rows. Per object, in one transaction: the valid rows
go into a temporary staging table with ``LOAD DATA LOCAL INFILE`` (a warning — a value the column cannot
hold — fails the load), then ``INSERT … SELECT … ON DUPLICATE KEY UPDATE`` merges them on the table's
key, changing a row only when a value really differs (so ``updated_at``, the watermark of the stage-3
incremental transfer, moves only on a real change), and the object's earlier rows it no longer holds are
deleted. An object that is gone from S3 (its event may be a removal, or arrive after one) takes all its
rows along. Every deletion is logged in ``load_deletions`` — timestamps cannot show a deleted row, so the
transfer reads this log to know it must rebuild a Hive table. Rejected rows — contract violations, and
sales/traffic rows whose store is not in ``stores`` — go to ``load_quarantine`` with reason, source key
and row. A ``load_audit`` row per object records the source ETag and rows in = loaded + quarantined +
duplicate; the same ETag delivered again is a no-op.

An object that cannot be loaded at all (empty, header only, wrong delimiter, missing or extra columns,
truncated gzip, unreadable Parquet…) gets one ``load_quarantine`` entry (row 0, the reason) and raises
``PoisonObject``, so the event is retried and then parked in the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from retailstream import clients
from retailstream.datasets.contract import arrow_schema, contract
from retailstream.datasets.loader import DataFileError
from retailstream.settings import Settings
from retailstream.stages.load.formats import ParsedObject, RejectedRow, parse_object

log = logging.getLogger(__name__)

# Load order inside one batch: sales and traffic reference stores.
DATASET_ORDER = ("stores", "store_traffic", "sales")
_REASON_MAX = 255
_RAW_MAX = 60_000


class PoisonObject(Exception):
    """The whole object cannot be loaded; its reason is in ``load_quarantine`` (row 0)."""


class LoadWarnings(ValueError):
    """MariaDB warned while loading (a value clipped or truncated): the rows are not what was sent."""


class LoadLockTimeout(RuntimeError):
    """Another load of the same object held its lock too long; the event is retried."""


# Tables whose rows reference a store: deleting a store deletes them too (ON DELETE CASCADE).
STORE_CHILDREN = ("sales", "store_traffic")
LOCK_SECONDS = 60


@dataclass
class LoadReport:
    bucket: str
    key: str
    dataset: str
    etag: str
    status: str  # loaded | already-loaded | retracted | gone | skipped
    format: str = ""
    rows_in: int = 0
    rows_loaded: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_deleted: int = 0  # earlier rows of this object it no longer holds (or all, once it is gone)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def dataset_of(key: str, settings: Settings) -> str | None:
    """The dataset a curated key belongs to: the last folder named like a dataset prefix."""
    s = settings
    prefixes = {s.sales_prefix: "sales", s.stores_prefix: "stores", s.traffic_prefix: "store_traffic"}
    found = [prefixes[segment] for segment in key.split("/")[:-1] if segment in prefixes]
    return found[-1] if found else None


def connect(settings: Settings):
    """The loader's own account: DML and temporary tables in the pipeline database, no DDL."""
    return clients.rds_connect("loader", settings=settings, local_infile=True, autocommit=False)


def load_object(bucket: str, key: str, *, conn, s3, settings: Settings) -> LoadReport:
    """Make the RDS rows of ``s3://bucket/key`` what the object holds now, through ``conn`` (a
    ``connect()`` connection, reused across objects); an object gone from S3 retracts its rows."""
    s = settings
    began = time.monotonic()
    dataset = dataset_of(key, s)
    if dataset is None:
        return LoadReport(bucket, key, "", "", "skipped")
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        data, etag = None, ""
    else:
        data, etag = response["Body"].read(), response["ETag"].strip('"')
    report = LoadReport(bucket, key, dataset, etag, "loaded" if data is not None else "retracted")
    with _object_lock(conn, key), conn.cursor() as cur:
        try:
            conn.begin()
            cur.execute("SELECT source_etag FROM load_audit WHERE source_key = %s", (key,))
            row = cur.fetchone()
            if data is None:
                if row is None:  # never loaded, or retracted already
                    conn.rollback()
                    report.status = "gone"
                    return report
                _delete_rows(cur, dataset, key, report, keep_staged=False)
                cur.execute("DELETE FROM load_quarantine WHERE source_key = %s", (key,))
                cur.execute("DELETE FROM load_audit WHERE source_key = %s", (key,))
                conn.commit()
                log.info("load.retracted key=%s dataset=%s rows=%d", key, dataset, report.rows_deleted)
                return report
            if row and row[0] == etag:
                conn.rollback()
                report.status = "already-loaded"
                return report
            known = None
            if dataset != "stores":
                cur.execute("SELECT store FROM stores")
                known = {store for (store,) in cur.fetchall()}
            try:
                parsed = parse_object(data, dataset, key, known, s.max_inflated_mb)
            except DataFileError as error:
                _quarantine(cur, dataset, key, [RejectedRow(0, error.reason, "")])
                conn.commit()
                raise PoisonObject(str(error)) from error
            report.format = parsed.format
            try:
                # An object never loaded whose keys are all new needs no staging and no merge: its rows
                # go straight into the table, as fast as a plain LOAD DATA.
                fresh = row is None and _insert_new(cur, dataset, key, parsed, report)
                if not fresh:
                    _merge(cur, dataset, key, parsed, report)
            except LoadWarnings as error:  # quarantined like an unreadable object, nothing else kept
                conn.rollback()
                conn.begin()
                _quarantine(cur, dataset, key, [RejectedRow(0, str(error), "")])
                conn.commit()
                raise PoisonObject(f"{key}: {error}") from error
            # The rows of an object carry its key only once it was loaded, and its audit row is written and
            # removed with them: an object without one has no earlier rows to delete.
            if row is not None:
                _delete_rows(cur, dataset, key, report, keep_staged=not parsed.valid.empty)
            cur.execute(f"DROP TEMPORARY TABLE IF EXISTS `stage_{dataset}`")
            _quarantine(cur, dataset, key, parsed.rejected)
            report.rows_in = parsed.rows_in
            report.rows_quarantined = len(parsed.rejected)
            report.seconds = round(time.monotonic() - began, 4)
            _audit(cur, report)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    log.info(
        "load.object key=%s dataset=%s format=%s rows_in=%d loaded=%d inserted=%d updated=%d "
        "unchanged=%d deleted=%d quarantined=%d seconds=%.3f",
        key,
        dataset,
        report.format,
        report.rows_in,
        report.rows_loaded,
        report.inserted,
        report.updated,
        report.unchanged,
        report.rows_deleted,
        report.rows_quarantined,
        report.seconds,
    )
    return report


@contextmanager
def _object_lock(conn, key: str) -> Iterator[None]:
    """One load per object at a time (two events of the same key may be handled concurrently)."""
    lock = "rs-load-" + hashlib.sha1(key.encode()).hexdigest()[:32]
    with conn.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, %s)", (lock, LOCK_SECONDS))
        if cur.fetchone()[0] != 1:
            raise LoadLockTimeout(f"{key}: another load held its lock for {LOCK_SECONDS}s")
        try:
            yield
        finally:
            cur.execute("SELECT RELEASE_LOCK(%s)", (lock,))


def _delete_rows(cur, dataset: str, key: str, report: LoadReport, *, keep_staged: bool) -> None:
    """Delete the rows ``key`` delivered before that it does not hold now (with ``keep_staged``: those
    not in the staging table; else all of them), and log what was deleted."""
    spec = contract(dataset)
    if keep_staged:
        join = " AND ".join(f"t.`{c}` = s.`{c}`" for c in spec.key)
        doomed = (
            f"FROM `{dataset}` t LEFT JOIN `stage_{dataset}` s ON {join} "
            f"WHERE t.source_key = %s AND s.`{spec.key[0]}` IS NULL"
        )
    else:
        doomed = f"FROM `{dataset}` t WHERE t.source_key = %s"
    cascaded = {}
    if dataset == "stores":  # their sales and traffic go with them (ON DELETE CASCADE)
        for child in STORE_CHILDREN:
            cur.execute(
                f"SELECT COUNT(*) FROM `{child}` c WHERE c.store IN (SELECT t.store {doomed})", (key,)
            )
            cascaded[child] = cur.fetchone()[0]
    report.rows_deleted = cur.execute(f"DELETE t {doomed}", (key,))
    for table, rows in ((dataset, report.rows_deleted), *cascaded.items()):
        if rows:
            cur.execute(
                "INSERT INTO load_deletions (table_name, source_key, rows_deleted) VALUES (%s, %s, %s)",
                (table, key, rows),
            )


def loaded_versions(keys: list[str], settings: Settings) -> dict[str, str]:
    """The ETag ``load_audit`` records for each of ``keys`` that is loaded (read as the analyst)."""
    if not keys:
        return {}
    marks = ",".join(["%s"] * len(keys))
    with clients.rds_cursor("analyst", settings=settings) as cur:
        cur.execute(f"SELECT source_key, source_etag FROM load_audit WHERE source_key IN ({marks})", keys)
        return dict(cur.fetchall())


class RdsOutOfStep(RuntimeError):
    """RDS does not hold what the curated bucket does after a clean-and-merge run."""


def reconcile_with_curated(written: list[dict], removed: list[str], settings: Settings) -> dict:
    """Check that RDS holds exactly what a clean-and-merge run left in S3: every object it wrote
    (``{"key", "etag", "rows"}``) loaded in that version, every object it removed no longer loaded.
    Returns the counts; raises ``RdsOutOfStep`` naming the first differences."""
    loaded = loaded_versions([o["key"] for o in written] + removed, settings)
    missing = [o["key"] for o in written if loaded.get(o["key"]) != o["etag"]]
    lingering = [key for key in removed if key in loaded]
    if missing or lingering:
        raise RdsOutOfStep(
            f"RDS does not match the latest Glue run: {len(missing)} curated object(s) not loaded "
            f"{missing[:5]}, {len(lingering)} removed object(s) still loaded {lingering[:5]} "
            f"(see the DLQ {settings.events_dlq} and load_quarantine)"
        )
    return {"curated_rows": sum(o["rows"] for o in written), "removed_objects": len(removed)}


def merge_statement(dataset: str) -> str:
    """INSERT … SELECT from the staging table that changes an existing row only when a value differs.

    MySQL applies the assignments left to right, so ``source_key`` is decided first, while the old
    values are still in place; when nothing differs no column changes and ``updated_at`` stays."""
    spec = contract(dataset)
    values = [name for name in spec.names if name not in spec.key]
    target = f"`{dataset}`"
    same = " AND ".join(f"{target}.`{c}` <=> VALUES(`{c}`)" for c in values)
    columns = ", ".join(f"`{c}`" for c in [*spec.names, "source_key"])
    selected = ", ".join(f"s.`{c}`" for c in [*spec.names, "source_key"])
    updates = ", ".join(
        [f"{target}.source_key = IF({same}, {target}.source_key, VALUES(source_key))"]
        + [f"{target}.`{c}` = VALUES(`{c}`)" for c in values]
    )
    return (
        f"INSERT INTO {target} ({columns}) SELECT {selected} FROM `stage_{dataset}` s "
        f"ON DUPLICATE KEY UPDATE {updates}"
    )


def _insert_new(cur, dataset: str, key: str, parsed: ParsedObject, report: LoadReport) -> bool:
    """Load the rows straight into the table when none of their keys is there yet; False (nothing
    loaded) when some may be: no row of the table may lie within the bounding box of the object's keys
    (a range query on the key or an index, empty for a new partition)."""
    spec = contract(dataset)
    frame = parsed.valid
    if frame.empty:
        return False
    within = " AND ".join(f"`{c}` BETWEEN %s AND %s" for c in spec.key)
    bounds = [_sql_value(bound) for c in spec.key for bound in (frame[c].min(), frame[c].max())]
    cur.execute(f"SELECT 1 FROM `{dataset}` WHERE {within} LIMIT 1", bounds)
    if cur.fetchone() or not _load_unless_taken(cur, dataset, key, frame):
        return False
    report.inserted = report.rows_loaded = len(frame)
    return True


def _load_unless_taken(cur, dataset: str, key: str, frame) -> bool:
    """LOAD DATA the rows into the table itself; False, with nothing loaded, when the load raised any
    warning. LOCAL implies IGNORE, so LOAD DATA skips a row whose key another load inserted since the
    check, or whose store is missing, with a warning instead of an error: this load is then undone and
    the merge takes over, which refuses or retries the object exactly as without this shortcut."""
    cur.execute("SAVEPOINT load_new")
    if _load_data(cur, dataset, dataset, key, frame):
        cur.execute("ROLLBACK TO SAVEPOINT load_new")
        return False
    return True


def _sql_value(value):
    """A pandas/numpy scalar as the Python value PyMySQL can send."""
    return value.date() if hasattr(value, "date") else value.item()


def _merge(cur, dataset: str, key: str, parsed: ParsedObject, report: LoadReport) -> None:
    spec = contract(dataset)
    frame = parsed.valid
    if frame.empty:
        return
    cur.execute(f"DROP TEMPORARY TABLE IF EXISTS `stage_{dataset}`")
    # The target's column types without its other indexes and checks: the rows are validated already.
    staged = ", ".join(f"`{c}`" for c in [*spec.names, "source_key"])
    primary = ", ".join(f"`{c}`" for c in spec.key)
    # Its primary key is the table's: the delete of the rows an object no longer holds joins on it. The
    # rows arrive in key order, so the key costs the load nothing.
    cur.execute(
        f"CREATE TEMPORARY TABLE `stage_{dataset}` (PRIMARY KEY ({primary})) "
        f"SELECT {staged} FROM `{dataset}` LIMIT 0"
    )
    _refuse(cur, _load_data(cur, f"stage_{dataset}", dataset, key, frame))
    join = " AND ".join(f"t.`{c}` = s.`{c}`" for c in spec.key)
    cur.execute(f"SELECT COUNT(*) FROM `stage_{dataset}` s JOIN `{dataset}` t ON {join}")
    existing = cur.fetchone()[0]
    affected = cur.execute(merge_statement(dataset))
    # Affected rows: 1 per insert, 2 per changed row, 0 per unchanged row (no CLIENT_FOUND_ROWS).
    report.inserted = len(frame) - existing
    report.updated = (affected - report.inserted) // 2
    report.unchanged = existing - report.updated
    report.rows_loaded = len(frame)


def _load_data(cur, table: str, dataset: str, key: str, frame) -> int:
    """LOAD DATA LOCAL INFILE the rows into ``table``, all with ``source_key = key``; the number of
    warnings it raised."""
    columns = ", ".join(f"`{c}`" for c in contract(dataset).names)
    with tempfile.NamedTemporaryFile(suffix=".tsv") as tsv:
        _write_tsv(frame, dataset, tsv.name)
        cur.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 "
            f"FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' ({columns}) SET source_key = %s",
            (tsv.name, key),
        )
    return cur.warning_count


def _refuse(cur, warnings: int) -> None:
    """A value the column cannot hold was clipped or truncated: refuse the object."""
    if warnings:
        cur.execute("SHOW WARNINGS LIMIT 3")
        shown = "; ".join(f"{message}" for _, _, message in cur.fetchall())
        raise LoadWarnings(f"the load raised {warnings} warning(s): {shown}")


def _write_tsv(frame, dataset: str, path: str) -> None:
    """The valid rows as tab-separated text for LOAD DATA, in key order: booleans as 0/1, dates ISO,
    amounts rounded to the cent (the RDS column is DECIMAL(12, 2)), written by Arrow's C++ CSV writer."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    schema = pa.schema(
        [
            pa.field(f.name, pa.int8() if pa.types.is_boolean(f.type) else f.type)
            for f in arrow_schema(dataset)
        ]
    )
    out = frame.copy()
    for field in schema:
        if pa.types.is_int8(field.type):
            out[field.name] = out[field.name].astype("int8")
        elif pa.types.is_floating(field.type):
            out[field.name] = out[field.name].round(2)
    table = pa.Table.from_pandas(out, schema=schema, preserve_index=False)
    table = table.sort_by([(name, "ascending") for name in contract(dataset).key])
    pa_csv.write_csv(
        table, path, pa_csv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    )


def _quarantine(cur, dataset: str, key: str, rejected: list[RejectedRow]) -> None:
    """Replace the object's quarantine entries: they describe the version just loaded."""
    cur.execute("DELETE FROM load_quarantine WHERE source_key = %s", (key,))
    if not rejected:
        return
    cur.executemany(
        "INSERT INTO load_quarantine (dataset, source_key, source_row, reason, raw) "
        "VALUES (%s, %s, %s, %s, %s) "
        "ON DUPLICATE KEY UPDATE dataset = VALUES(dataset), reason = VALUES(reason), raw = VALUES(raw), "
        "quarantined_at = CURRENT_TIMESTAMP(3)",
        [(dataset, key, r.row, r.reason[:_REASON_MAX], r.raw[:_RAW_MAX]) for r in rejected],
    )


def _audit(cur, report: LoadReport) -> None:
    cur.execute(
        "INSERT INTO load_audit (source_key, source_bucket, dataset, source_etag, rows_in, rows_loaded, "
        "rows_quarantined, rows_duplicate, duration_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON DUPLICATE KEY UPDATE source_bucket = VALUES(source_bucket), dataset = VALUES(dataset), "
        "source_etag = VALUES(source_etag), "
        "rows_in = VALUES(rows_in), rows_loaded = VALUES(rows_loaded), "
        "rows_quarantined = VALUES(rows_quarantined), rows_duplicate = VALUES(rows_duplicate), "
        "duration_ms = VALUES(duration_ms), loaded_at = CURRENT_TIMESTAMP(3)",
        (
            report.key,
            report.bucket,
            report.dataset,
            report.etag,
            report.rows_in,
            report.rows_loaded,
            report.rows_quarantined,
            report.rows_duplicate,
            int(report.seconds * 1000),
        ),
    )
