"""The loader Lambda against moto, SQS and MariaDB.

The real path: an object written to the curated bucket → S3 notification → SQS → the lab's
events-runner service → ``handler`` → RDS. Bad-input variants are loaded through direct S3 events from a
private bucket (no notification), so each one's outcome is observed on its own.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stage1_support import purge_bucket_prefix, purge_rds_keys, purge_rds_stores, unique

from retailstream import clients
from retailstream.datasets.contract import arrow_schema
from retailstream.emulation.sqs_event_source import drain
from retailstream.rds.schema import ensure_schema
from retailstream.s3util import iter_objects
from retailstream.stages.load.handler import handler, s3_objects
from retailstream.stages.load.rds_loader import PoisonObject

WEEKS = pd.date_range("2010-02-05", periods=8, freq="7D")  # Fridays


@pytest.fixture(scope="module")
def stores(lab):
    """Two store ids nobody else uses, loaded into RDS `stores` through a direct event."""
    ensure_schema()
    base = random.randrange(20_000, 60_000, 10)
    ids = [base, base + 1]
    yield ids
    purge_rds_stores(ids)


@pytest.fixture
def bucket(lab):
    """A private bucket without notifications: only direct invocations load from it."""
    s3 = clients.aws_client("s3")
    name = unique("load")
    s3.create_bucket(Bucket=name)
    yield name
    purge_rds_keys([o["Key"] for o in iter_objects(s3, name, "")])
    purge_bucket_prefix(name, "")
    s3.delete_bucket(Bucket=name)


def sales_frame(store: int, depts=(1, 2, 3)) -> pd.DataFrame:
    rows = [(store, d, w, round(1000.0 + d * 10 + i, 2), i == 1) for d in depts for i, w in enumerate(WEEKS)]
    return pd.DataFrame(rows, columns=["store", "dept", "week_date", "weekly_sales", "is_holiday"])


def stores_csv(ids: list[int]) -> bytes:
    return ("Store,Type,Size\r" + "".join(f"{i},B,{100_000 + i}\r" for i in ids)).encode()


def parquet_bytes(frame: pd.DataFrame, kind: str = "sales") -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, schema=arrow_schema(kind), preserve_index=False), buffer)
    return buffer.getvalue()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.assign(
        week_date=frame.week_date.dt.strftime("%Y-%m-%d"),
        is_holiday=frame.is_holiday.map({True: "TRUE", False: "FALSE"}),
    )
    return (
        out.rename(
            columns={"store": "Store", "dept": "Dept", "week_date": "Date", "weekly_sales": "Weekly_Sales"}
        )
        .to_csv(index=False, float_format="%.2f")
        .replace("is_holiday", "IsHoliday")
        .encode()
    )


def jsonl_bytes(frame: pd.DataFrame) -> bytes:
    return (
        frame.assign(week_date=frame.week_date.dt.strftime("%d/%m/%Y"))
        .to_json(orient="records", lines=True)
        .encode()
    )


def direct_event(bucket: str, key: str) -> dict:
    encoded = key.replace("/", "%2F").replace("=", "%3D")
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": encoded}},
            }
        ]
    }


def rds(sql: str, *params):
    with clients.rds_cursor("pipeline") as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def put_and_invoke(bucket: str, key: str, body: bytes) -> dict:
    clients.aws_client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    (result,) = handler(direct_event(bucket, key), None)["results"]
    return result


def test_every_format_loads_the_same_rows(bucket, stores):
    prefix = unique("fmt")
    store = stores[0]
    assert put_and_invoke(bucket, f"{prefix}/stores/stores.csv", stores_csv(stores))["rows_loaded"] == 2
    frame = sales_frame(store)
    variants = {
        "a.csv": csv_bytes(frame),
        "b.csv.gz": gzip.compress(csv_bytes(frame)),
        "c.jsonl": jsonl_bytes(frame),
        "d.jsonl.gz": gzip.compress(jsonl_bytes(frame)),
        "e.parquet": parquet_bytes(frame),
    }
    formats = {}
    for name, body in variants.items():
        result = put_and_invoke(bucket, f"{prefix}/sales/{name}", body)
        formats[name] = result["format"]
        assert (result["rows_in"], result["rows_loaded"], result["rows_quarantined"]) == (24, 24, 0), name
    assert formats == {
        "a.csv": "csv",
        "b.csv.gz": "csv+gzip",
        "c.jsonl": "jsonl",
        "d.jsonl.gz": "jsonl+gzip",
        "e.parquet": "parquet",
    }
    loaded = pd.DataFrame(
        rds(
            "SELECT dept, week_date, weekly_sales, is_holiday FROM sales WHERE store = %s ORDER BY 1, 2",
            store,
        ),
        columns=["dept", "week_date", "weekly_sales", "is_holiday"],
    )
    assert len(loaded) == 24
    assert (
        loaded.weekly_sales.astype(float).tolist()
        == frame.sort_values(["dept", "week_date"]).weekly_sales.tolist()
    )
    assert loaded.is_holiday.sum() == 3


def test_reload_changes_only_rows_whose_values_changed(bucket, stores):
    prefix = unique("idem")
    store = stores[1]
    put_and_invoke(bucket, f"{prefix}/stores/stores.csv", stores_csv(stores))
    key = f"{prefix}/sales/year=2010/month=02/sales.parquet"
    frame = sales_frame(store)
    first = put_and_invoke(bucket, key, parquet_bytes(frame))
    assert first["inserted"] == 24
    stamps = dict(rds("SELECT CONCAT(dept, ' ', week_date), updated_at FROM sales WHERE store = %s", store))

    again = handler(direct_event(bucket, key), None)["results"][0]
    assert again["status"] == "already-loaded"  # same ETag: a no-op

    time.sleep(0.01)
    frame.loc[0, "weekly_sales"] = 5.55  # one real change, everything else identical, new ETag
    changed = put_and_invoke(bucket, key, parquet_bytes(frame))
    assert (changed["inserted"], changed["updated"], changed["unchanged"]) == (0, 1, 23)
    after = dict(rds("SELECT CONCAT(dept, ' ', week_date), updated_at FROM sales WHERE store = %s", store))
    moved = [k for k in after if after[k] != stamps[k]]
    assert moved == ["1 2010-02-05"]
    assert rds("SELECT COUNT(*) FROM sales WHERE store = %s", store) == ((24,),)
    assert rds("SELECT rows_in, rows_loaded FROM load_audit WHERE source_key = %s", key) == ((24, 24),)


def test_a_new_object_loads_straight_unless_its_keys_are_taken(bucket, stores, settings):
    """A never-loaded object whose keys are all new goes straight into the table; one holding rows that
    another object loaded is merged (those rows unchanged); a key inserted by another load between the
    check and the load makes the straight load step aside with nothing loaded."""
    from retailstream.stages.load.rds_loader import _load_unless_taken, connect

    store = stores[0] + 4  # an id of this test alone (the module's block has ten)
    prefix = unique("new")
    try:
        put_and_invoke(bucket, f"{prefix}/stores/stores.csv", stores_csv([store]))
        first = put_and_invoke(
            bucket, f"{prefix}/sales/a.parquet", parquet_bytes(sales_frame(store, depts=(1,)))
        )
        assert (first["inserted"], first["updated"], first["unchanged"]) == (8, 0, 0)
        both = parquet_bytes(sales_frame(store, depts=(1, 2)))
        merged = put_and_invoke(bucket, f"{prefix}/sales/b.parquet", both)
        assert (merged["inserted"], merged["updated"], merged["unchanged"]) == (8, 0, 8)

        race = f"{prefix}/sales/race.parquet"
        conn = connect(settings)
        try:
            with conn.cursor() as cur:
                assert not _load_unless_taken(cur, "sales", race, sales_frame(store, depts=(3, 1)))
                cur.execute("SELECT COUNT(*) FROM sales WHERE source_key = %s", (race,))
                assert cur.fetchone() == (0,)
        finally:
            conn.rollback()
            conn.close()
        assert rds("SELECT COUNT(*) FROM sales WHERE store = %s", store) == ((16,),)
    finally:
        purge_rds_stores([store])


def removal_event(bucket: str, key: str) -> dict:
    event = direct_event(bucket, key)
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    return event


def test_an_object_is_the_truth_about_its_rows_and_a_removed_one_takes_them_along(bucket, stores):
    """A new version of a curated object replaces that object's rows (rows it no longer holds are
    deleted), its removal retracts them all, and every deletion is logged for the transfer."""
    prefix = unique("truth")
    try:
        store = stores[1]
        put_and_invoke(bucket, f"{prefix}/stores/stores.csv", stores_csv(stores))
        key = f"{prefix}/sales/year=2010/month=02/sales.parquet"
        # departments no other test of the module uses: the rows are this object's alone
        assert (
            put_and_invoke(bucket, key, parquet_bytes(sales_frame(store, depts=(41, 42, 43))))["rows_loaded"]
            == 24
        )

        smaller = put_and_invoke(bucket, key, parquet_bytes(sales_frame(store, depts=(41,))))
        assert (smaller["rows_loaded"], smaller["unchanged"], smaller["rows_deleted"]) == (8, 8, 16)
        assert rds("SELECT DISTINCT dept FROM sales WHERE store = %s AND dept > 40", store) == ((41,),)
        assert rds("SELECT table_name, rows_deleted FROM load_deletions WHERE source_key = %s", key) == (
            ("sales", 16),
        )

        clients.aws_client("s3").delete_object(Bucket=bucket, Key=key)
        (removed,) = handler(removal_event(bucket, key), None)["results"]
        assert (removed["status"], removed["rows_deleted"]) == ("retracted", 8)
        assert rds("SELECT COUNT(*) FROM sales WHERE source_key = %s", key) == ((0,),)
        assert rds("SELECT COUNT(*) FROM load_audit WHERE source_key = %s", key) == ((0,),)
        # a late duplicate of the removal, or of the creation, finds the object gone: nothing to do
        assert handler(direct_event(bucket, key), None)["results"][0]["status"] == "gone"
    finally:  # the removed object is no longer listed when the bucket fixture cleans up
        purge_rds_stores([], key_prefix=prefix)


def test_a_store_retracted_from_the_stores_object_takes_its_sales_along(bucket, stores):
    own = [stores[0] + 2, stores[0] + 3]  # ids of this test alone (the module's block has ten)
    prefix = unique("cascade")
    stores_key = f"{prefix}/stores/stores.csv"
    try:
        put_and_invoke(bucket, stores_key, stores_csv(own))
        sales_key = f"{prefix}/sales/year=2010/month=02/sales.parquet"
        frame = pd.concat([sales_frame(own[0], depts=(1,)), sales_frame(own[1], depts=(1,))])
        assert put_and_invoke(bucket, sales_key, parquet_bytes(frame))["rows_loaded"] == 16

        fewer = put_and_invoke(bucket, stores_key, stores_csv(own[:1]))
        assert fewer["rows_deleted"] == 1
        assert rds("SELECT COUNT(*) FROM sales WHERE store = %s", own[1]) == ((0,),)
        assert rds("SELECT COUNT(*) FROM sales WHERE store = %s", own[0]) == ((8,),)
        logged = rds("SELECT table_name, rows_deleted FROM load_deletions WHERE source_key = %s", stores_key)
        assert sorted(logged) == [("sales", 8), ("stores", 1)]
    finally:
        purge_rds_stores(own)


def test_a_load_that_warns_is_refused(lab, stores, settings):
    """Defence in depth behind the contract: a value MariaDB would clip is not loaded silently."""
    from retailstream.stages.load.formats import ParsedObject
    from retailstream.stages.load.rds_loader import LoadReport, LoadWarnings, _merge, connect

    frame = sales_frame(stores[0], depts=(1,)).assign(weekly_sales=1e15)
    conn = connect(settings)
    try:
        with conn.cursor() as cur, pytest.raises(LoadWarnings, match="warning"):
            _merge(
                cur,
                "sales",
                "it-warn/sales.parquet",
                ParsedObject("parquet", frame),
                LoadReport("", "", "", "", ""),
            )
    finally:
        conn.rollback()
        conn.close()
    assert rds("SELECT COUNT(*) FROM sales WHERE source_key = 'it-warn/sales.parquet'") == ((0,),)


BAD_ROWS = [
    ("bad date", "{s},1,2010-13-05,10.00,FALSE", "Date: not a date"),
    ("non-numeric sales", "{s},1,2010-02-12,#VALUE!,FALSE", "Weekly_Sales: not a number"),
    ("not a Friday", "{s},1,2010-02-11,10.00,FALSE", "Date: must be a Friday"),
    ("unknown store", "{u},1,2010-02-19,10.00,FALSE", "Store: unknown store id"),
    ("missing field", "{s},1,2010-02-26,10.00", "expected 5 fields, found 4"),
    ("bad flag", "{s},2,2010-02-26,10.00,MAYBE", "IsHoliday: not TRUE or FALSE"),
]


def test_bad_rows_are_quarantined_and_reconciled(bucket, stores):
    prefix = unique("rows")
    store = stores[0]
    put_and_invoke(bucket, f"{prefix}/stores/stores.csv", stores_csv(stores))
    good = [f"{store},3,2010-03-05,1.00,FALSE", f"{store},3,2010-03-12,2.00,TRUE"]
    bad = [template.format(s=store, u=store + 5) for _, template, _ in BAD_ROWS]
    # BOM and CR-only line ends are accepted, not errors
    body = ("\ufeffStore,Dept,Date,Weekly_Sales,IsHoliday\r" + "\r".join(good + bad) + "\r").encode()
    key = f"{prefix}/sales/mixed.csv"
    result = put_and_invoke(bucket, key, body)
    assert (result["rows_in"], result["rows_loaded"], result["rows_quarantined"]) == (8, 2, 6)
    quarantined = rds(
        "SELECT source_row, reason, raw FROM load_quarantine WHERE source_key = %s ORDER BY 1", key
    )
    assert [row for row, _, _ in quarantined] == [4, 5, 6, 7, 8, 9]
    for (_, reason, raw), (name, template, expected) in zip(quarantined, BAD_ROWS, strict=True):
        assert expected in reason, name
        assert raw == template.format(s=store, u=store + 5)
    audit = rds(
        "SELECT rows_in, rows_loaded, rows_quarantined, rows_duplicate FROM load_audit WHERE source_key = %s",
        key,
    )
    assert audit == ((8, 2, 6, 0),)


BAD_FILES = {
    "wrong delimiter": (
        b"Store;Dept;Date;Weekly_Sales;IsHoliday\n1;1;2010-02-05;1.0;FALSE\n",
        "wrong delimiter",
    ),
    "missing column": (b"Store,Dept,Date,Weekly_Sales\n1,1,2010-02-05,1.0\n", "missing column(s) IsHoliday"),
    "extra column": (
        b"Store,Dept,Date,Weekly_Sales,IsHoliday,Promo\n1,1,2010-02-05,1.0,FALSE,x\n",
        "unexpected column(s) Promo",
    ),
    "empty file": (b"", "empty file"),
    "header only": (b"Store,Dept,Date,Weekly_Sales,IsHoliday\n", "header only"),
    "truncated gzip": (
        gzip.compress(b"Store,Dept,Date,Weekly_Sales,IsHoliday\n" * 50)[:40],
        "corrupt gzip data",
    ),
    "not parquet": (b"PAR1 this is not a parquet file", "not a readable Parquet file"),
}


@pytest.mark.parametrize("variant", list(BAD_FILES))
def test_unloadable_files_raise_and_are_quarantined_as_a_whole(bucket, variant):
    body, reason = BAD_FILES[variant]
    key = f"{unique('file')}/sales/{variant.replace(' ', '_')}.csv"
    clients.aws_client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    with pytest.raises(PoisonObject, match=reason.replace("(", r"\(").replace(")", r"\)")):
        handler(direct_event(bucket, key), None)
    ((row, stored_reason),) = rds("SELECT source_row, reason FROM load_quarantine WHERE source_key = %s", key)
    assert row == 0 and reason in stored_reason
    assert rds("SELECT COUNT(*) FROM load_audit WHERE source_key = %s", key) == ((0,),)


def test_real_path_s3_sqs_runner_rds_with_redelivery_and_poison(lab, settings, stores):
    """Curated objects → S3 notification → SQS → events-runner → handler → RDS; the same event again
    changes nothing; a poison object ends in the DLQ while the good ones load."""
    s3, sqs = clients.aws_client("s3"), clients.aws_client("sqs")
    prefix = unique("path")
    store = stores[0]
    keys = {
        "stores": f"{prefix}/stores/stores.csv",
        "sales": f"{prefix}/sales/year=2010/month=02/sales_2010-02.parquet",
        "poison": f"{prefix}/sales/year=2010/month=03/broken.csv.gz",
        "traffic": f"{prefix}/store_traffic/store_traffic.jsonl",
    }
    traffic = "\n".join(
        json.dumps({"store": store, "week_date": str(w.date()), "customers": 900}) for w in WEEKS
    )
    parked = True
    try:
        truncated = gzip.compress(csv_bytes(sales_frame(store)))[:-20]
        s3.put_object(Bucket=settings.curated_bucket, Key=keys["stores"], Body=stores_csv(stores))
        s3.put_object(
            Bucket=settings.curated_bucket, Key=keys["sales"], Body=parquet_bytes(sales_frame(store))
        )
        s3.put_object(Bucket=settings.curated_bucket, Key=keys["poison"], Body=truncated)
        s3.put_object(Bucket=settings.curated_bucket, Key=keys["traffic"], Body=traffic.encode())
        report = drain(120, settings, keys=list(keys.values()))
        assert report.details["by_dataset"]["sales"] == {"objects": 1, "rows_loaded": 24}
        assert report.details["by_dataset"]["store_traffic"] == {"objects": 1, "rows_loaded": 8}
        assert rds("SELECT COUNT(*) FROM sales WHERE store = %s", store) == ((24,),)
        assert rds("SELECT COUNT(*) FROM store_traffic WHERE store = %s", store) == ((8,),)
        stamp = rds("SELECT MAX(updated_at), SUM(weekly_sales) FROM sales WHERE store = %s", store)

        # the poison object was retried, then parked in the DLQ, and its reason is in the quarantine table
        assert rds(
            "SELECT source_row, reason FROM load_quarantine WHERE source_key = %s", keys["poison"]
        ) == ((0, "corrupt gzip data: it ends before the end of its stream"),)
        assert _take_from_dlq(sqs, settings, keys["poison"])
        parked = False

        # the same S3 event delivered again (as S3's at-least-once delivery may) changes nothing
        etag = s3.head_object(Bucket=settings.curated_bucket, Key=keys["sales"])["ETag"].strip('"')
        record = direct_event(settings.curated_bucket, keys["sales"])["Records"][0]
        record["s3"]["object"]["eTag"] = etag
        queue = sqs.get_queue_url(QueueName=settings.events_queue)["QueueUrl"]
        for _ in range(2):
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"Records": [record]}))
        drain(60, settings)
        assert rds("SELECT COUNT(*) FROM sales WHERE store = %s", store) == ((24,),)
        assert rds("SELECT MAX(updated_at), SUM(weekly_sales) FROM sales WHERE store = %s", store) == stamp
        assert rds(
            "SELECT COUNT(*), MIN(source_etag) FROM load_audit WHERE source_key = %s", keys["sales"]
        ) == ((1, etag),)
    finally:
        if parked:  # the test stopped before taking its poison message out of the shared DLQ
            _take_from_dlq(sqs, settings, keys["poison"])
        purge_rds_stores([], key_prefix=prefix)  # first: the removal events then find nothing to retract
        purge_bucket_prefix(settings.curated_bucket, prefix)
        drain(60, settings)
        purge_rds_stores([], key_prefix=prefix)


def _take_from_dlq(sqs, settings, key: str) -> bool:
    """Remove our poison message from the shared DLQ (others' messages are left alone)."""
    url = sqs.get_queue_url(QueueName=settings.events_dlq)["QueueUrl"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=2).get(
            "Messages", []
        )
        for message in messages:
            record = {"eventSource": "aws:sqs", "messageId": message["MessageId"], "body": message["Body"]}
            if any(obj.key == key for obj in s3_objects({"Records": [record]})[0]):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                return True
    return False
