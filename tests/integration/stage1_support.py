"""Helpers shared by the stage-1 integration tests: small generated trees and unique, cleaned-up scopes.

Other engineers use the same lab at the same time, so every test works under its own S3 prefix (or its
own bucket) and on store ids nobody else uses; everything is deleted afterwards."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from retailstream import clients
from retailstream.datasets.generator import GenerationRequest, generate
from retailstream.s3util import delete_prefix

_FIRST_FIELD = re.compile(rb"^(\d+)(?=,)")


def unique(label: str) -> str:
    return f"it-{label}-{uuid.uuid4().hex[:10]}"


def generated_tree(out: Path, stores: int = 2, defects: int = 0, seed: int = 42) -> Path:
    """``<out>/incoming`` from the real generator (same code as `retailstream data generate`)."""
    generate(out, GenerationRequest(scale=1, seed=seed, defects=defects, stores=stores))
    return out / "incoming"


def shift_store_ids(incoming: Path, offset: int) -> None:
    """Renumber the stores of a generated tree (store → store + offset) in every file and folder name,
    so loads into the shared RDS tables cannot touch anybody else's rows. Line ends are kept."""
    for path in sorted(incoming.rglob("*.csv")):
        data = path.read_bytes()
        ending = b"\r" if b"\n" not in data else b"\n"
        lines = data.split(ending)
        shifted = [lines[0]] + [
            _FIRST_FIELD.sub(lambda m: str(int(m.group(1)) + offset).encode(), line) for line in lines[1:]
        ]
        path.write_bytes(ending.join(shifted))
    for folder in sorted(incoming.glob("sales/store=*"), reverse=True):
        store = int(folder.name.split("=")[1])
        folder.rename(folder.with_name(f"store={store + offset:02d}"))


def purge_bucket_prefix(bucket: str, prefix: str) -> None:
    delete_prefix(clients.aws_client("s3"), bucket, prefix)


def purge_rds_keys(keys: list[str]) -> None:
    """Delete the audit and quarantine rows of these source keys."""
    if not keys:
        return
    marks = ",".join(["%s"] * len(keys))
    with clients.rds_cursor("pipeline") as cur:
        for table in ("load_quarantine", "load_audit", "load_deletions"):
            cur.execute(f"DELETE FROM {table} WHERE source_key IN ({marks})", keys)


def purge_rds_stores(stores: list[int], key_prefix: str | None = None) -> None:
    """Delete the test's rows (children before the stores they reference) and its audit/quarantine."""
    with clients.rds_cursor("pipeline") as cur:
        if stores:
            marks = ",".join(["%s"] * len(stores))
            for table in ("sales", "store_traffic", "stores"):
                cur.execute(f"DELETE FROM {table} WHERE store IN ({marks})", stores)
        if key_prefix:
            for table in ("load_quarantine", "load_audit", "load_deletions"):
                cur.execute(f"DELETE FROM {table} WHERE source_key LIKE %s", (key_prefix + "%",))
