"""The bad-input corpus (tests/bad_inputs.py) through the entry points that need the lab: the loader
Lambda into RDS (rows in = loaded + quarantined, MariaDB agreeing with the contract on every value) and
the feature job on Spark (one bad file never fails the job; every row of every file is accounted for).
The pure entry points are covered by tests/unit/test_bad_inputs.py."""

from __future__ import annotations

import gzip
import uuid

import pytest
from stage23_support import drop_hive_database, new_hive_database

from bad_inputs import FEATURES_HEADER, GOOD_FEATURES, KINDS, KNOWN_STORES, json_lines, parquet
from retailstream import clients
from retailstream.datasets.loader import DataFileError, count_data_rows, load_lenient
from retailstream.lab import namespace
from retailstream.settings import namespaced_values
from retailstream.stages.features.build import build_features_table
from retailstream.stages.load.rds_loader import PoisonObject, connect, load_object

SALES = [kind for kind in KINDS if kind.dataset == "sales"]


@pytest.fixture(scope="module")
def loader_namespace(lab, settings, tmp_path_factory):
    """Its own RDS database (stores 1-3 loaded) and a bucket without notifications."""
    s = settings.model_copy(
        update=namespaced_values(settings, f"bad_{uuid.uuid4().hex[:6]}", tmp_path_factory.mktemp("bad"))
    )
    namespace.provision(s)
    s3 = clients.aws_client("s3", s)
    stores = "Store,Type,Size\n" + "".join(f"{store},A,150000\n" for store in KNOWN_STORES)
    s3.put_object(Bucket=s.quarantine_bucket, Key="stores/stores.csv", Body=stores.encode())
    conn = connect(s)
    load_object(s.quarantine_bucket, "stores/stores.csv", conn=conn, s3=s3, settings=s)
    yield s, s3, conn
    conn.close()
    namespace.destroy(s)


def _variants(kind) -> dict[str, bytes]:
    found = {"csv": kind.data, "csv.gz": gzip.compress(kind.data)}
    if kind.jsonl:
        found["jsonl"] = json_lines(kind.data)
    if kind.parquet:
        found["parquet"] = parquet(kind.parquet[0])
    return found


@pytest.mark.parametrize("kind", SALES, ids=[kind.name for kind in SALES])
def test_the_loader_accounts_for_every_row_in_rds(loader_namespace, kind):
    s, s3, conn = loader_namespace
    for variant, body in _variants(kind).items():
        key = f"sales/year=2010/month=02/{kind.name}.{variant}"
        s3.put_object(Bucket=s.quarantine_bucket, Key=key, Body=body)
        try:
            report = load_object(s.quarantine_bucket, key, conn=conn, s3=s3, settings=s)
        except PoisonObject:  # rejected whole: one row-0 entry with the reason, nothing loaded
            with clients.rds_cursor("analyst", s.rds_database, settings=s) as cur:
                cur.execute("SELECT source_row, reason FROM load_quarantine WHERE source_key = %s", (key,))
                ((row, reason),) = cur.fetchall()
                cur.execute("SELECT COUNT(*) FROM sales WHERE source_key = %s", (key,))
                assert row == 0 and reason and cur.fetchone() == (0,), (kind.name, variant)
            continue
        assert report.rows_in == report.rows_loaded + report.rows_quarantined + report.rows_duplicate
        with clients.rds_cursor("analyst", s.rds_database, settings=s) as cur:
            cur.execute("SELECT COUNT(*), COUNT(reason) FROM load_quarantine WHERE source_key = %s", (key,))
            assert cur.fetchone() == (report.rows_quarantined,) * 2, (kind.name, variant)
            cur.execute("SELECT COUNT(*) FROM sales WHERE source_key = %s", (key,))
            assert cur.fetchone() == (report.rows_loaded,), (kind.name, variant)  # MariaDB took every row
        # the next variant holds the same keys: retract this one first (and so test the retraction)
        s3.delete_object(Bucket=s.quarantine_bucket, Key=key)
        gone = load_object(s.quarantine_bucket, key, conn=conn, s3=s3, settings=s)
        assert gone.rows_deleted == report.rows_loaded, (kind.name, variant)


def _as_features(kind) -> bytes:
    """The kind's flaw applied to a good features file, where the flaw is about the file as a whole."""
    good = (FEATURES_HEADER + "\n" + "\n".join(GOOD_FEATURES) + "\n").encode()
    flaws = {
        "semicolons": good.replace(b",", b";"),
        "tabs": good.replace(b",", b"\t"),
        "missing_column": good.replace(b",IsHoliday", b"").replace(b",FALSE", b""),
        "empty": b"",
        "header_only": FEATURES_HEADER.encode() + b"\n",
        "truncated_last_line": good[:-30],
        "latin1": good.replace(b"NA,211", "café,211".encode("latin-1"), 1),
        "utf16": good.decode().encode("utf-16"),
        "binary_garbage": bytes(range(128, 256)) * 4,
        "bom_crlf": b"\xef\xbb\xbf" + good.replace(b"\n", b"\r\n"),
        "cr_only": good.replace(b"\n", b"\r"),
    }
    return flaws.get(kind.name, b"")


FEATURE_FLAWS = [k for k in KINDS if _as_features(k)] + [k for k in KINDS if k.dataset == "features"]


def test_one_bad_feature_file_never_fails_the_feature_job(lab, spark, settings):
    folder = f"{settings.hdfs_raw_dir}/_test_{uuid.uuid4().hex[:10]}/features"
    hdfs = clients.hdfs_client()
    files = {f"features_{kind.name}.csv": _as_features(kind) or kind.data for kind in FEATURE_FLAWS}
    database = new_hive_database(spark, settings)
    try:
        for name, data in files.items():
            hdfs.write(f"{folder}/{name}", data=data, overwrite=True)
        report = build_features_table(settings, spark, source=folder, database=database)
        assert report.reconciles()
        assert report.rows_in == sum(count_data_rows(data)[0] for data in files.values())
        quarantine = spark.table(f"{database}.features_quarantine").collect()
        assert all(row.reason for row in quarantine)
        for name, data in files.items():  # the Python loader and the Spark job agree on each file
            rows = [row for row in quarantine if row.source_file.endswith(f"/{name}")]
            try:
                valid, rejected = load_lenient(data, "features", name=name)
            except DataFileError as error:
                if error.reason.startswith("mixed date formats"):  # Spark: every row, with the reason
                    assert len(rows) == count_data_rows(data)[0], name
                else:
                    (row,) = rows
                    assert row.reason.startswith("file rejected") and error.reason in row.reason, name
                continue
            assert len([row for row in rows if row.status == "quarantined"]) == len(rejected), name
    finally:
        hdfs.delete(folder.rsplit("/", 1)[0], recursive=True)
        drop_hive_database(spark, database)
