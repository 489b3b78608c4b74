"""Stage 1 benchmarks, measured side by side in one run.

- Upload: the 1× incoming tree (sales, stores, traffic files) with the parallel verified uploader vs the
  same uploader with one worker; the idempotent rerun (every file skipped); one large file through the
  multipart path.
- Lambda load: the handler on one 1× curated sales partition (a month of all 45 stores, Parquet) and on
  all 1× sales in one object, each into tables holding none of its rows, against the same rows
  - loaded by a plain LOAD DATA LOCAL INFILE into the same table in one transaction, from a TSV written
    beforehand: the floor (the handler's time ÷ this is the price of its guarantees);
  - inserted row by row (the same parse, one INSERT … ON DUPLICATE KEY UPDATE per row) in one
    transaction, and for the partition also with a commit per row (what a naive loader does; for all of
    1× that would take minutes);
  then a new version of each object with the same rows (its ETag changed: staged, merged, nothing
  updated, nothing deleted).

Everything runs in a private bucket and on store ids no one else uses, and is removed afterwards.
"""

from __future__ import annotations

import io
import random
import tempfile
import uuid
from pathlib import Path

from retailstream import clients
from retailstream.bench.core import Goal, Measurement, timed
from retailstream.settings import Settings

MONTH = "2011-12"  # five Fridays: the largest monthly partition
AUTOCOMMIT = "row-by-row INSERT, autocommit"
ONE_TRANSACTION = "row-by-row INSERT, one transaction"
PLAIN = "plain LOAD DATA LOCAL INFILE"
HANDLER = "handler: first load"
RELOAD = "handler: new version, nothing changed"
MONTH_LOAD, ALL_LOAD = "stage1_lambda_load", "stage1_lambda_load_all_1x"
# Issue 16, "Fast where users wait": the figures when it was opened, and the goals.
GOALS = (
    Goal("Lambda load ÷ plain LOAD DATA, 1× month partition", MONTH_LOAD, HANDLER, PLAIN, True, 1.5, "≈4×"),
    Goal("Lambda load ÷ plain LOAD DATA, all 1× in one object", ALL_LOAD, HANDLER, PLAIN, True, 1.5, "≈4×"),
    Goal(
        "row-by-row INSERT (one transaction) ÷ Lambda load, 1× month partition",
        MONTH_LOAD,
        HANDLER,
        ONE_TRANSACTION,
        False,
        30,
        "17×",
    ),
    Goal(
        "row-by-row INSERT (one transaction) ÷ Lambda load, all 1× in one object",
        ALL_LOAD,
        HANDLER,
        ONE_TRANSACTION,
        False,
        30,
        "17×",
    ),
    # The ceiling of the two rows above: a loader no faster than MariaDB's own LOAD DATA reaches at most
    # this ratio, so a goal above it is out of any loader's reach.
    Goal(
        "ceiling: row-by-row INSERT (one transaction) ÷ plain LOAD DATA, 1× month",
        MONTH_LOAD,
        PLAIN,
        ONE_TRANSACTION,
        False,
        30,
        "—",
    ),
    Goal(
        "ceiling: row-by-row INSERT (one transaction) ÷ plain LOAD DATA, all 1×",
        ALL_LOAD,
        PLAIN,
        ONE_TRANSACTION,
        False,
        30,
        "—",
    ),
)


def run(settings: Settings) -> list[Measurement]:
    s3 = clients.aws_client("s3", settings)
    bucket = f"bench-stage1-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-stage1-") as workdir:
            from retailstream.datasets.generator import GenerationRequest, generate

            generate(Path(workdir), GenerationRequest(scale=1, seed=42))
            incoming = Path(workdir) / "incoming"
            results = _upload(settings, bucket, incoming, Path(workdir))
            results += _lambda_load(settings, s3, bucket, incoming)
        return results
    finally:
        from retailstream.s3util import delete_prefix

        delete_prefix(s3, bucket, "")
        s3.delete_bucket(Bucket=bucket)


def _upload(settings: Settings, bucket: str, incoming: Path, workdir: Path) -> list[Measurement]:
    from retailstream.stages.upload.upload import upload_incoming

    name = "stage1_upload"
    parallel = upload_incoming(settings, source=incoming, bucket=bucket, prefix="parallel")
    single = upload_incoming(settings, source=incoming, bucket=bucket, prefix="single", workers=1)
    rerun = upload_incoming(settings, source=incoming, bucket=bucket, prefix="parallel")
    files = len(parallel.files)
    results = [
        Measurement(name, "1 worker", single.seconds, bytes=single.bytes_uploaded, notes={"files": files}),
        Measurement(
            name,
            f"{settings.upload_workers} workers",
            parallel.seconds,
            bytes=parallel.bytes_uploaded,
            baseline="1 worker",
            notes={"files": files, "verified": "read-back sha256"},
        ),
        Measurement(
            name,
            "rerun, all skipped",
            rerun.seconds,
            baseline="1 worker",
            notes={"files": files, "skipped": rerun.skipped},
        ),
    ]
    big = workdir / "multipart" / "sales" / "store=01" / "sales_all.csv"
    big.parent.mkdir(parents=True)
    with big.open("wb") as out:
        header = b"Store,Dept,Date,Weekly_Sales,IsHoliday\n"
        out.write(header)
        for path in sorted((incoming / "sales").rglob("*.csv")):
            out.write(path.read_bytes()[len(header) :])
    multipart = upload_incoming(settings, source=big.parents[2], bucket=bucket, prefix="multipart")
    (outcome,) = multipart.files
    results.append(
        Measurement(
            "stage1_upload_multipart",
            f"one {outcome.bytes / 2**20:.0f} MB file, {settings.multipart_threshold_mb} MB parts",
            multipart.seconds,
            bytes=outcome.bytes,
            notes={"multipart": outcome.multipart},
        )
    )
    return results


def _lambda_load(settings: Settings, s3, bucket: str, incoming: Path) -> list[Measurement]:
    import pandas as pd

    from retailstream.datasets.loader import load
    from retailstream.rds.schema import ensure_schema

    ensure_schema(settings)
    offset = random.randrange(20_000, 60_000, 100)
    sales = pd.concat([load(p) for p in sorted((incoming / "sales").rglob("sales_*.csv"))])
    sales = sales.drop_duplicates(["store", "dept", "week_date"], keep="last")
    sales["store"] = sales["store"] + offset
    stores = sorted(sales["store"].unique().tolist())
    bench = _LoadBench(settings, s3, bucket, stores)
    try:
        bench.put(
            "bench/stores/stores.csv",
            ("Store,Type,Size\n" + "".join(f"{s},A,150000\n" for s in stores)).encode(),
        )
        bench.invoke("bench/stores/stores.csv")
        month = sales[sales["week_date"].dt.strftime("%Y-%m") == MONTH]
        results = bench.compare(
            MONTH_LOAD,
            f"bench/sales/year={MONTH[:4]}/month={MONTH[5:]}/sales_{MONTH}.parquet",
            month,
            f"1x {MONTH} partition ({len(stores)} stores)",
            autocommit=True,
        )
        results += bench.compare(
            ALL_LOAD,
            "bench/sales/all/sales_1x.parquet",
            sales,
            "all 1x sales in one object",
        )
        return results
    finally:
        bench.forget(stores_too=True)


class _LoadBench:
    """The handler and the row-by-row baselines on the same objects, each starting from empty tables."""

    def __init__(self, settings: Settings, s3, bucket: str, stores: list[int]):
        self.settings, self.s3, self.bucket, self.stores = settings, s3, bucket, stores

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def invoke(self, key: str) -> dict:
        from retailstream.stages.load.handler import handler

        record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}
        record["s3"] = {"bucket": {"name": self.bucket}, "object": {"key": key}}
        (result,) = handler({"Records": [record]}, None)["results"]
        return result

    def forget(self, stores_too: bool = False) -> None:
        marks = ",".join(["%s"] * len(self.stores))
        with clients.rds_cursor("pipeline", settings=self.settings) as cur:
            cur.execute(f"DELETE FROM sales WHERE store IN ({marks})", self.stores)
            cur.execute("DELETE FROM load_audit WHERE source_key LIKE %s", ("bench/%",))
            if stores_too:
                cur.execute(f"DELETE FROM stores WHERE store IN ({marks})", self.stores)

    def parsed_rows(self, key: str):
        from retailstream.stages.load.formats import parse_object

        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return parse_object(body, "sales", key, known_stores=set(self.stores)).valid

    def row_by_row(self, key: str, autocommit: bool) -> int:
        """The naive loader: parse the same object the same way, then one INSERT per row."""
        rows = self.parsed_rows(key)
        conn = clients.rds_connect("pipeline", settings=self.settings, autocommit=autocommit)
        with conn, conn.cursor() as cur:
            for r in rows.itertuples(index=False):
                cur.execute(
                    "INSERT INTO sales (store, dept, week_date, weekly_sales, is_holiday, source_key) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                    "weekly_sales = VALUES(weekly_sales), is_holiday = VALUES(is_holiday)",
                    (
                        int(r.store),
                        int(r.dept),
                        r.week_date.date(),
                        round(r.weekly_sales, 2),
                        r.is_holiday,
                        key,
                    ),
                )
            conn.commit()
        return len(rows)

    def plain_load(self, tsv: str, key: str) -> int:
        """LOAD DATA LOCAL INFILE of a ready TSV into ``sales`` and commit, on the loader's own account."""
        from retailstream.stages.load.rds_loader import connect

        conn = connect(self.settings)
        with conn, conn.cursor() as cur:
            rows = cur.execute(
                "LOAD DATA LOCAL INFILE %s INTO TABLE sales CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' "
                "(store, dept, week_date, weekly_sales, is_holiday) SET source_key = %s",
                (tsv, key),
            )
            conn.commit()
        return rows

    def compare(self, name: str, key: str, frame, label: str, autocommit: bool = False) -> list[Measurement]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from retailstream.datasets.contract import arrow_schema
        from retailstream.stages.load.rds_loader import _write_tsv

        buffer = io.BytesIO()
        pq.write_table(
            pa.Table.from_pandas(frame, schema=arrow_schema("sales"), preserve_index=False), buffer
        )
        self.put(key, buffer.getvalue())
        baselines = [(AUTOCOMMIT, True)] if autocommit else []
        baselines.append((ONE_TRANSACTION, False))
        results = []
        for variant, per_row_commit in baselines:
            seconds, rows = timed(lambda commit=per_row_commit: self.row_by_row(key, commit))
            results.append(Measurement(name, variant, seconds, rows=rows, notes={"file": label}))
            self.forget()
        with tempfile.NamedTemporaryFile(suffix=".tsv") as tsv:
            _write_tsv(self.parsed_rows(key), "sales", tsv.name)  # as the handler writes it
            plain, rows = timed(lambda: self.plain_load(tsv.name, key))
        results.append(Measurement(name, PLAIN, plain, rows=rows, baseline=ONE_TRANSACTION))
        self.forget()
        seconds, fast = timed(lambda: self.invoke(key))
        faster = {
            f"vs {m.variant}": f"{m.seconds / seconds:.1f}x" for m in results if m.variant == AUTOCOMMIT
        }
        results.append(
            Measurement(
                name,
                HANDLER,
                seconds,
                rows=fast["rows_loaded"],
                baseline=ONE_TRANSACTION,
                notes={
                    "inserted": fast["inserted"],
                    "time vs plain LOAD DATA": f"{seconds / plain:.2f}x",
                    **faster,
                },
            )
        )
        with clients.rds_cursor("pipeline", settings=self.settings) as cur:
            cur.execute("UPDATE load_audit SET source_etag = 'bench-earlier' WHERE source_key = %s", (key,))
        seconds, again = timed(lambda: self.invoke(key))
        results.append(
            Measurement(
                name,
                RELOAD,
                seconds,
                rows=again["rows_loaded"],
                baseline=ONE_TRANSACTION,
                notes={"unchanged": again["unchanged"], "time vs plain LOAD DATA": f"{seconds / plain:.2f}x"},
            )
        )
        self.forget()
        return results
