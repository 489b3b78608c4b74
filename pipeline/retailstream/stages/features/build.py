"""The PySpark feature job: raw feature CSVs in HDFS → Hive ``retail.features`` (Parquet, by year).

Everything runs as Spark SQL functions over the whole input (no Python UDFs; only counts, and a few
values per file for the date format, reach the driver):

1. read every ``*.csv`` of the raw area as text, columns named by the contract's headers (a typed read
   would turn an unparsable value into a NULL without a reason). A file whose header differs from the
   contract's fails the job (a file-level problem); a row with the wrong number of fields is kept whole
   for quarantine;
2. type each column into ``contract.spark_schema(kind, all_nullable=True)`` by the pandas loader's rules
   (``datasets.textvalues``): ``NA`` or empty → NULL; ASCII integers and numbers by its patterns, dates
   in the one format of their file (``textvalues.decide_date_format`` on the file's date counts),
   booleans TRUE/FALSE in any case;
3. a row's rejection reason is the first of: its file mixes date formats (every row of it is
   quarantined), wrong field count, an unparsable value, the first broken contract rule
   (``contract.spark_rejection_reason`` — the contract is the only source of rules);
4. valid rows are deduplicated on the key (store, week_date): the row of the newest file (greatest
   name, e.g. a ``_v2`` resubmission) wins, ties broken by the row's values so every run keeps the same
   row; the others are kept in quarantine as duplicates, so nothing is lost;
5. ``features`` is written partitioned by year (one Parquet file per year) and ``features_quarantine``
   (source file, raw line, reason) is rewritten; partitions of years gone from the input are dropped,
   so the table is a function of the raw files and a rerun leaves the same rows.
"""

from __future__ import annotations

import json
import logging
import posixpath
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from retailstream import clients
from retailstream.datasets import textvalues
from retailstream.datasets.contract import ColumnSpec, contract, spark_rejection_reason, spark_schema
from retailstream.datasets.textvalues import ANY_DATE_FORMAT, PARSE_FAILURES, anchored
from retailstream.monitoring.metrics import stage_run
from retailstream.settings import Settings
from retailstream.stages.features.upload import features_hdfs_dir
from retailstream.warehouse import (
    HiveColumn,
    create_table_sql,
    drop_partitions,
    ensure_database,
    partition_values,
    qualified,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

KIND = "features"
# TBLPROPERTIES of the features table: the fingerprint of what built it, and that build's counts.
FINGERPRINT = "retailstream.fingerprint"
FINGERPRINT_COUNTS = "retailstream.fingerprint.counts"
PARTITION = "year"
LOADED, QUARANTINED, DUPLICATE = "loaded", "quarantined", "duplicate"
_CORRUPT = "_corrupt_record"
# Per source file: its date format's name, or why the whole file is quarantined.
_DATE_FORMAT, _FILE_REASON = "_date_format", "_file_reason"


@dataclass
class FeaturesReport:
    table: str
    quarantine_table: str
    rows_in: int = 0
    rows_out: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_by_year: dict[int, int] = field(default_factory=dict)
    skipped: bool = False  # inputs and code unchanged since the last build: nothing rewritten

    def reconciles(self) -> bool:
        return self.rows_in == self.rows_out + self.rows_quarantined + self.rows_duplicate


def feature_columns() -> list[HiveColumn]:
    return [HiveColumn(spec.name, spec.type, spec.description) for spec in contract(KIND).columns]


QUARANTINE_COLUMNS = [
    HiveColumn("source_file", "string", "HDFS file the row came from"),
    HiveColumn("raw", "string", "the row as read (fields joined by commas)"),
    HiveColumn("reason", "string", "why the row was not loaded"),
    HiveColumn("status", "string", f"{QUARANTINED} (invalid) or {DUPLICATE} (key already loaded)"),
]


def _missing_as_null(column: Column) -> Column:
    from pyspark.sql import functions as F

    text = F.trim(column, F.lit(textvalues.PADDING))
    return F.when(text.isNull() | (text == "") | (F.upper(text) == textvalues.MISSING), None).otherwise(text)


def _typed(spec: ColumnSpec, text: Column) -> Column:
    """The value in its contract type; NULL when missing or unparsable."""
    from pyspark.sql import functions as F

    if spec.type == "int":
        return F.when(text.rlike(anchored(textvalues.INTEGER)), text.cast("int"))
    if spec.type == "float":
        # Infinity from an overflow (1e999) stays: the contract's bounds reject it, as in pandas.
        return F.when(text.rlike(anchored(textvalues.NUMBER)), text.try_cast("double"))
    if spec.type == "date":
        date_format = F.col(_DATE_FORMAT)  # the file's, never decided value by value
        return F.coalesce(
            *(
                F.when(
                    (date_format == known.name) & text.rlike(anchored(known.pattern)),
                    F.try_to_date(text, known.spark),
                )
                for known in textvalues.DATE_FORMATS
            )
        )
    if spec.type == "bool":
        flags = [
            F.when(F.upper(text) == spelled, F.lit(value)) for spelled, value in textvalues.FLAGS.items()
        ]
        return F.coalesce(*flags)
    return text


def _parse_failure(spec: ColumnSpec) -> Column:
    from pyspark.sql import functions as F

    if spec.type == "date":
        expected = F.coalesce(F.col(_DATE_FORMAT), F.lit(ANY_DATE_FORMAT))
        return F.format_string(PARSE_FAILURES["date"], expected)
    return F.lit(PARSE_FAILURES[spec.type])


def _file_date_formats(raw: DataFrame, text: Column) -> DataFrame:
    """Per source file, the date format ``textvalues.decide_date_format`` picks from all of its dates
    (``text``; NULL when none looks like a date), or the reason a file mixing formats is quarantined."""
    from pyspark.sql import functions as F

    split = F.col(_CORRUPT).isNull()  # a row of the wrong width has no date column to trust
    slash = split & text.rlike(anchored(textvalues.SLASH_DATE))
    first, second = (F.regexp_extract(text, textvalues.SLASH_DATE, group).try_cast("int") for group in (1, 2))

    def example(condition: Column) -> Column:
        return F.min(F.when(condition, F.concat(F.lit("'"), text, F.lit("'"))))

    def fridays(reading: textvalues.DateFormat) -> Column:
        return F.count(F.when(slash & (F.dayofweek(F.try_to_date(text, reading.spark)) == 6), True))

    evidence = raw.groupBy("source_file").agg(
        example(split & text.rlike(anchored(textvalues.ISO.pattern))).alias("iso"),
        example(slash).alias("slash"),
        example(slash & (first > 12)).alias("day_first"),
        example(slash & (second > 12)).alias("month_first"),
        fridays(textvalues.DAY_FIRST).alias("day_first_fridays"),
        fridays(textvalues.MONTH_FIRST).alias("month_first_fridays"),
    )
    decided = []
    for row in evidence.collect():
        facts = row.asDict()
        source_file = facts.pop("source_file")
        try:
            date_format = textvalues.decide_date_format(textvalues.DateEvidence(**facts))
        except textvalues.MixedDateFormats as error:
            decided.append((source_file, None, str(error)))
        else:
            decided.append((source_file, date_format.name if date_format else None, None))
    schema = f"source_file string, {_DATE_FORMAT} string, {_FILE_REASON} string"
    return raw.sparkSession.createDataFrame(decided, schema)


@dataclass(frozen=True)
class RejectedFile:
    path: str
    rows: int  # the data rows it held (a lower bound when it could not be read to the end)
    reason: str


def screen_files(s: Settings, folder: str) -> tuple[list[str], list[RejectedFile]]:
    """The feature files Spark can read row by row, and those rejected as a whole (not UTF-8 text, empty,
    another dataset's or a broken header…, as the loader decides): one bad file is quarantined with its
    reason instead of failing the job for every file. Feature files are small: each is read once here."""
    from retailstream.datasets.loader import DataFileError, check_file, count_data_rows

    client = clients.hdfs_client(s)
    readable, rejected = [], []
    for name in sorted(n for n in client.list(folder) if n.endswith(".csv") and not n.startswith(("_", "."))):
        path = posixpath.join(folder, name)
        with client.read(path) as reader:
            data = reader.read()
        try:
            check_file(data, KIND, name=name, max_inflated_mb=s.max_inflated_mb)
        except DataFileError as error:
            rows, exact = count_data_rows(data, s.max_inflated_mb)
            held = f"{rows} rows" if exact else f"at least {rows} rows"
            rejected.append(
                RejectedFile(f"{s.hdfs_url}{path}", rows, f"file rejected ({held}): {error.reason}")
            )
            log.warning("features.file_rejected path=%s reason=%s", path, error.reason)
        else:
            readable.append(f"{s.hdfs_url}{path}")
    return readable, rejected


def read_raw(spark: SparkSession, paths: list[str]) -> DataFrame:
    """The CSV files ``paths`` as text columns named by the contract headers, plus the file."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    dataset = contract(KIND)
    schema = T.StructType(
        [T.StructField(header, T.StringType()) for header in dataset.headers]
        + [T.StructField(_CORRUPT, T.StringType())]
    )
    if not paths:
        return spark.createDataFrame([], schema.add("source_file", T.StringType()))
    return (
        spark.read.schema(schema)
        .option("header", True)
        .option("enforceSchema", False)  # a file with other headers fails instead of loading shifted
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _CORRUPT)
        .csv(paths)
        .withColumn("source_file", F.col("_metadata.file_path"))
    )


def classify(raw: DataFrame) -> DataFrame:
    """Typed contract columns, ``year``, ``source_file``, ``raw``, ``reason`` and ``status`` per row."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    dataset = contract(KIND)
    width = len(dataset.columns)
    # The raw file is read as text (a typed read would turn "warm" into a silent NULL); each value is
    # parsed here into the type the contract's Spark schema declares.
    schema = spark_schema(KIND, all_nullable=True)
    texts = {spec.name: _missing_as_null(F.col(spec.header)) for spec in dataset.columns}
    # The date format is decided per file, from its one date column (the unpacking fails if there were more).
    (date_spec,) = (spec for spec in dataset.columns if spec.type == "date")
    raw = raw.join(F.broadcast(_file_date_formats(raw, texts[date_spec.name])), "source_file", "left")
    typed = {
        spec.name: _typed(spec, texts[spec.name]).cast(schema[spec.name].dataType) for spec in dataset.columns
    }
    field_count = F.size(F.split(F.col(_CORRUPT), ",", -1))
    parse_reasons = [
        F.when(
            texts[spec.name].isNotNull() & typed[spec.name].isNull(),
            F.concat(
                F.lit(f"{spec.name} "), _parse_failure(spec), F.lit(", got '"), texts[spec.name], F.lit("'")
            ),
        )
        for spec in dataset.columns
        if spec.type != "string"
    ]
    parsed = raw.select(
        *(typed[spec.name].alias(spec.name) for spec in dataset.columns),
        "source_file",
        F.coalesce(
            F.col(_CORRUPT),
            F.concat_ws(",", *(F.coalesce(F.col(header), F.lit("")) for header in dataset.headers)),
        ).alias("raw"),
        F.coalesce(
            F.col(_FILE_REASON),
            F.when(
                F.col(_CORRUPT).isNotNull(),
                F.concat(F.lit(f"expected {width} fields, found "), field_count.cast("string")),
            ),
            *parse_reasons,
        ).alias("parse_reason"),
    )
    checked = parsed.withColumn("reason", F.coalesce("parse_reason", spark_rejection_reason(KIND))).drop(
        "parse_reason"
    )

    key = list(dataset.key)
    others = [name for name in dataset.names if name not in key]
    valid = F.col("reason").isNull()
    # Valid rows rank among themselves: an invalid row with the same key never displaces a valid one.
    newest_first = Window.partitionBy(valid, *key).orderBy(
        F.col("source_file").desc(), *(F.col(name).asc_nulls_first() for name in others), "raw"
    )
    rank = F.when(valid, F.row_number().over(newest_first))
    kept_from = F.first("source_file").over(newest_first)
    return (
        checked.withColumn("_rank", rank)
        .withColumn(
            "status",
            F.when(~valid, F.lit(QUARANTINED)).when(F.col("_rank") == 1, F.lit(LOADED)).otherwise(DUPLICATE),
        )
        .withColumn(
            "reason",
            F.when(
                F.col("status") == DUPLICATE,
                F.concat(F.lit(f"duplicate key ({', '.join(key)}): kept the row of "), kept_from),
            ).otherwise(F.col("reason")),
        )
        .withColumn(PARTITION, F.when(F.col("status") == LOADED, F.year("week_date")))
        .drop("_rank")
    )


def build_features_table(
    settings: Settings,
    spark: SparkSession | None = None,
    *,
    source: str | None = None,
    database: str | None = None,
    table: str = KIND,
    quarantine_table: str = f"{KIND}_quarantine",
    force: bool = False,
) -> FeaturesReport:
    """Stage ``features_hive``: the raw feature files (``source``, an HDFS folder) → Hive tables.

    When the input files and this code are unchanged since the table was built (the fingerprint kept
    in its TBLPROPERTIES), the rebuild would write identical tables: it is skipped, without starting
    Spark, unless ``force``."""
    from retailstream import fingerprint
    from retailstream.datasets import contract as contract_module

    s = settings
    database = database or s.hive_database
    folder = source or features_hdfs_dir(s)
    if not [name for name in clients.hdfs_client(s).list(folder) if name.endswith(".csv")]:
        # An empty input would rebuild an empty table: refuse instead.
        raise FileNotFoundError(
            f"no feature files (*.csv) in hdfs://{folder}: run `retailstream features upload`"
        )
    report = FeaturesReport(qualified(database, table), qualified(database, quarantine_table))
    digest = fingerprint.combine(
        fingerprint.hdfs_digest([folder], s),
        fingerprint.code_digest(sys.modules[__name__], contract_module, textvalues),
        report.table,
        report.quarantine_table,
    )
    built = fingerprint.hive_table_properties(s, database, table)
    if not force and built.get(FINGERPRINT) == digest:
        counts = json.loads(built[FINGERPRINT_COUNTS])
        with stage_run("features_hive", s) as run:
            report.rows_in, report.rows_out = counts["rows_in"], counts["rows_out"]
            report.rows_quarantined, report.rows_duplicate = (
                counts["rows_quarantined"],
                counts["rows_duplicate"],
            )
            report.rows_by_year = {int(year): rows for year, rows in counts["rows_by_year"].items()}
            run.rows_in, run.rows_out = report.rows_in, report.rows_out
            run.rows_quarantined, run.rows_duplicate = report.rows_quarantined, report.rows_duplicate
            run.details["skipped"] = "inputs and code unchanged since the last build"
            report.skipped = True
        log.info(
            "features: %s is up to date with hdfs://%s (fingerprint %s)", report.table, folder, digest[:12]
        )
        return report
    from pyspark.sql import functions as F

    if spark is None:
        from retailstream.spark import get_spark

        spark = get_spark("retailstream-features", s)
    with stage_run("features_hive", s) as run:
        ensure_database(spark, database, s)
        spark.sql(
            create_table_sql(
                database,
                table,
                feature_columns(),
                HiveColumn(PARTITION, "int", "year of week_date"),
                contract(KIND).description,
            )
        )
        spark.sql(create_table_sql(database, quarantine_table, QUARANTINE_COLUMNS))

        readable, rejected = screen_files(s, folder)
        report.rows_in = report.rows_quarantined = sum(file.rows for file in rejected)
        outcome = classify(read_raw(spark, readable)).persist()
        try:
            for row in outcome.groupBy("status", PARTITION).count().collect():
                report.rows_in += row["count"]
                if row["status"] == LOADED:
                    report.rows_out += row["count"]
                    report.rows_by_year[row[PARTITION]] = row["count"]
                elif row["status"] == QUARANTINED:
                    report.rows_quarantined += row["count"]
                else:
                    report.rows_duplicate += row["count"]

            names = contract(KIND).names
            (
                outcome.where(F.col("status") == LOADED)
                .repartition(PARTITION)  # one file per year
                .sortWithinPartitions(*contract(KIND).key)
                .select(*names, PARTITION)
                .write.insertInto(report.table, overwrite=True)
            )
            stale = partition_values(spark, database, table) - {str(year) for year in report.rows_by_year}
            drop_partitions(spark, database, table, PARTITION, stale)
            whole_files = spark.createDataFrame(
                [(file.path, None, file.reason, QUARANTINED) for file in rejected],
                ", ".join(f"{column.name} string" for column in QUARANTINE_COLUMNS),
            )
            (
                outcome.where(F.col("status") != LOADED)
                .select(*(column.name for column in QUARANTINE_COLUMNS))
                .unionByName(whole_files)
                .coalesce(1)
                .write.insertInto(report.quarantine_table, overwrite=True)
            )
        finally:
            outcome.unpersist()
        counts = {
            "rows_in": report.rows_in,
            "rows_out": report.rows_out,
            "rows_quarantined": report.rows_quarantined,
            "rows_duplicate": report.rows_duplicate,
            "rows_by_year": {str(year): rows for year, rows in report.rows_by_year.items()},
        }
        spark.sql(
            f"ALTER TABLE {report.table} SET TBLPROPERTIES ("
            f"'{FINGERPRINT}' = '{digest}', '{FINGERPRINT_COUNTS}' = '{json.dumps(counts)}')"
        )
        spark.catalog.refreshTable(report.table)
        spark.catalog.refreshTable(report.quarantine_table)

        run.rows_in, run.rows_out = report.rows_in, report.rows_out
        run.rows_quarantined, run.rows_duplicate = report.rows_quarantined, report.rows_duplicate
        run.details["years"] = sorted(report.rows_by_year)
        run.details["files_rejected"] = [file.path for file in rejected]
    log.info(
        "features: %d rows in, %d loaded into %s, %d quarantined, %d duplicates",
        report.rows_in,
        report.rows_out,
        report.table,
        report.rows_quarantined,
        report.rows_duplicate,
    )
    return report
