"""The use-case stage with `spark_master=yarn`: the same ten answers as in local mode."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # yarn_support sits in tests/integration
from yarn_support import run_on_yarn, yarn_application  # noqa: E402

from retailstream.stages.usecases.job import compute_use_cases  # noqa: E402


def _sorted(table):
    return table.sort_by([(name, "ascending") for name in table.column_names])


def test_use_cases_on_yarn_answer_as_in_local_mode(spark, hive_1x, settings, tmp_path):
    app = run_on_yarn(
        "import pyarrow.parquet as pq\n"
        "from retailstream.stages.usecases.job import compute_use_cases\n"
        f"results, _ = compute_use_cases(spark, {hive_1x!r})\n"
        f"for name, table in results.items(): pq.write_table(table, f'{tmp_path}/{{name}}.parquet')",
        settings,
    )
    assert yarn_application(settings, app)["finalStatus"] == "SUCCEEDED"
    local, _ = compute_use_cases(spark, hive_1x)
    assert len(local) == 10 and {p.stem for p in tmp_path.glob("*.parquet")} == set(local)
    for name, table in local.items():
        assert _sorted(pq.read_table(tmp_path / f"{name}.parquet")).equals(_sorted(table)), name
