"""Load one curated S3 object into RDS: fast, idempotent, reconciled.

Per object, in one transaction: the valid rows go into a temporary staging table with
``LOAD DATA LOCAL INFILE``, then ``INSERT … SELECT … ON DUPLICATE KEY UPDATE`` merges them on the
table's key, changing a row only when a value really differs (so ``updated_at``, the watermark of the
stage-3 incremental transfer, moves only on a real change). Rejected rows — contract violations, and
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
from dataclasses import asdict, dataclass

from retailstream import clients
from retailstream.datasets.contract import arrow_schema, contract
from retailstream.datasets.loader import DataFileError
from retailstream.loading.formats import ParsedObject, RejectedRow, parse_object
from retailstream.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Load order inside one batch: sales and traffic reference stores.
DATASET_ORDER = ("stores", "store_traffic", "sales")
_REASON_MAX = 255
_RAW_MAX = 60_000


class PoisonObject(Exception):
    """The whole object cannot be loaded; its reason is in ``load_quarantine`` (row 0)."""


@dataclass
class LoadReport:
    bucket: str
    key: str
    dataset: str
    etag: str
    status: str  # loaded | already-loaded | gone | skipped
    format: str = ""
    rows_in: int = 0
    rows_loaded: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def dataset_of(key: str, settings: Settings | None = None) -> str | None:
    """The dataset a curated key belongs to: the last folder named like a dataset prefix."""
    s = settings or get_settings()
    prefixes = {s.sales_prefix: "sales", s.stores_prefix: "stores", s.traffic_prefix: "store_traffic"}
    found = [prefixes[segment] for segment in key.split("/")[:-1] if segment in prefixes]
    return found[-1] if found else None


def connect(settings: Settings | None = None):
    return clients.rds_connect("pipeline", settings=settings, local_infile=True, autocommit=False)


def load_object(bucket: str, key: str, *, conn, s3, settings: Settings | None = None) -> LoadReport:
    """Load ``s3://bucket/key`` through ``conn`` (a ``connect()`` connection, reused across objects)."""
    s = settings or get_settings()
    began = time.monotonic()
    dataset = dataset_of(key, s)
    if dataset is None:
        return LoadReport(bucket, key, "", "", "skipped")
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        # Deleted after the event was sent (a newer write or a cleanup): nothing left to load.
        log.warning("load.gone bucket=%s key=%s", bucket, key)
        return LoadReport(bucket, key, dataset, "", "gone")
    data = response["Body"].read()
    etag = response["ETag"].strip('"')
    report = LoadReport(bucket, key, dataset, etag, "loaded")
    lock = "rs-load-" + hashlib.sha1(key.encode()).hexdigest()[:32]
    with conn.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, 60)", (lock,))
        try:
            conn.begin()
            cur.execute("SELECT source_etag FROM load_audit WHERE source_key = %s", (key,))
            row = cur.fetchone()
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
            _merge(cur, dataset, key, parsed, report)
            _quarantine(cur, dataset, key, parsed.rejected)
            report.rows_in = parsed.rows_in
            report.rows_quarantined = len(parsed.rejected)
            report.seconds = round(time.monotonic() - began, 4)
            _audit(cur, report)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.execute("SELECT RELEASE_LOCK(%s)", (lock,))
    log.info(
        "load.object key=%s dataset=%s format=%s rows_in=%d loaded=%d inserted=%d updated=%d "
        "unchanged=%d quarantined=%d seconds=%.3f",
        key,
        dataset,
        report.format,
        report.rows_in,
        report.rows_loaded,
        report.inserted,
        report.updated,
        report.unchanged,
        report.rows_quarantined,
        report.seconds,
    )
    return report


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


def _merge(cur, dataset: str, key: str, parsed: ParsedObject, report: LoadReport) -> None:
    spec = contract(dataset)
    frame = parsed.valid
    if frame.empty:
        return
    cur.execute(f"DROP TEMPORARY TABLE IF EXISTS `stage_{dataset}`")
    # The target's column types without its indexes and checks: the rows are validated already, and
    # maintaining indexes on a table that is read once would only slow the load down.
    staged = ", ".join(f"`{c}`" for c in [*spec.names, "source_key"])
    cur.execute(f"CREATE TEMPORARY TABLE `stage_{dataset}` SELECT {staged} FROM `{dataset}` LIMIT 0")
    with tempfile.NamedTemporaryFile(suffix=".tsv") as tsv:
        _write_tsv(frame, dataset, tsv.name)
        columns = ", ".join(f"`{c}`" for c in spec.names)
        cur.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE `stage_{dataset}` CHARACTER SET utf8mb4 "
            f"FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' ({columns}) SET source_key = %s",
            (tsv.name, key),
        )
    join = " AND ".join(f"t.`{c}` = s.`{c}`" for c in spec.key)
    cur.execute(f"SELECT COUNT(*) FROM `stage_{dataset}` s JOIN `{dataset}` t ON {join}")
    existing = cur.fetchone()[0]
    affected = cur.execute(merge_statement(dataset))
    # Affected rows: 1 per insert, 2 per changed row, 0 per unchanged row (no CLIENT_FOUND_ROWS).
    report.inserted = len(frame) - existing
    report.updated = (affected - report.inserted) // 2
    report.unchanged = existing - report.updated
    report.rows_loaded = len(frame)
    cur.execute(f"DROP TEMPORARY TABLE `stage_{dataset}`")


def _write_tsv(frame, dataset: str, path: str) -> None:
    """The valid rows as tab-separated text for LOAD DATA: booleans as 0/1, dates ISO, amounts rounded to
    the cent (the RDS column is DECIMAL(12, 2)), written by Arrow's C++ CSV writer."""
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
        "INSERT INTO load_audit (source_key, dataset, source_etag, rows_in, rows_loaded, rows_quarantined, "
        "rows_duplicate, duration_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON DUPLICATE KEY UPDATE dataset = VALUES(dataset), source_etag = VALUES(source_etag), "
        "rows_in = VALUES(rows_in), rows_loaded = VALUES(rows_loaded), "
        "rows_quarantined = VALUES(rows_quarantined), rows_duplicate = VALUES(rows_duplicate), "
        "duration_ms = VALUES(duration_ms), loaded_at = CURRENT_TIMESTAMP(3)",
        (
            report.key,
            report.dataset,
            report.etag,
            report.rows_in,
            report.rows_loaded,
            report.rows_quarantined,
            report.rows_duplicate,
            int(report.seconds * 1000),
        ),
    )
