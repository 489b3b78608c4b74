"""Copies of the RDS tables under a name suffix (``sales_t3f9…``), for tests and benchmarks.

The shared ``stores``/``sales``/``store_traffic`` belong to the pipeline (stage 1 loads them); a test or a
benchmark works on ``<table><suffix>`` copies made with ``CREATE TABLE … LIKE`` — same columns, keys,
indexes and checks, no foreign keys (so a test can plant orphans on purpose) — loads them with
``LOAD DATA LOCAL INFILE`` (the fast bulk path) and drops them afterwards.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from retailstream import clients
from retailstream.datasets.contract import contract
from retailstream.settings import Settings
from retailstream.warehouse import identifier

if TYPE_CHECKING:
    import pandas as pd

TABLES = ("stores", "sales", "store_traffic")


def copy_names(suffix: str) -> dict[str, str]:
    return {table: f"{table}{suffix}" for table in TABLES}


def create_copies(suffix: str, settings: Settings | None = None) -> dict[str, str]:
    """Empty ``<table><suffix>`` copies of the three tables (replacing earlier ones)."""
    if not suffix:
        raise ValueError("a copy needs a non-empty suffix")
    names = copy_names(suffix)
    with clients.rds_cursor("pipeline", settings=settings) as cur:
        for table, copy in names.items():
            cur.execute(f"DROP TABLE IF EXISTS {identifier(copy)}")
            cur.execute(f"CREATE TABLE {identifier(copy)} LIKE {identifier(table)}")
    return names


def drop_copies(suffix: str, settings: Settings | None = None) -> None:
    if not suffix:
        raise ValueError("refusing to drop the pipeline's own tables (empty suffix)")
    with clients.rds_cursor("pipeline", settings=settings) as cur:
        for copy in copy_names(suffix).values():
            cur.execute(f"DROP TABLE IF EXISTS {identifier(copy)}")


def load_frame(
    table: str, kind: str, frame: pd.DataFrame, source_key: str, settings: Settings | None = None
) -> int:
    """Bulk-load a canonical ``kind`` frame into ``table`` (a row with an existing key replaces it)."""
    names = contract(kind).names
    rows = frame[names].assign(source_key=source_key)
    flags = [name for name in names if rows[name].dtype == bool]
    rows[flags] = rows[flags].astype("int8")  # MariaDB BOOLEAN is TINYINT(1)
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8") as tsv:
        rows.to_csv(tsv, sep="\t", header=False, index=False, na_rep="\\N", date_format="%Y-%m-%d")
        tsv.flush()
        columns = ", ".join(identifier(name) for name in rows.columns)
        conn = clients.rds_connect("pipeline", settings=settings, local_infile=True)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"LOAD DATA LOCAL INFILE %s REPLACE INTO TABLE {identifier(table)} "
                    f"FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' ({columns})",
                    (tsv.name,),
                )
            conn.commit()
        finally:
            conn.close()
    return len(rows)


def load_incoming(incoming: Path, suffix: str, settings: Settings | None = None) -> dict[str, int]:
    """Load a generated (or prepared) ``incoming/`` tree into the ``<table><suffix>`` copies."""
    import pandas as pd

    from retailstream.datasets.loader import load

    counts = {}
    for kind in TABLES:
        files = sorted((incoming / kind).rglob("*.csv"))
        if not files:
            continue
        frame = pd.concat([load(path, kind) for path in files], ignore_index=True)
        counts[kind] = load_frame(f"{kind}{suffix}", kind, frame, f"sandbox/{kind}", settings)
    return counts
