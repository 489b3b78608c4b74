"""Publishing a run's results: RDS reporting tables, Parquet and CSV files, the ``latest`` pointer.

- RDS (db ``settings.rds_reports_database``): each result replaces its table atomically — the rows go
  into a new table first, then one ``RENAME TABLE`` swaps it in, so a reader sees the old table or the
  new one, never a half-written one. The table comment names the run.
- Files: ``<reports_dir>/<run_id>/<table>.parquet|csv`` plus ``manifest.json``, written into a hidden
  staging directory and renamed into place (a rerun with the same run id replaces the directory).
- ``<reports_dir>/latest`` is a symlink to the newest run with a rendered report, replaced atomically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from retailstream import clients
from retailstream.settings import Settings
from retailstream.stages.usecases.source import checked_identifier

MANIFEST = "manifest.json"
LATEST = "latest"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_INSERT_BATCH = 5_000


def checked_run_id(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id) or run_id == LATEST:
        raise ValueError(f"invalid run id {run_id!r}: up to 64 letters, digits, '.', '_' or '-'")
    return run_id


def checked_table_prefix(prefix: str) -> str:
    if prefix and not re.fullmatch(r"[a-z][a-z0-9_]{0,23}", prefix):
        raise ValueError(f"invalid table prefix {prefix!r}: lower-case letters, digits, underscores")
    return prefix


# --- files -----------------------------------------------------------------------------------------


def write_run_files(run_dir: Path, results: Mapping[str, pa.Table], manifest: dict) -> int:
    """Write every result as Parquet and CSV plus the manifest; return the bytes written."""
    staging = run_dir.parent / f".{run_dir.name}.{uuid.uuid4().hex[:8]}.partial"
    staging.mkdir(parents=True)
    try:
        for name, table in results.items():
            pq.write_table(table, staging / f"{name}.parquet")
            pa_csv.write_csv(table, staging / f"{name}.csv")
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        size = sum(path.stat().st_size for path in staging.iterdir())
        _swap_directory(staging, run_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return size


def _swap_directory(staged: Path, target: Path) -> None:
    retired = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.old"
    if target.exists():
        target.rename(retired)
    staged.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def read_run(run_dir: Path) -> tuple[dict, dict[str, pa.Table]]:
    """The manifest and the result tables of a published run directory."""
    manifest_path = run_dir / MANIFEST
    if not manifest_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a published use-case run (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text())
    tables = {name: pq.read_table(run_dir / f"{name}.parquet") for name in manifest["tables"]}
    return manifest, tables


def point_latest(reports_dir: Path, run_id: str) -> Path:
    """Make ``<reports_dir>/latest`` point at ``run_id`` (relative symlink, swapped atomically)."""
    link = reports_dir / LATEST
    temporary = reports_dir / f".{LATEST}.{uuid.uuid4().hex[:8]}"
    temporary.symlink_to(run_id, target_is_directory=True)
    os.replace(temporary, link)
    return link


def resolve_run_dir(reports_dir: Path, run_id: str | None) -> Path:
    if run_id is None:
        link = reports_dir / LATEST
        if not link.exists():
            raise FileNotFoundError(f"no published run yet: {link} does not exist")
        return link.resolve()
    return reports_dir / checked_run_id(run_id)


# --- RDS -------------------------------------------------------------------------------------------


def _mysql_type(field: pa.Field, column: pa.ChunkedArray) -> str:
    kind = field.type
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_integer(kind):
        return "BIGINT" if kind.bit_width > 32 else "INT"
    if pa.types.is_floating(kind):
        return "DOUBLE"
    if pa.types.is_date(kind):
        return "DATE"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        longest = max((len(value) for value in column.to_pylist() if value is not None), default=0)
        return "TEXT" if longest > 255 else "VARCHAR(255)"
    raise TypeError(f"column {field.name}: no RDS type for Arrow type {kind}")


def create_table_sql(name: str, table: pa.Table, key: Sequence[str]) -> str:
    columns = [
        f"`{field.name}` {_mysql_type(field, table.column(field.name))}"
        + ("" if field.nullable else " NOT NULL")
        for field in table.schema
    ]
    # UNIQUE, not PRIMARY: a NULL key column means "all" at that level (see questions.UseCase.key).
    columns.append(f"UNIQUE KEY `uq_{name[:50]}` ({', '.join(f'`{column}`' for column in key)})")
    return f"CREATE TABLE `{name}` ({', '.join(columns)}) ENGINE=InnoDB COMMENT=%s"


def replace_rds_table(cursor, name: str, table: pa.Table, key: Sequence[str], comment: str) -> None:
    """Load ``table`` into a new RDS table, then swap it in for ``name`` with one RENAME TABLE."""
    token = uuid.uuid4().hex[:8]
    staged, retired = f"{name}__new_{token}", f"{name}__old_{token}"
    cursor.execute(create_table_sql(staged, table, key), (comment,))
    try:
        columns = ", ".join(f"`{column}`" for column in table.column_names)
        placeholders = ", ".join(["%s"] * table.num_columns)
        insert = f"INSERT INTO `{staged}` ({columns}) VALUES ({placeholders})"
        for batch in table.to_batches(_INSERT_BATCH):
            rows = list(zip(*(column.to_pylist() for column in batch.columns), strict=True))
            cursor.executemany(insert, rows)
        cursor.execute(f"CREATE TABLE IF NOT EXISTS `{name}` LIKE `{staged}`")
        cursor.execute(f"RENAME TABLE `{name}` TO `{retired}`, `{staged}` TO `{name}`")
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS `{staged}`, `{retired}`")


def publish_rds(
    results: Mapping[str, pa.Table],
    keys: Mapping[str, Sequence[str]],
    run_id: str,
    settings: Settings,
    table_prefix: str = "",
) -> dict[str, str]:
    """Replace every reporting table; return result name → RDS table name."""
    published = {}
    database = checked_identifier(settings.rds_reports_database)
    connection = clients.rds_connect("pipeline", "", settings, autocommit=True)
    with connection, connection.cursor() as cursor:
        # The lab creates the default one; a namespaced run (settings namespaces) brings its own.
        cursor.execute(
            f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        cursor.execute(f"USE `{database}`")
        for name, table in results.items():
            target = f"{checked_table_prefix(table_prefix)}{name}"
            replace_rds_table(cursor, target, table, keys[name], f"retailstream use cases, run {run_id}")
            published[name] = target
    return published
