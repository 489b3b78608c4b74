"""The clean-and-merge Glue job run by the local job runner, and the crawler, against moto.

Raw files go under a unique prefix of the raw bucket; curated output, quarantine and job state go to a
private bucket without notifications, so these runs never reach RDS (the pipeline test does that)."""

from __future__ import annotations

import gzip
import io
import json
from importlib.resources import files

import pandas as pd
import pyarrow.parquet as pq
import pytest
from stage1_support import generated_tree, purge_bucket_prefix, unique

from retailstream import clients
from retailstream.deploy.glue_job import register_job
from retailstream.emulation.glue_crawler import crawl_location
from retailstream.emulation.glue_jobs import (
    ConcurrentRunsExceeded,
    JobRunFailed,
    job_run,
    run_slot,
    start_run,
    wait_for,
)
from retailstream.s3util import S3Location, iter_objects
from retailstream.stages.clean.merge import BOOKMARK
from retailstream.stages.upload import upload_incoming


@pytest.fixture(scope="module")
def scope(lab, settings, tmp_path_factory):
    """A generated tree (2 stores, 5 bad rows, one resubmission) uploaded under a unique raw prefix,
    and the job arguments that point its output at a private bucket."""
    register_job(settings)
    s3 = clients.aws_client("s3")
    raw_prefix, bucket = unique("glue"), unique("glue-out")
    s3.create_bucket(Bucket=bucket)
    tree = generated_tree(tmp_path_factory.mktemp("glue"), stores=2, defects=5)
    upload_incoming(settings, source=tree, prefix=raw_prefix)
    arguments = {
        "--raw_uri": f"s3://{settings.raw_bucket}/{raw_prefix}",
        "--curated_uri": f"s3://{bucket}/curated",
        "--quarantine_uri": f"s3://{bucket}/quarantine",
        "--state_uri": f"s3://{bucket}/state",
    }
    yield {"tree": tree, "raw_prefix": raw_prefix, "bucket": bucket, "arguments": arguments}
    purge_bucket_prefix(settings.raw_bucket, raw_prefix)
    purge_bucket_prefix(bucket, "")
    s3.delete_bucket(Bucket=bucket)


def curated_frame(bucket: str, prefix: str) -> pd.DataFrame:
    s3 = clients.aws_client("s3")
    frames = [
        pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())).to_pandas()
        for o in iter_objects(s3, bucket, prefix)
    ]
    return pd.concat(frames, ignore_index=True)


def listing(bucket: str, prefix: str) -> dict[str, str]:
    return {o["Key"]: o["ETag"] for o in iter_objects(clients.aws_client("s3"), bucket, prefix)}


def test_job_and_schedule_are_registered_through_the_glue_api(lab, settings):
    register_job(settings)
    glue, s3 = clients.aws_client("glue"), clients.aws_client("s3")
    job = glue.get_job(JobName=settings.glue_job_name)["Job"]
    assert job["Command"]["Name"] == "pythonshell"
    script = S3Location.parse(job["Command"]["ScriptLocation"])
    stored = s3.get_object(Bucket=script.bucket, Key=script.prefix)["Body"].read()
    assert stored == files("retailstream.stages.clean").joinpath("glue_script.py").read_bytes()
    trigger = glue.get_trigger(Name=settings.glue_trigger_name)["Trigger"]
    assert (trigger["Type"], trigger["Schedule"]) == ("SCHEDULED", settings.glue_job_schedule)
    assert trigger["Actions"] == [{"JobName": settings.glue_job_name}]


def test_a_run_cleans_merges_quarantines_and_reconciles(settings, scope):
    tree, bucket = scope["tree"], scope["bucket"]
    manifest = json.loads((tree / "_manifest.json").read_text())
    defects = json.loads((tree / "_defects.json").read_text())

    run = start_run(settings, arguments=scope["arguments"])
    assert run["JobRunState"] == "SUCCEEDED"
    # the Glue API knows the run; our runner's record (GetJobRun-like) carries what really happened
    api = clients.aws_client("glue").get_job_run(JobName=settings.glue_job_name, RunId=run["Id"])["JobRun"]
    assert api["Arguments"].items() >= scope["arguments"].items()
    assert job_run(run["Id"], settings) == run
    sales = run["Report"]["datasets"]["sales"]
    assert sales["rows_in"] == manifest["rows"]["sales"]
    assert sales["rows_quarantined"] == defects["summary"]["bad_rows"] == 5
    assert sales["rows_duplicate"] == defects["summary"]["duplicate_keys"] == 5
    assert sales["rows_curated"] == sales["rows_in"] - 10
    assert run["Report"]["totals"]["reconciles"]

    curated = curated_frame(bucket, "curated/sales")
    assert len(curated) == sales["rows_curated"]
    assert not curated.duplicated(["store", "dept", "week_date"]).any()
    assert {o["key"].split("/")[2] for o in run["Report"]["curated_objects"] if "/sales/" in o["key"]} >= {
        "year=2010",
        "year=2012",
    }
    # the resubmitted file (_v2) won every key it repeats
    (resubmission,) = defects["resubmissions"]
    v2 = pd.read_csv(tree / resubmission["file"])
    winners = curated.set_index(["store", "dept", curated.week_date.astype(str)])
    for store, dept, week in resubmission["keys"]:
        row = winners.loc[(store, dept, week)]
        assert row.source_key.endswith(resubmission["file"])
        expected = v2[(v2.Store == store) & (v2.Dept == dept) & (v2.Date == week)].Weekly_Sales.item()
        assert row.weekly_sales == pytest.approx(expected)
    # every injected bad row is in the quarantine bucket with its line and a reason
    s3 = clients.aws_client("s3")
    quarantined = [
        json.loads(line)
        for key in run["Report"]["quarantine_objects"]
        for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    ]
    got = {(q["source_key"].split("/", 1)[1], q["line"]): q["reason"] for q in quarantined}
    assert set(got) == {(bad["file"], bad["line"]) for bad in defects["bad_rows"]}
    assert all(got.values())
    assert any("unknown store id" in reason for reason in got.values())


def test_rerun_writes_nothing_and_a_weekly_drop_merges_incrementally(settings, scope):
    bucket, raw_prefix = scope["bucket"], scope["raw_prefix"]
    start_run(settings, arguments=scope["arguments"])  # whatever earlier tests left: processed now
    before = listing(bucket, "curated")

    again = start_run(settings, arguments=scope["arguments"])
    assert again["Report"]["totals"]["files"] == 0
    assert again["Report"]["curated_objects"] == []
    assert listing(bucket, "curated") == before
    # The runner saw that nothing changed since the bookmark and did not start the script for it.
    log = S3Location.parse(again["LogLocation"])
    output = clients.aws_client("s3").get_object(Bucket=log.bucket, Key=log.prefix)["Body"].read()
    assert output == b"nothing new since the job bookmark: the script was not started\n"
    assert again["Report"]["totals"]["reconciles"]

    s3 = clients.aws_client("s3")
    # a new week for store 1 and a resubmission (v3) correcting one key of an earlier month
    s3.put_object(
        Bucket=settings.raw_bucket,
        Key=f"{raw_prefix}/sales/store=01/sales_2012-11.csv",
        Body=b"Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,2012-11-02,100.00,FALSE\n1,2,2012-11-02,200.00,FALSE\n",
    )
    s3.put_object(
        Bucket=settings.raw_bucket,
        Key=f"{raw_prefix}/sales/store=01/sales_2010-02_v3.csv",
        Body=b"Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,05/02/2010,1.23,FALSE\n",
    )
    drop = start_run(settings, arguments=scope["arguments"])
    sales = drop["Report"]["datasets"]["sales"]
    assert (sales["files"], sales["rows_in"], sales["rows_curated"], sales["rows_replaced"]) == (2, 3, 3, 1)
    written = sorted(o["key"] for o in drop["Report"]["curated_objects"])
    assert written == [
        "curated/sales/year=2010/month=02/sales_2010-02.parquet",
        "curated/sales/year=2012/month=11/sales_2012-11.parquet",
    ]
    changed = {k for k, etag in listing(bucket, "curated").items() if before.get(k) != etag}
    assert changed == set(written)
    february = curated_frame(bucket, "curated/sales/year=2010/month=02")
    fixed = february[
        (february.store == 1) & (february.dept == 1) & (february.week_date.astype(str) == "2010-02-05")
    ]
    assert fixed.weekly_sales.tolist() == [1.23]


BAD_RAW = {
    "wrong_delimiter.csv": (
        b"Store;Dept;Date;Weekly_Sales;IsHoliday\n1;1;2010-02-05;1.0;FALSE\n",
        "wrong delimiter",
    ),
    "missing_column.csv": (
        b"Store,Dept,Date,Weekly_Sales\n1,1,2010-02-05,1.0\n",
        "missing column(s) IsHoliday",
    ),
    "extra_column.csv": (
        b"Store,Dept,Date,Weekly_Sales,IsHoliday,X\n1,1,2010-02-05,1.0,FALSE,1\n",
        "unexpected column(s) X",
    ),
    "empty.csv": (b"", "empty file"),
    "header_only.csv": (b"Store,Dept,Date,Weekly_Sales,IsHoliday\r\n", "header only"),
    "truncated.csv.gz": (
        gzip.compress(b"Store,Dept,Date,Weekly_Sales,IsHoliday\n" * 200)[:-12],
        "corrupt gzip",
    ),
    "mixed_dates.csv": (
        b"Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,2010-02-05,1.0,FALSE\n1,2,12/02/2010,1.0,FALSE\n",
        "mixed date formats: line 2 ('2010-02-05') is yyyy-mm-dd, line 3 ('12/02/2010')",
    ),
}


def test_bad_raw_files_are_quarantined_with_their_reason(lab, settings):
    s3 = clients.aws_client("s3")
    raw_prefix, bucket = unique("glue-bad"), unique("glue-bad-out")
    s3.create_bucket(Bucket=bucket)
    arguments = {
        "--raw_uri": f"s3://{settings.raw_bucket}/{raw_prefix}",
        "--curated_uri": f"s3://{bucket}/curated",
        "--quarantine_uri": f"s3://{bucket}/quarantine",
        "--state_uri": f"s3://{bucket}/state",
    }
    good = (
        "\ufeffStore,Dept,Date,Weekly_Sales,IsHoliday\r1,1,2010-02-05,10.00,FALSE\r"
        "1,1,2010-02-12,#VALUE!,FALSE\r1,2,2010-02-12,5.00,TRUE\r1,3,2010-13-05,1.00,FALSE\r"
    ).encode()  # BOM and CR-only line ends are fine; two of its rows are not
    try:
        s3.put_object(Bucket=settings.raw_bucket, Key=f"{raw_prefix}/sales/store=01/bom_cr.csv", Body=good)
        for name, (body, _) in BAD_RAW.items():
            s3.put_object(Bucket=settings.raw_bucket, Key=f"{raw_prefix}/sales/store=01/{name}", Body=body)
        run = start_run(settings, arguments=arguments)
        sales = run["Report"]["datasets"]["sales"]
        assert run["JobRunState"] == "SUCCEEDED" and run["Report"]["totals"]["reconciles"]
        assert (sales["files"], sales["files_rejected"], sales["rows_curated"]) == (8, 7, 2)
        for name, (_, reason) in BAD_RAW.items():
            body = s3.get_object(Bucket=bucket, Key=f"quarantine/sales/store=01/{name}.rejected.jsonl")[
                "Body"
            ]
            (entry,) = [json.loads(line) for line in body.read().decode().splitlines()]
            assert reason in entry["reason"], name
            assert entry["source_key"] == f"{raw_prefix}/sales/store=01/{name}"
        body = s3.get_object(Bucket=bucket, Key="quarantine/sales/store=01/bom_cr.csv.rejected.jsonl")["Body"]
        rows = [json.loads(line) for line in body.read().decode().splitlines()]
        assert [(r["line"], r["column"]) for r in rows] == [(3, "Weekly_Sales"), (5, "Date")]
    finally:
        purge_bucket_prefix(settings.raw_bucket, raw_prefix)
        purge_bucket_prefix(bucket, "")
        s3.delete_bucket(Bucket=bucket)


def test_crawler_catalogs_raw_and_curated_tables(settings, scope):
    glue = clients.aws_client("glue")
    start_run(settings, arguments=scope["arguments"])
    raw_db, curated_db = unique("raw").replace("-", "_"), unique("cur").replace("-", "_")
    for db in (raw_db, curated_db):
        glue.create_database(DatabaseInput={"Name": db})
    try:
        raw = crawl_location(settings, S3Location(settings.raw_bucket, scope["raw_prefix"]), raw_db)
        curated = crawl_location(settings, S3Location(scope["bucket"], "curated"), curated_db)
        assert (
            {t.name for t in raw.tables}
            == {t.name for t in curated.tables}
            == {"sales", "stores", "store_traffic"}
        )

        def columns(db, table):
            found = glue.get_table(DatabaseName=db, Name=table)["Table"]
            types = {c["Name"]: c["Type"] for c in found["StorageDescriptor"]["Columns"]}
            return types, [k["Name"] for k in found.get("PartitionKeys", [])], found

        types, keys, table = columns(raw_db, "sales")
        # (the sampled files hold none of the injected bad rows, so the amounts type as double)
        assert types == {
            "store": "bigint",
            "dept": "bigint",
            "date": "date",
            "weekly_sales": "double",
            "isholiday": "boolean",
        }
        assert keys == ["store_partition"]
        assert table["Parameters"]["classification"] == "csv"
        partitions = glue.get_partitions(DatabaseName=raw_db, TableName="sales")["Partitions"]
        assert sorted(p["Values"][0] for p in partitions) == ["01", "02"]

        types, keys, table = columns(curated_db, "sales")
        assert types == {
            "store": "int",
            "dept": "int",
            "week_date": "date",
            "weekly_sales": "double",
            "is_holiday": "boolean",
            "source_key": "string",
        }
        assert keys == ["year", "month"]
        assert table["Parameters"]["classification"] == "parquet"
        assert "ParquetHiveSerDe" in table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
        partitions = glue.get_partitions(DatabaseName=curated_db, TableName="sales")["Partitions"]
        assert ["2010", "02"] in [p["Values"] for p in partitions]
        assert len(partitions) == len(
            {(o.split("/")[2], o.split("/")[3]) for o in listing(scope["bucket"], "curated/sales")}
        )
        types, keys, _ = columns(curated_db, "stores")
        assert (
            types == {"store": "int", "store_type": "string", "size": "int", "source_key": "string"}
            and keys == []
        )

        again = crawl_location(settings, S3Location(scope["bucket"], "curated"), curated_db)
        assert {t.action for t in again.tables} == {"unchanged"}
        assert sum(t.partitions_added for t in again.tables) == 0
    finally:
        for db in (raw_db, curated_db):
            for table in glue.get_tables(DatabaseName=db)["TableList"]:
                glue.delete_table(DatabaseName=db, Name=table["Name"])
            glue.delete_database(Name=db)


def test_one_run_at_a_time_over_the_same_locations(settings, scope):
    """MaxConcurrentRuns=1: a start while a run executes is refused (no run recorded), as Glue's
    ConcurrentRunsExceededException; two starts racing each other leave exactly one run that did work."""
    glue = clients.aws_client("glue")
    arguments = scope["arguments"]
    known = {r["Id"] for r in glue.get_job_runs(JobName=settings.glue_job_name)["JobRuns"]}

    executing = run_slot(arguments["--state_uri"])  # what an executing run holds
    with executing, pytest.raises(ConcurrentRunsExceeded, match="MaxConcurrentRuns=1"):
        start_run(settings, arguments=arguments)
    assert {r["Id"] for r in glue.get_job_runs(JobName=settings.glue_job_name)["JobRuns"]} == known
    # another location's slot is independent
    with run_slot(arguments["--state_uri"] + "-elsewhere"):
        assert start_run(settings, arguments=arguments)["JobRunState"] == "SUCCEEDED"

    # Without a bookmark the racing runs have work to do (a run with nothing new ends at once).
    state = S3Location.parse(arguments["--state_uri"])
    clients.aws_client("s3").delete_object(Bucket=state.bucket, Key=state.key(BOOKMARK))
    background = start_run(settings, arguments=arguments, wait=False)
    try:
        second = start_run(settings, arguments=arguments)
    except ConcurrentRunsExceeded:
        second = None  # refused at the start: the background run held the slot already
    except JobRunFailed as failed:
        second = failed.run
    first = wait_for(background["Id"], settings, timeout=300)
    finished = [run for run in (first, second) if run]
    states = sorted(run["JobRunState"] for run in finished)
    assert states in (["SUCCEEDED"], ["FAILED", "SUCCEEDED"])
    for run in finished:
        if run["JobRunState"] == "FAILED":
            assert "ConcurrentRunsExceededException" in run["ErrorMessage"]


def _write(tree, relative: str, text: str) -> None:
    path = tree / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _exists(bucket: str, key: str) -> bool:
    return clients.aws_client("s3").list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0) > 0


def _curated_sales(bucket: str) -> dict[tuple, float]:
    frame = curated_frame(bucket, "curated/sales")
    return {
        (row.store, row.dept, str(row.week_date)[:10]): row.weekly_sales
        for row in frame.itertuples(index=False)
    }


def test_new_versions_replace_and_retracted_files_take_their_rows_along(lab, settings, tmp_path):
    """The curated data is a function of the delivered files: a new version of a file replaces that
    file's rows (not only the keys it still has), a file no longer delivered takes its rows along, and
    a key a retracted newer file had won goes back to the next newest file that holds it."""
    s3 = clients.aws_client("s3")
    raw_prefix, bucket = unique("glue-retract"), unique("glue-retract-out")
    s3.create_bucket(Bucket=bucket)
    arguments = {
        "--raw_uri": f"s3://{settings.raw_bucket}/{raw_prefix}",
        "--curated_uri": f"s3://{bucket}/curated",
        "--quarantine_uri": f"s3://{bucket}/quarantine",
        "--state_uri": f"s3://{bucket}/state",
    }
    header = "Store,Dept,Date,Weekly_Sales,IsHoliday\n"
    tree = tmp_path / "incoming"
    _write(tree, "stores/stores.csv", "Store,Type,Size\n1,A,150000\n2,B,50000\n")
    _write(tree, "store_traffic/store_traffic.csv", "Store,Date,Customers\n1,2010-02-05,100\n")
    _write(
        tree,
        "sales/store=01/sales_2010-02.csv",
        header + "1,1,2010-02-05,1.00,FALSE\n1,2,2010-02-05,2.00,FALSE\n1,3,2010-02-05,3.00,FALSE\n",
    )
    _write(
        tree,
        "sales/store=01/sales_2010-03.csv",
        header + "1,1,2010-03-05,4.00,FALSE\n1,9,2010-03-05,oops,FALSE\n",
    )
    _write(tree, "sales/store=02/sales_2010-04.csv", header + "2,1,2010-04-02,10.00,FALSE\n")
    _write(tree, "sales/store=02/sales_2010-04_v2.csv", header + "2,1,2010-04-02,20.00,FALSE\n")

    def deliver_and_run() -> dict:
        upload_incoming(settings, source=tree, prefix=raw_prefix)
        run = start_run(settings, arguments=arguments)
        assert run["Report"]["totals"]["reconciles"], run["Report"]["totals"]
        return run["Report"]

    try:
        deliver_and_run()
        assert _curated_sales(bucket) == {
            (1, 1, "2010-02-05"): 1.0,
            (1, 2, "2010-02-05"): 2.0,
            (1, 3, "2010-02-05"): 3.0,
            (1, 1, "2010-03-05"): 4.0,
            (2, 1, "2010-04-02"): 20.0,
        }
        march_quarantine = "quarantine/sales/store=01/sales_2010-03.csv.rejected.jsonl"
        assert _exists(bucket, march_quarantine)

        # a corrected February (two keys fewer), March and the v2 resubmission withdrawn, no traffic file
        _write(tree, "sales/store=01/sales_2010-02.csv", header + "1,1,2010-02-05,1.50,FALSE\n")
        (tree / "sales/store=01/sales_2010-03.csv").unlink()
        (tree / "sales/store=02/sales_2010-04_v2.csv").unlink()
        (tree / "store_traffic/store_traffic.csv").unlink()
        report = deliver_and_run()

        assert _curated_sales(bucket) == {(1, 1, "2010-02-05"): 1.5, (2, 1, "2010-04-02"): 10.0}
        sales = report["datasets"]["sales"]
        assert (sales["files"], sales["files_retracted"], sales["rows_in"]) == (1, 2, 1)
        # Feb loses dept 2 and 3, March its one row, April's key stays (back to the first file's value)
        assert sales["rows_retracted"] == 3
        assert report["datasets"]["store_traffic"]["files_retracted"] == 1
        assert sorted(report["removed_objects"]) == [
            "curated/sales/year=2010/month=03/sales_2010-03.parquet",
            "curated/store_traffic/store_traffic.parquet",
        ]
        assert not _exists(bucket, "curated/store_traffic/")
        assert not _exists(bucket, march_quarantine)
        assert not _exists(settings.raw_bucket, f"{raw_prefix}/sales/store=01/sales_2010-03.csv")

        again = deliver_and_run()  # nothing delivered changed: nothing written, nothing removed
        assert (again["totals"]["files"], again["curated_objects"], again["removed_objects"]) == (0, [], [])
    finally:
        purge_bucket_prefix(settings.raw_bucket, raw_prefix)
        purge_bucket_prefix(bucket, "")
        s3.delete_bucket(Bucket=bucket)


def test_the_local_runner_runs_only_the_packaged_script(settings, scope):
    """The runner executes the job on this host with the lab's credentials: a script object that is not
    the packaged one (tampered with, or stale) fails the run instead of running."""
    s3 = clients.aws_client("s3")
    job = clients.aws_client("glue").get_job(JobName=settings.glue_job_name)["Job"]
    script = S3Location.parse(job["Command"]["ScriptLocation"])
    s3.put_object(Bucket=script.bucket, Key=script.prefix, Body=b"raise SystemExit('not the job')\n")
    try:
        with pytest.raises(JobRunFailed, match="is not the packaged job script") as failed:
            start_run(settings, arguments=scope["arguments"])
        assert job_run(failed.value.run["Id"], settings)["JobRunState"] == "FAILED"
    finally:
        register_job(settings)
