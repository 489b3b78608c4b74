"""Create the RDS schema (idempotent). The DDL lives in ``schema.sql`` beside this module."""

from __future__ import annotations

from importlib.resources import files

from retailstream import clients
from retailstream.settings import Settings


def schema_statements() -> list[str]:
    text = files("retailstream.rds").joinpath("schema.sql").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


# Foreign keys whose ON DELETE rule changed since tables were first created (CREATE TABLE IF NOT EXISTS
# leaves an existing table as it is): (table, constraint, column, parent, rule).
FOREIGN_KEYS = (
    ("sales", "fk_sales_store", "store", "stores", "CASCADE"),
    ("store_traffic", "fk_traffic_store", "store", "stores", "CASCADE"),
)


def ensure_schema(settings: Settings | None = None) -> None:
    with clients.rds_cursor("pipeline", settings=settings) as cur:
        for statement in schema_statements():
            cur.execute(statement)
        for table, name, column, parent, rule in FOREIGN_KEYS:
            cur.execute(
                "SELECT DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS "
                "WHERE CONSTRAINT_SCHEMA = DATABASE() AND CONSTRAINT_NAME = %s",
                (name,),
            )
            found = cur.fetchone()
            if found and found[0] != rule:
                # Two statements: MariaDB refuses to drop and re-add a constraint name in one ALTER.
                cur.execute(f"ALTER TABLE `{table}` DROP FOREIGN KEY `{name}`")
                cur.execute(
                    f"ALTER TABLE `{table}` ADD CONSTRAINT `{name}` FOREIGN KEY (`{column}`) "
                    f"REFERENCES `{parent}` (`{column}`) ON DELETE {rule}"
                )
