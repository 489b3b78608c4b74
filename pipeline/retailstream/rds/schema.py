"""Create the RDS schema (idempotent). The DDL lives in ``schema.sql`` beside this module."""

from __future__ import annotations

from importlib.resources import files

from retailstream import clients
from retailstream.settings import Settings


def schema_statements() -> list[str]:
    text = files("retailstream.rds").joinpath("schema.sql").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def ensure_schema(settings: Settings | None = None) -> None:
    with clients.rds_cursor("pipeline", settings=settings) as cur:
        for statement in schema_statements():
            cur.execute(statement)
