"""`make bench` — the ten use cases on Spark vs DuckDB over the same Parquet files, at 1× and 20×.

The synthetic data of each scale is generated once into a bench-only folder
(``<lab_dir>/bench/usecases/scale<N>``), read through the project's loader and written as one Parquet
file per dataset with the contract's Arrow schema; later runs reuse it. Spark runs the functions of
``retailstream.usecases.questions`` on DataFrames read from those files; DuckDB (in-process) runs
``usecases_duckdb.sql`` on views over the same files. Both collect their result as Arrow. After one
warm-up pass per engine, each query's best of ``REPEATS`` runs is reported; the ratio is Spark time /
DuckDB time. The two engines' answers are compared too (``agree`` in the notes).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from retailstream.bench.core import Measurement
from retailstream.datasets.contract import arrow_schema
from retailstream.datasets.generator import GENERATOR_VERSION, GenerationRequest, generate
from retailstream.datasets.loader import load
from retailstream.settings import Settings

log = logging.getLogger(__name__)

SCALES = (1, 20)
REPEATS = {1: 3, 20: 2}
SEED = 42
KINDS = ("sales", "stores", "features", "store_traffic")
_FOLDERS = {"stores": "stores", "features": "features", "store_traffic": "store_traffic"}


def bench_dir(settings: Settings) -> Path:
    return settings.lab_dir / "bench" / "usecases"


def parquet_dataset(settings: Settings, scale: int) -> Path:
    """``scale<N>/<kind>.parquet`` for every dataset, generated and converted on first use."""
    target = bench_dir(settings) / f"scale{scale}"
    stamp = {"generator_version": GENERATOR_VERSION, "scale": scale, "seed": SEED}
    marker = target / "_dataset.json"
    if marker.exists() and json.loads(marker.read_text()) == stamp:
        return target
    shutil.rmtree(target, ignore_errors=True)
    work = bench_dir(settings) / f".scale{scale}.csv"
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()
    generate(work, GenerationRequest(scale=scale, seed=SEED))
    incoming = work / "incoming"
    target.mkdir(parents=True)
    # Sales store by store: memory stays bounded by one store's files at 20x.
    with pq.ParquetWriter(target / "sales.parquet", arrow_schema("sales")) as writer:
        for store_dir in sorted((incoming / "sales").iterdir()):
            for path in sorted(store_dir.glob("*.csv")):
                writer.write_table(_arrow(load(path, "sales"), "sales"))
    for kind, folder in _FOLDERS.items():
        frames = [load(path, kind) for path in sorted((incoming / folder).glob("*.csv"))]
        pq.write_table(
            pa.concat_tables([_arrow(frame, kind) for frame in frames]), target / f"{kind}.parquet"
        )
    shutil.rmtree(work)
    marker.write_text(json.dumps(stamp))
    log.info("bench data scale %d ready in %.0f s: %s", scale, time.perf_counter() - started, target)
    return target


def _arrow(frame, kind: str) -> pa.Table:
    return pa.Table.from_pandas(frame, schema=arrow_schema(kind), preserve_index=False)


def duckdb_queries() -> dict[int, str]:
    """Use-case number → DuckDB SQL, from the blocks of usecases_duckdb.sql."""
    text = files("retailstream.bench").joinpath("usecases_duckdb.sql").read_text()
    blocks = text.split("\n-- uc")[1:]
    return {int(block[:2]): block[2:].strip().rstrip(";") for block in blocks}


def _best(run, repeats: int) -> tuple[float, pa.Table]:
    timings, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def agree(spark_result: pa.Table, duckdb_result: pa.Table) -> bool:
    """Same rows in the same order; numbers equal to the cent (the engines round the same values)."""
    if spark_result.num_rows != duckdb_result.num_rows:
        return False
    for name in duckdb_result.column_names:
        mine, theirs = spark_result.column(name).to_pylist(), duckdb_result.column(name).to_pylist()
        if all(isinstance(v, int | float) or v is None for v in mine + theirs):
            left = np.array([np.nan if v is None else v for v in mine], float)
            right = np.array([np.nan if v is None else v for v in theirs], float)
            if not np.allclose(left, right, rtol=1e-9, atol=0.011, equal_nan=True):
                return False
        elif mine != theirs:
            return False
    return True


def run_scale(spark, scale: int, settings: Settings) -> list[Measurement]:
    import duckdb

    from retailstream.usecases.questions import USE_CASES

    folder = parquet_dataset(settings, scale)
    paths = {kind: folder / f"{kind}.parquet" for kind in KINDS}
    frames = [spark.read.parquet(f"file://{paths[kind]}") for kind in KINDS]
    connection = duckdb.connect()
    for kind, path in paths.items():
        connection.execute(f"CREATE VIEW {kind} AS SELECT * FROM read_parquet('{path}')")
    connection.execute(
        "CREATE VIEW sw AS SELECT store, week_date, "
        "sum(CAST(weekly_sales AS DECIMAL(12, 2))) AS store_sales, bool_or(is_holiday) AS is_holiday "
        "FROM sales GROUP BY store, week_date"
    )
    queries = duckdb_queries()
    input_rows = pq.ParquetFile(paths["sales"]).metadata.num_rows
    benchmark = f"usecases {scale}x"
    measurements: list[Measurement] = []
    totals = {"spark": 0.0, "duckdb": 0.0}
    for case in USE_CASES:

        def on_spark(case=case):
            return case.compute(*frames).toArrow()

        def on_duckdb(case=case):
            return connection.sql(queries[case.number]).to_arrow_table()

        on_spark(), on_duckdb()  # warm-up: JIT, file and metadata caches
        spark_seconds, spark_result = _best(on_spark, REPEATS[scale])
        duckdb_seconds, duckdb_result = _best(on_duckdb, REPEATS[scale])
        totals["spark"] += spark_seconds
        totals["duckdb"] += duckdb_seconds
        name = f"uc{case.number:02d}"
        notes = {"result_rows": duckdb_result.num_rows, "agree": agree(spark_result, duckdb_result)}
        measurements.append(Measurement(benchmark, f"{name} spark", spark_seconds, input_rows))
        measurements.append(
            Measurement(
                benchmark, f"{name} duckdb", duckdb_seconds, input_rows, baseline=f"{name} spark", notes=notes
            )
        )
    connection.close()
    measurements.append(Measurement(benchmark, "all ten spark", totals["spark"], input_rows))
    measurements.append(
        Measurement(benchmark, "all ten duckdb", totals["duckdb"], input_rows, baseline="all ten spark")
    )
    return measurements


def run(settings: Settings) -> list[Measurement]:
    from retailstream.spark import get_spark

    spark = get_spark("retailstream-bench-usecases", settings)
    return [m for scale in SCALES for m in run_scale(spark, scale, settings)]
