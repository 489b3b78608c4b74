"""Every stage's rejected rows in one list: what was not loaded, where from, and why.

Three stages quarantine, each where its engine keeps data: the Glue job writes JSON lines per raw file
to the quarantine bucket, the loader Lambda rows of ``load_quarantine`` in RDS, the feature job the
Hive table ``features_quarantine`` (invalid rows and the duplicates it dropped). ``list_rejects``
reads them all through their own protocols; `retailstream quarantine list|show` prints them and the
report stage writes them next to the report (``quarantine.json``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from retailstream import clients
from retailstream.s3util import iter_objects
from retailstream.settings import Settings

STAGES = ("clean", "load", "features_hive")  # the steps that quarantine rows
QUARANTINE_FILE = "quarantine.json"


@dataclass(frozen=True)
class Reject:
    stage: str
    source: str  # the raw file, curated object or HDFS file the row came from
    line: int | None  # line of a text file, row of a Parquet file; 0 for the whole file; None unknown
    reason: str
    raw: str
    run: str  # the Glue run, or when the loader quarantined it; "" where the stage keeps no run

    def to_dict(self) -> dict:
        return asdict(self)


def glue_rejects(s: Settings) -> Iterator[Reject]:
    s3 = clients.aws_client("s3", s)
    keys = [obj["Key"] for obj in iter_objects(s3, s.quarantine_bucket, "")]

    def read(key: str) -> bytes:
        return s3.get_object(Bucket=s.quarantine_bucket, Key=key)["Body"].read()

    with ThreadPoolExecutor(max_workers=8) as pool:  # one small object per raw file: latency-bound
        bodies = list(pool.map(read, keys))
    for body in bodies:
        for text in body.splitlines():
            record = json.loads(text)
            rows = f" ({record['rows']} rows)" if record.get("rows") else ""
            yield Reject(
                "clean",
                record["source_key"],
                record.get("line"),
                (f"{record['column']}: " if record.get("column") else "") + record["reason"] + rows,
                record.get("raw") or "",
                record.get("run_id", ""),
            )


def loader_rejects(s: Settings) -> Iterator[Reject]:
    with clients.rds_cursor("analyst", settings=s) as cur:
        cur.execute(
            "SELECT source_key, source_row, reason, raw, quarantined_at FROM load_quarantine "
            "ORDER BY source_key, source_row"
        )
        for key, row, reason, raw, at in cur.fetchall():
            yield Reject("load", key, int(row), reason, raw or "", str(at))


def features_rejects(s: Settings) -> Iterator[Reject]:
    conn = clients.hive_connect(s)
    try:
        cur = conn.cursor()
        cur.execute(f"SHOW TABLES IN {s.hive_database} LIKE 'features_quarantine'")
        if not cur.fetchall():
            return
        cur.execute(f"SELECT source_file, raw, reason, status FROM {s.hive_database}.features_quarantine")
        for source, raw, reason, status in cur.fetchall():
            yield Reject("features_hive", source, None, f"{status}: {reason}", raw or "", "")
    finally:
        conn.close()


READERS = {"clean": glue_rejects, "load": loader_rejects, "features_hive": features_rejects}


def list_rejects(s: Settings, stages: Iterable[str] = STAGES) -> list[Reject]:
    rejects = [reject for stage in stages for reject in READERS[stage](s)]
    return sorted(rejects, key=lambda r: (STAGES.index(r.stage), r.source, r.line or 0))


def summary(rejects: list[Reject]) -> dict[str, int]:
    counts = Counter(r.stage for r in rejects)
    return {stage: counts.get(stage, 0) for stage in STAGES}
