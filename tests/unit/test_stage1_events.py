"""Event decoding and the loader's SQL, without the lab."""

from __future__ import annotations

import json

from retailstream.settings import Settings
from retailstream.stages.load.handler import s3_objects
from retailstream.stages.load.rds_loader import dataset_of, merge_statement


def _s3_record(key: str, event: str = "ObjectCreated:Put", etag: str = "abc") -> dict:
    return {
        "eventSource": "aws:s3",
        "eventName": event,
        "s3": {"bucket": {"name": "retail-curated"}, "object": {"key": key, "eTag": etag}},
    }


def test_direct_s3_event_keys_are_url_decoded():
    event = {"Records": [_s3_record("it%2Fsales%2Fyear%3D2010%2Fmonth%3D02%2Fa+b.parquet")]}
    (obj,), malformed = s3_objects(event)
    assert not malformed
    assert (obj.bucket, obj.key, obj.etag, obj.message_id) == (
        "retail-curated",
        "it/sales/year=2010/month=02/a b.parquet",
        "abc",
        None,
    )


def test_sqs_wrapped_events_keep_their_message_skip_test_events_and_isolate_malformed_ones():
    wrapped = {
        "Records": [
            {
                "eventSource": "aws:sqs",
                "messageId": "m1",
                "body": json.dumps({"Records": [_s3_record("a%2Fb")]}),
            },
            {
                "eventSource": "aws:sqs",
                "messageId": "m2",
                "body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"}),
            },
            {
                "eventSource": "aws:sqs",
                "messageId": "m3",
                "body": json.dumps({"Records": [_s3_record("gone", "ObjectRemoved:Delete")]}),
            },
        ]
    }
    wrapped["Records"] += [
        {"eventSource": "aws:sqs", "messageId": "m4", "body": "not json"},
        {
            "eventSource": "aws:sqs",
            "messageId": "m5",
            "body": json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}),
        },
        {"eventSource": "aws:sqs", "messageId": "m6", "body": json.dumps(["a list"])},
        {"eventSource": "aws:sqs", "messageId": "m7", "body": json.dumps({"Records": [_s3_record("c")]})},
    ]
    objects, malformed = s3_objects(wrapped)
    # removals are events too: the loader makes the key's rows match the bucket (none once it is gone)
    assert [(o.key, o.message_id) for o in objects] == [("a/b", "m1"), ("gone", "m3"), ("c", "m7")]
    assert [m.message_id for m in malformed] == ["m4", "m5", "m6"]


def test_dataset_is_the_last_folder_named_like_a_dataset():
    s = Settings()
    assert dataset_of("sales/year=2010/month=02/x.parquet", s) == "sales"
    assert dataset_of("it-1/stores/stores.parquet", s) == "stores"
    assert dataset_of("it-1/store_traffic/store_traffic.parquet", s) == "store_traffic"
    assert dataset_of("_manifests/sales.json", s) is None
    assert dataset_of("sales.csv", s) is None


def test_merge_changes_source_key_only_with_a_value():
    sql = merge_statement("sales")
    assert sql.startswith("INSERT INTO `sales` (`store`, `dept`, `week_date`, `weekly_sales`, `is_holiday`")
    # source_key is decided before the values are overwritten, and only when one of them differs
    assert sql.index("`sales`.source_key = IF(") < sql.index("`sales`.`weekly_sales` = VALUES")
    assert "`sales`.`weekly_sales` <=> VALUES(`weekly_sales`) AND `sales`.`is_holiday` <=>" in sql
    assert "`store` = VALUES" not in sql  # key columns are never updated
