"""Pure logic of the RDS → Hive transfer: tables, import windows and the Sqoop command line."""

from __future__ import annotations

from datetime import datetime

import pytest

from retailstream.datasets.contract import contract
from retailstream.rds.schema import schema_statements
from retailstream.stages.transfer.sqoop import SqoopImport
from retailstream.stages.transfer.tables import TABLES, transfer_table
from retailstream.stages.transfer.window import Window, sql_timestamp

LOWER = datetime(2026, 1, 2, 3, 4, 5, 678000)
UPPER = datetime(2026, 1, 2, 3, 9, 0)


def test_transferred_columns_are_the_rds_columns_in_table_order(settings):
    # Sqoop's mysqldump path dumps every column in table order: the transferred list must match it.
    ddl = {stmt.split()[5]: stmt for stmt in schema_statements() if stmt.startswith("CREATE TABLE")}
    for name, table in TABLES.items():
        body = ddl[name].split("(", 1)[1]
        declared = [line.split()[0] for line in body.splitlines() if line.strip() and line.startswith("  ")]
        columns = [word for word in declared if word not in {"PRIMARY", "KEY", "CONSTRAINT"}]
        assert columns == table.columns
        assert table.columns[: len(contract(name).names)] == contract(name).names


def test_tables_partitioning_and_split_columns():
    assert transfer_table("sales").partitioned and transfer_table("store_traffic").partitioned
    assert not transfer_table("stores").partitioned
    assert transfer_table("stores").parallelism(4) == 1 and transfer_table("sales").parallelism(4) == 4
    assert all(table.split_by == table.key[0] for table in TABLES.values())
    with pytest.raises(ValueError, match="unknown table"):
        transfer_table("features")


def test_window_conditions_are_half_open():
    assert Window(LOWER, UPPER).condition("updated_at") == (
        "`updated_at` >= %s AND `updated_at` < %s",
        (LOWER, UPPER),
    )
    assert Window(None, UPPER).condition("updated_at") == ("`updated_at` < %s", (UPPER,))
    assert Window(LOWER, UPPER).literal_condition("updated_at") == (
        "`updated_at` >= '2026-01-02 03:04:05.678' AND `updated_at` < '2026-01-02 03:09:00.000'"
    )
    assert not Window(None, UPPER).empty and not Window(LOWER, UPPER).empty
    assert Window(UPPER, UPPER).empty and Window(UPPER, LOWER).empty
    assert sql_timestamp(LOWER) == "2026-01-02 03:04:05.678"
    with pytest.raises(ValueError, match="identifier"):
        Window(None, UPPER).condition("updated_at; DROP TABLE sales")


def _spec(**overrides) -> SqoopImport:
    values = {
        "table": "sales_t1",
        "columns": tuple(transfer_table("sales").columns),
        "split_by": "store",
        "mappers": 4,
        "fetch_size": 10000,
        "direct": False,
        "check_column": "updated_at",
        "window": Window(LOWER, UPPER),
        "target_dir": "/retail/staging/sales_t1/x/delta",
    }
    return SqoopImport(**{**values, **overrides})


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_sqoop_jdbc_import_arguments(settings):
    args = _spec().tool_args(settings, "analyst", "file:///secret/analyst.password")
    assert args[0] == "import"
    generic = [args[i + 1] for i, arg in enumerate(args) if arg == "-D"]
    assert generic == ["mapreduce.framework.name=yarn", f"fs.defaultFS={settings.hdfs_url}"]  # on the cluster
    local = settings.model_copy(update={"mapreduce_framework": "local"})
    args_local = _spec().tool_args(local, "analyst", "file:///secret/analyst.password")
    generic_local = [args_local[i + 1] for i, arg in enumerate(args_local) if arg == "-D"]
    # In one JVM Sqoop honours -m only when it sees local mode by that key; the local runner's mappers
    assert "mapreduce.framework.name=local" in generic_local
    assert "mapreduce.jobtracker.address=local" in generic_local
    assert "mapreduce.local.map.tasks.maximum=4" in generic_local
    assert max(i for i, arg in enumerate(args) if arg == "-D") < args.index("--connect")  # -D first
    assert _option(args, "--connect") == f"jdbc:mysql://{settings.rds_host}:{settings.rds_port}/retail"
    assert _option(args, "--driver") == "org.mariadb.jdbc.Driver"
    assert _option(args, "--fetch-size") == "10000" and _option(args, "-m") == "4"
    assert _option(args, "--split-by") == "store"
    assert _option(args, "--password-file") == "file:///secret/analyst.password"
    assert "--password" not in args and "-P" not in args
    assert _option(args, "--incremental") == "lastmodified"
    assert _option(args, "--check-column") == "updated_at"
    assert _option(args, "--last-value") == "2026-01-02 03:04:05.678"
    assert _option(args, "--where") == "`updated_at` < '2026-01-02 03:09:00.000'"
    assert _option(args, "--columns").split(",") == transfer_table("sales").columns
    assert _option(args, "--fields-terminated-by") == "\\001"
    assert _option(args, "--null-string") == "\\\\N"
    assert "--direct" not in args


def test_sqoop_direct_and_first_import_arguments(settings):
    args = _spec(direct=True, window=Window(None, UPPER)).tool_args(settings, "analyst", "file:///p")
    assert "--direct" in args
    assert "--driver" not in args and "--fetch-size" not in args and "--null-string" not in args
    assert "--last-value" not in args  # first import: everything before the window's end


def test_sqoop_command_line_is_a_shell_command(settings):
    line = _spec().command_line(settings)
    assert line.startswith("sqoop import -D mapreduce.framework.name=yarn")
    assert "--where '`updated_at` < '\"'\"'2026-01-02 03:09:00.000'\"'\"''" in line
    assert settings.rds_analyst_password.get_secret_value() not in line
