"""The local Glue crawler: what stands in for a crawler run on an emulator that never crawls.

For each dataset folder under a bucket prefix it lists the objects, takes the partition keys from
``key=value`` folders, samples a few files for the columns (CSV/JSON typed as Glue's classifiers do,
Parquet from the file footer) and creates or updates the table and its partitions through the Glue API.
``crawl_for(settings)`` is what the callers pass to the crawl stage: this crawl in the lab, ``None`` (the
registered crawler through ``StartCrawler``) with ``settings.use_real_crawler``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import time
from collections import Counter

from retailstream import clients
from retailstream.s3util import S3Location, iter_objects
from retailstream.settings import Settings
from retailstream.stages.crawl.crawler import CrawlReport, TableReport, dataset_folders

log = logging.getLogger(__name__)

SAMPLE_FILES = 6
SAMPLE_LINES = 300
_MISSING = {"", "NA", "NULL", "null"}
_PATTERNS = (
    ("bigint", re.compile(r"[+-]?\d{1,18}")),
    ("double", re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")),
    ("boolean", re.compile(r"(?i)true|false")),
    ("date", re.compile(r"\d{4}-\d{2}-\d{2}")),
)
# The narrowest type that holds values of both.
_WIDER = {frozenset({"bigint", "double"}): "double", frozenset({"int", "bigint"}): "bigint"}
FORMATS = {
    "csv": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {
            "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
            "Parameters": {"field.delim": ","},
        },
    },
    "json": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
    },
    "parquet": {
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
    },
}


def crawl_for(s: Settings):
    """The crawl to pass to ``crawl_raw``/``crawl_curated``: this one, unless the real crawler runs."""
    return None if s.use_real_crawler else crawl_location


def crawl_location(
    s: Settings, where: S3Location, database: str, crawler: str = "retailstream"
) -> CrawlReport:
    """Infer and write one table per dataset folder found under ``where``."""
    s3, glue = clients.aws_client("s3", s), clients.aws_client("glue", s)
    began = time.monotonic()
    report = CrawlReport(database=database, source=where.uri())
    for folder in dataset_folders(s):
        root = where.key(folder)
        objects = [
            o
            for o in iter_objects(s3, where.bucket, root)
            if not any(part.startswith(("_", ".")) for part in o["Key"][len(root) + 1 :].split("/"))
            and o["Size"] > 0
        ]
        if objects:
            report.tables.append(
                _catalog_table(s3, glue, where.bucket, root, folder, objects, database, crawler)
            )
    report.seconds = round(time.monotonic() - began, 3)
    log.info("crawl.done database=%s source=%s tables=%d", database, report.source, len(report.tables))
    return report


def _partition_values(root: str, key: str) -> list[tuple[str, str]]:
    folders = key[len(root) + 1 :].split("/")[:-1]
    return [tuple(part.split("=", 1)) for part in folders if "=" in part]


def _classification(key: str) -> str:
    name = key.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".json", ".jsonl")):
        return "json"
    return "csv"


def _catalog_table(s3, glue, bucket, root, name, objects, database, crawler) -> TableReport:
    kinds = Counter(_classification(o["Key"]) for o in objects)
    classification = kinds.most_common(1)[0][0]
    objects = [o for o in objects if _classification(o["Key"]) == classification]
    key_lists = Counter(tuple(k for k, _ in _partition_values(root, o["Key"])) for o in objects)
    partition_keys = list(key_lists.most_common(1)[0][0])
    columns = _infer_columns(s3, bucket, objects, classification)
    names = {column for column, _ in columns}
    glue_keys = [f"{k.lower()}_partition" if k.lower() in names else k.lower() for k in partition_keys]
    location = f"s3://{bucket}/{root}/"
    compressed = any(o["Key"].endswith(".gz") for o in objects)
    parameters = {
        "classification": classification,
        "typeOfData": "file",
        "compressionType": "gzip" if compressed else "none",
        "objectCount": str(len(objects)),
        "UPDATED_BY_CRAWLER": crawler,
    }
    if classification == "csv":
        parameters.update({"delimiter": ",", "skip.header.line.count": "1", "areColumnsQuoted": "false"})
    table_input = {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [{"Name": k, "Type": "string"} for k in glue_keys],
        "StorageDescriptor": {
            "Columns": [{"Name": c, "Type": t} for c, t in columns],
            "Location": location,
            "Compressed": compressed,
            **FORMATS[classification],
        },
    }
    try:
        current = glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        glue.create_table(DatabaseName=database, TableInput=table_input)
        action = "created"
    else:
        same = (
            current["StorageDescriptor"].get("Columns") == table_input["StorageDescriptor"]["Columns"]
            and current.get("PartitionKeys", []) == table_input["PartitionKeys"]
            and current["StorageDescriptor"].get("Location") == location
        )
        action = "unchanged" if same else "updated"
        if not same:
            glue.update_table(DatabaseName=database, TableInput=table_input)
    report = TableReport(name, location, classification, len(objects), columns, glue_keys, action)
    if partition_keys:
        _sync_partitions(glue, database, name, root, bucket, objects, partition_keys, table_input, report)
    log.info(
        "crawl.table database=%s table=%s action=%s objects=%d partitions_added=%d",
        database,
        name,
        action,
        len(objects),
        report.partitions_added,
    )
    return report


def _sync_partitions(glue, database, table, root, bucket, objects, keys, table_input, report) -> None:
    wanted: dict[tuple[str, ...], str] = {}
    for o in objects:
        pairs = _partition_values(root, o["Key"])
        if [k for k, _ in pairs] == keys:
            values = tuple(v for _, v in pairs)
            wanted[values] = f"s3://{bucket}/{root}/" + "/".join(f"{k}={v}" for k, v in pairs) + "/"
    existing = {
        tuple(p["Values"])
        for page in glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
        for p in page["Partitions"]
    }
    descriptor = table_input["StorageDescriptor"]
    missing = [
        {"Values": list(values), "StorageDescriptor": {**descriptor, "Location": location}}
        for values, location in sorted(wanted.items())
        if values not in existing
    ]
    for start in range(0, len(missing), 100):
        response = glue.batch_create_partition(
            DatabaseName=database, TableName=table, PartitionInputList=missing[start : start + 100]
        )
        if response.get("Errors"):
            raise RuntimeError(f"Glue refused partitions of {database}.{table}: {response['Errors'][:3]}")
    gone = [{"Values": list(values)} for values in sorted(existing - set(wanted))]
    for start in range(0, len(gone), 25):
        glue.batch_delete_partition(
            DatabaseName=database, TableName=table, PartitionsToDelete=gone[start : start + 25]
        )
    report.partitions_added, report.partitions_removed = len(missing), len(gone)


def _sample(objects: list[dict]) -> list[dict]:
    if len(objects) <= SAMPLE_FILES:
        return objects
    step = (len(objects) - 1) / (SAMPLE_FILES - 1)
    return [objects[round(i * step)] for i in range(SAMPLE_FILES)]


def _infer_columns(s3, bucket: str, objects: list[dict], classification: str) -> list[tuple[str, str]]:
    merged: dict[str, str] = {}
    for o in _sample(objects):
        data = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if classification == "parquet":
            found = _parquet_columns(data)
        elif classification == "json":
            found = _typed_text_columns(_json_rows(data))
        else:
            found = _typed_text_columns(_csv_rows(data))
        for column, type_ in found:
            merged[column] = type_ if column not in merged else _wider(merged[column], type_)
    return list(merged.items())


def _wider(a: str, b: str) -> str:
    if a == b:
        return a
    return _WIDER.get(frozenset({a, b}), "string")


def _csv_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()][: SAMPLE_LINES + 1]
    rows = list(csv.reader(lines))
    return [h.strip() for h in rows[0]], rows[1:]


def _json_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    records = []
    for line in data.decode("utf-8", errors="replace").splitlines()[:SAMPLE_LINES]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    header = list(dict.fromkeys(k for r in records for k in r))
    return header, [["" if r.get(k) is None else str(r.get(k)) for k in header] for r in records]


def _typed_text_columns(sampled: tuple[list[str], list[list[str]]]) -> list[tuple[str, str]]:
    header, rows = sampled
    columns = []
    for position, name in enumerate(header):
        values = {row[position].strip() for row in rows if position < len(row)} - _MISSING
        type_ = next(
            (t for t, pattern in _PATTERNS if values and all(pattern.fullmatch(v) for v in values)),
            "string",
        )
        columns.append((name.lower(), type_))
    return columns


def _parquet_columns(data: bytes) -> list[tuple[str, str]]:
    import pyarrow.parquet as pq

    return [(f.name.lower(), _hive_type(f.type)) for f in pq.read_schema(io.BytesIO(data))]


def _hive_type(arrow_type) -> str:
    import pyarrow as pa
    import pyarrow.types as pt

    simple = {
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.bool_(): "boolean",
        pa.date32(): "date",
        pa.string(): "string",
        pa.large_string(): "string",
    }
    if arrow_type in simple:
        return simple[arrow_type]
    if pt.is_timestamp(arrow_type):
        return "timestamp"
    if pt.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    return "string"
