"""Stage 1 end to end on the running lab: upload → Glue job → curated S3 → SQS → events-runner → RDS.

The generated stores are renumbered into a range nobody else uses, every object lives under a unique
prefix, and everything is removed afterwards."""

from __future__ import annotations

import random

from stage1_support import generated_tree, purge_bucket_prefix, purge_rds_stores, shift_store_ids, unique

from retailstream import clients
from retailstream.emulation.glue_jobs import start_run
from retailstream.emulation.sqs_event_source import drain
from retailstream.stages.upload import upload_incoming


def test_files_reach_rds_reconciled_and_a_rerun_sends_nothing(lab, settings, tmp_path):
    offset = random.randrange(20_000, 60_000, 100)
    tree = generated_tree(tmp_path, stores=2, defects=5)
    shift_store_ids(tree, offset)
    stores = [offset + 1, offset + 2]
    prefix = unique("e2e")
    arguments = {
        "--raw_uri": f"s3://{settings.raw_bucket}/{prefix}",
        "--curated_uri": f"s3://{settings.curated_bucket}/{prefix}",
        "--quarantine_uri": f"s3://{settings.quarantine_bucket}/{prefix}",
        "--state_uri": f"s3://{settings.raw_bucket}/{prefix}/_glue",
    }
    try:
        upload = upload_incoming(settings, source=tree, prefix=prefix)
        assert upload.failed == 0
        run = start_run(settings, arguments=arguments)
        report = run["Report"]
        assert report["totals"]["reconciles"] and report["datasets"]["sales"]["rows_quarantined"] == 5
        curated = {o["key"]: o["rows"] for o in report["curated_objects"]}

        loaded = drain(240, settings, keys=list(curated))
        assert loaded.stage == "load" and loaded.details["objects"] == len(curated)
        assert loaded.rows_in == loaded.rows_out == sum(curated.values()) and loaded.reconciles()
        with clients.rds_cursor("pipeline") as cur:
            marks = ",".join(["%s"] * len(stores))
            counts = {}
            for table in ("stores", "sales", "store_traffic"):
                cur.execute(f"SELECT COUNT(*) FROM {table} WHERE store IN ({marks})", stores)
                counts[table] = cur.fetchone()[0]
            cur.execute(
                "SELECT source_key, rows_in, rows_loaded FROM load_audit WHERE source_key LIKE %s",
                (prefix + "/%",),
            )
            audit = {key: (rows_in, rows_loaded) for key, rows_in, rows_loaded in cur.fetchall()}
        assert counts == {
            "stores": 2,
            "sales": report["datasets"]["sales"]["rows_curated"],
            "store_traffic": report["datasets"]["store_traffic"]["rows_curated"],
        }
        assert audit == {key: (rows, rows) for key, rows in curated.items()}

        # nothing new: the job writes nothing, so no event reaches the queue
        again = start_run(settings, arguments=arguments)
        assert again["Report"]["totals"]["files"] == 0 and again["Report"]["curated_objects"] == []
        assert drain(30, settings, keys=list(curated)).rows_out == loaded.rows_out
    finally:
        for bucket in (settings.raw_bucket, settings.curated_bucket, settings.quarantine_bucket):
            purge_bucket_prefix(bucket, prefix)
        purge_rds_stores(stores, key_prefix=prefix + "/")
