"""Stage 2 against the lab: feature files → HDFS (WebHDFS) → PySpark → Hive, read back via HiveServer2."""

from __future__ import annotations

import shutil
import uuid

import pytest
from stage23_support import drop_hive_database, new_hive_database

from retailstream import clients
from retailstream.datasets.contract import contract
from retailstream.datasets.generator import GenerationRequest, generate
from retailstream.stages.features.build import build_features_table
from retailstream.stages.features.upload import data_lines, upload_features

# A bad file, each line broken one way; its first key comes again, dd/mm/yyyy, in a newer file (which
# wins); a file mixing date formats (quarantined whole); and a US-dated file: 05/09/2014 reads as a
# Friday either way, but 01/17/2014 proves the file month-first.
HEADER = ",".join(contract("features").headers)
EXTRA_FILES = {
    "features_2014_bad.csv": """1,2014-01-03,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE
2,2014-01-03,warm,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE
2,2014-01-04,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE
2,2014-01-10,40.1,-3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE
2,2014-01-17,40.1,3.10,NA,NA,NA,200.1,7.1,FALSE
2,2014-01-24,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,maybe
NA,2014-01-31,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE
3,2014-02-07,40.1,3.10,1.5,NA,NA,NA,NA,NA,NA,TRUE
""",
    "features_2014_dmy.csv": "1,03/01/2014,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE\n",
    "features_2014_mixed.csv": """4,2014-01-03,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE
4,10/01/2014,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE
""",
    "features_2014_us.csv": """5,05/09/2014,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE
5,01/17/2014,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE
""",
}
MIXED = "mixed date formats: '2014-01-03' is yyyy-mm-dd, '10/01/2014' is dd/mm/yyyy or mm/dd/yyyy"
EXPECTED_REJECTIONS = {
    "2,2014-01-03,warm,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE": "temperature not a number, got 'warm'",
    "2,2014-01-04,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE": "week_date must be a Friday",
    "2,2014-01-10,40.1,-3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE": "fuel_price must be > 0",
    "2,2014-01-17,40.1,3.10,NA,NA,NA,200.1,7.1,FALSE": "expected 12 fields, found 10",
    "2,2014-01-24,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,maybe": "is_holiday not TRUE or FALSE, got 'maybe'",
    "NA,2014-01-31,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE": "store is missing",
    "4,2014-01-03,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE": MIXED,
    "4,10/01/2014,40.1,3.10,NA,NA,NA,NA,NA,200.1,7.1,FALSE": MIXED,
}


@pytest.fixture(scope="module")
def feature_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("features")
    generate(out, GenerationRequest(stores=3))
    folder = out / "incoming" / "features"
    for name, rows in EXTRA_FILES.items():
        (folder / name).write_text(f"{HEADER}\n{rows}")
    return folder


@pytest.fixture(scope="module")
def hdfs_dir(lab, settings):
    path = f"{settings.hdfs_raw_dir}/_test_{uuid.uuid4().hex[:10]}/features"
    yield path
    clients.hdfs_client().delete(path.rsplit("/", 1)[0], recursive=True)


@pytest.fixture(scope="module")
def hive_db(spark, settings):
    name = new_hive_database(spark, settings)
    yield name
    drop_hive_database(spark, name)


def _hdfs_bytes(path: str) -> bytes:
    with clients.hdfs_client().read(path) as reader:
        return reader.read()


def test_upload_is_idempotent_by_checksum(feature_files, hdfs_dir, settings, tmp_path):
    files = sorted(feature_files.glob("*.csv"))
    progress: dict[str, int] = {}
    first = upload_features(
        settings, source_dir=feature_files, hdfs_dir=hdfs_dir, progress=progress.__setitem__
    )
    assert first.uploaded == [f.name for f in files] and not first.skipped
    assert first.bytes_uploaded == sum(f.stat().st_size for f in files)
    assert set(progress) == {f.name for f in files}  # progress reported for every file
    for path in files:
        assert _hdfs_bytes(f"{hdfs_dir}/{path.name}") == path.read_bytes()

    again = upload_features(settings, source_dir=feature_files, hdfs_dir=hdfs_dir)
    assert again.skipped == first.uploaded and not again.uploaded and again.bytes_uploaded == 0

    # A changed local file is uploaded again; so is a copy changed in HDFS behind the manifest's back.
    changed = tmp_path / "features"
    shutil.copytree(feature_files, changed)
    target = changed / "features_2013.csv"
    target.write_text(target.read_text().replace("\n", "\r\n"))
    clients.hdfs_client().write(f"{hdfs_dir}/features_2010.csv", data=b"tampered", overwrite=True)
    third = upload_features(settings, source_dir=changed, hdfs_dir=hdfs_dir)
    assert sorted(third.uploaded) == ["features_2010.csv", "features_2013.csv"]
    assert _hdfs_bytes(f"{hdfs_dir}/features_2010.csv") == (feature_files / "features_2010.csv").read_bytes()
    # Back to the original bytes for the build test.
    assert upload_features(settings, source_dir=feature_files, hdfs_dir=hdfs_dir).uploaded == [
        "features_2013.csv"
    ]
    listed = clients.hdfs_client().list(hdfs_dir)
    assert not [name for name in listed if name.startswith(".")]  # no half-written temporary left


def test_feature_job_loads_valid_rows_and_quarantines_bad_ones(
    spark, feature_files, hdfs_dir, hive_db, settings
):
    upload_features(settings, source_dir=feature_files, hdfs_dir=hdfs_dir)
    report = build_features_table(settings, spark, source=hdfs_dir, database=hive_db)

    lines = sum(data_lines(path) for path in feature_files.glob("*.csv"))
    generated = lines - sum(data_lines(feature_files / name) for name in EXTRA_FILES)
    assert report.rows_in == lines and report.reconciles()
    assert report.rows_quarantined == len(EXPECTED_REJECTIONS) and report.rows_duplicate == 1
    # Every generated row, store 1's dd/mm/yyyy row, store 3's good row and both US-dated rows.
    assert report.rows_out == generated + 4

    # The metastore holds the right types and one partition per year.
    columns = {c.name: c for c in spark.catalog.listColumns(f"{hive_db}.features")}
    assert {n: c.dataType for n, c in columns.items()} == {
        "store": "int",
        "week_date": "date",
        **{n: "double" for n in ("temperature", "fuel_price", "cpi", "unemployment")},
        **{f"markdown{n}": "double" for n in range(1, 6)},
        "is_holiday": "boolean",
        "year": "int",
    }
    assert columns["year"].isPartition and not columns["store"].isPartition
    partitions = [row[0] for row in spark.sql(f"SHOW PARTITIONS {hive_db}.features").collect()]
    assert partitions == [f"year={year}" for year in range(2010, 2015)]
    assert spark.table(f"{hive_db}.features").count() == report.rows_out

    quarantine = {row.raw: row for row in spark.table(f"{hive_db}.features_quarantine").collect()}
    assert {raw: row.reason for raw, row in quarantine.items() if row.status == "quarantined"} == (
        EXPECTED_REJECTIONS
    )
    [duplicate] = [row for row in quarantine.values() if row.status == "duplicate"]
    assert duplicate.raw.startswith("1,2014-01-03,") and duplicate.source_file.endswith(
        "/features_2014_bad.csv"
    )
    assert duplicate.reason.startswith("duplicate key (store, week_date): kept the row of ")
    assert duplicate.reason.endswith("/features_2014_dmy.csv")
    assert {row.source_file.rsplit("/", 1)[1] for row in quarantine.values()} == {
        "features_2014_bad.csv",
        "features_2014_mixed.csv",
    }

    # Both date formats, NA → NULL and booleans, read back through HiveServer2.
    with clients.hive_connect(database=hive_db) as conn:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT store, week_date, markdown1, cpi, is_holiday FROM features "
            "WHERE year = 2014 ORDER BY store, week_date"
        )
        assert cursor.fetchall() == [
            (1, "2014-01-03", None, 200.1, False),
            (3, "2014-02-07", 1.5, None, True),
            (5, "2014-01-17", None, 200.1, False),
            (5, "2014-05-09", None, 200.1, False),  # month-first like the rest of its file
        ]
        cursor.execute("SELECT COUNT(*), MIN(week_date) FROM features WHERE year = 2010")
        assert cursor.fetchone() == (report.rows_by_year[2010], "2010-02-05")  # dd/mm/yyyy files

    # A rerun on the same files is recognised as such and rewrites nothing ...
    assert build_features_table(settings, spark, source=hdfs_dir, database=hive_db).skipped
    # ... and a forced rebuild leaves the same rows.
    before = spark.table(f"{hive_db}.features").localCheckpoint()
    rerun = build_features_table(settings, spark, source=hdfs_dir, database=hive_db, force=True)
    after = spark.table(f"{hive_db}.features")
    assert (rerun.rows_in, rerun.rows_out, rerun.rows_quarantined) == (
        report.rows_in,
        report.rows_out,
        report.rows_quarantined,
    )
    assert before.exceptAll(after).count() == 0 and after.exceptAll(before).count() == 0


def test_feature_job_refuses_an_empty_raw_area(spark, hdfs_dir, hive_db, settings):
    empty = f"{hdfs_dir.rsplit('/', 1)[0]}/empty"
    clients.hdfs_client().makedirs(empty)
    with pytest.raises(FileNotFoundError, match="no feature files"):
        build_features_table(settings, spark, source=empty, database=hive_db)
