"""Run the rules on an engine: DuckDB (embedded, the default) or Apache Spark.

The same ibis expressions (``madoguchi.scan.rules``) are compiled for either backend; only the
connection and the name-check UDF's binding differ (see ``namematch``).
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from madoguchi.scan import namematch, rules, schema

__all__ = ["DUCKDB_MEMORY_LIMIT", "ENGINES", "Engine", "connect", "spark_session"]

ENGINES = ("duckdb", "spark")

DUCKDB_MEMORY_LIMIT = "5GB"
"""DuckDB's own limit (the scan's target is 8 GiB for the whole process: this leaves room for
Python, the name check and the findings); above it DuckDB spills sorts and joins to disk."""

# What pyarrow's utf8_trim_whitespace strips (Unicode White_Space): an optional text value made
# only of these is empty, as schema.load reads it.
_WHITESPACE = " || ".join(
    f"chr({c})"
    for c in (
        *(9, 10, 11, 12, 13, 32, 0x85, 0xA0, 0x1680),
        *range(0x2000, 0x200B),
        *(0x2028, 0x2029, 0x202F, 0x205F, 0x3000),
    )
)


def _parquet_view_sql(table: str, path: Path) -> str | None:
    """A SELECT over ``read_parquet`` giving the table exactly as ``schema.load`` would (the
    columns in order, optional blank text as null), or None when a column's stored type needs
    a conversion that only ``schema.load`` makes (then the validated Arrow table is used)."""
    stored = pq.read_schema(path)
    cols = []
    for spec in schema.TABLES[table]:
        if spec.name not in stored.names:
            return None
        typ = stored.field(spec.name).type
        name = '"' + spec.name.replace('"', '""') + '"'
        if spec.type == schema.STR:
            if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
                return None
            if spec.required:
                cols.append(name)
            else:
                # Blank only if it starts with white space: the cheap test first (trim with
                # a set of characters costs about ten times a plain read).
                blank = (
                    f"{name} = '' OR (contains({_WHITESPACE}, left({name}, 1)) "
                    f"AND trim({name}, {_WHITESPACE}) = '')"
                )
                cols.append(f"CASE WHEN {blank} THEN NULL ELSE {name} END AS {name}")
        elif typ == spec.type:
            cols.append(name)
        else:
            return None
    literal = duckdb_literal_path(path)
    return f"SELECT {', '.join(cols)} FROM read_parquet({literal})"  # noqa: S608


def duckdb_literal_path(path: Path) -> str:
    """The file's absolute path as a DuckDB string literal read as that one file: DuckDB takes
    ``*``, ``?`` and ``[`` in a path for a glob (a directory ``scan[2026]`` would read
    ``scan2``'s file), so each is bracketed as a class of one character, which matches only
    itself."""
    text = str(path.resolve())
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in text)
    return "'" + escaped.replace("'", "''") + "'"


def spark_literal_path(path: Path | str) -> str:
    """A path or URI as Spark (Hadoop's globbing) reads it as that one file: ``{``, ``}``,
    ``[``, ``]``, ``*``, ``?`` and ``\\`` are glob syntax there, escaped with a backslash."""
    text = str(path.resolve()) if isinstance(path, Path) else path
    return "".join("\\" + c if c in "{}[]*?\\" else c for c in text)


_SPARK_WHITESPACE = r"\p{IsWhite_Space}"
"""Unicode White_Space in Java's regular expressions: the same set as ``_WHITESPACE``."""


def _spark_readable(table: str, path: Path) -> bool:
    """Whether Spark can read the table's file itself and give every column as
    ``schema.load`` would (see ``_spark_columns``): CSV (read as text, converted in Spark),
    or Parquet whose columns are text, integers, dates or timestamps in microseconds or
    coarser. Otherwise (nanoseconds, which Spark cannot read; a column of nulls only; any
    other type ``schema.batches`` converts) the validated batches are staged as Parquet."""
    if path.suffix == ".csv":
        return True
    stored = pq.read_schema(path)
    for spec in schema.TABLES[table]:
        typ = stored.field(spec.name).type
        if pa.types.is_dictionary(typ):
            typ = typ.value_type
        text = pa.types.is_string(typ) or pa.types.is_large_string(typ)
        if spec.type == schema.STR:
            ok = text or pa.types.is_integer(typ)
        elif pa.types.is_timestamp(typ):
            # Spark reads a zoned timestamp as an instant: as a date it would be the UTC
            # date, which schema.batches does not promise; leave that to it.
            ok = typ.unit != "ns" and (spec.type == schema.TS or typ.tz is None)
        else:
            ok = text or pa.types.is_date(typ)
        if not ok:
            return False
    return True


def _spark_columns(df: Any, table: str) -> list[Any]:
    """The table's columns from a DataFrame Spark read, in the format's order and types as
    ``createDataFrame(schema.load(...))`` gives them: text (blank optional text as null),
    dates, and timestamps as Spark's ``timestamp`` in the session's zone (UTC: the local
    clock times of the input unchanged)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    stored = {f.name: f.dataType for f in df.schema.fields}
    ws = _SPARK_WHITESPACE
    cols = []
    for spec in schema.TABLES[table]:
        col = F.col(f"`{spec.name}`")
        typ = stored[spec.name]
        if isinstance(typ, T.StringType) and not spec.required:
            # Blank only if it starts with white space: the cheap test first.
            blank = (col == "") | (F.substring(col, 1, 1).rlike(f"^{ws}$") & col.rlike(f"^{ws}+$"))
            col = F.when(blank, F.lit(None)).otherwise(col)
        if spec.type == schema.STR:
            col = col if isinstance(typ, T.StringType) else col.cast("string")
        elif spec.type == schema.TS:
            # Text: validated YYYY-MM-DD[T ]HH:MM:SS[.fff]; Spark's cast reads exactly that.
            # A Parquet timestamp without zone is a timestamp_ntz: cast in the UTC session.
            col = col if isinstance(typ, T.TimestampType) else col.cast("timestamp")
        else:
            col = col if isinstance(typ, T.DateType) else col.cast("date")
        cols.append(col.alias(spec.name))
    return cols


def _spark_frame(session: Any, table: str, path: Path, staging: Path) -> Any:
    """One validated table as a Spark DataFrame read by Spark from the file (nothing through
    the driver's memory). A file Spark cannot give as ``schema.load`` would is first
    rewritten as Parquet in ``staging``, streamed batch by batch through ``schema.batches``
    (on a cluster ``staging`` must be reachable by every executor)."""
    if not _spark_readable(table, path):
        staged = staging / f"{table}.parquet"
        staging.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(staged, schema.arrow_schema(table), compression="zstd") as out:
            for batch in schema.batches(path, table):
                out.write_batch(batch)
        path = staged
    if path.suffix == ".csv":
        from pyspark.sql import types as T

        # Every column as text, by the header's names (the BOM stripped as schema.batches
        # does); Spark's own CSV options set to the RFC 4180 dialect pyarrow reads.
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
        text = T.StructType([T.StructField(h, T.StringType()) for h in header])
        df = session.read.csv(
            spark_literal_path(path),
            schema=text,
            header=True,
            encoding="UTF-8",
            quote='"',
            escape='"',
            mode="FAILFAST",
        )
    else:
        df = session.read.parquet(spark_literal_path(path))
    return df.select(*_spark_columns(df, table))


def spark_session(master: str = "local[2]", **conf: str) -> Any:
    """A Spark session with quiet logs, no UI and UTC time (timestamps in the input are local
    clock times without a zone; UTC keeps Spark from shifting them)."""
    from pyspark.sql import SparkSession

    # The Python workers run this interpreter (its environment has the name check).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("madoguchi-scan")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
    )
    if master.startswith("local"):
        # Locally 8 shuffle partitions. A cluster keeps Spark's default (200, coalesced by
        # adaptive execution), not 8 tasks per shuffle at national scale; on local[2] at
        # 200,000 links 2, 8 and 200 partitions cost the same CPU within the noise.
        builder = builder.config("spark.sql.shuffle.partitions", "8")
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass
class Engine:
    name: str
    con: Any
    backend: str
    """ibis backend name: duckdb or pyspark."""
    _staged: int = 0
    scratch: Path | None = None
    """Spark: where files it cannot read as they are get staged (removed by ``connect``)."""

    def register(
        self, tables: Mapping[str, pa.Table | pa.RecordBatchReader]
    ) -> dict[str, ir.Table]:
        out = {}
        for name, table in tables.items():
            if self.backend == "pyspark":
                df = self.con._session.createDataFrame(table)  # Arrow straight in (PySpark 4)
                df.createOrReplaceTempView(f"scan_{name}")
                out[name] = self.con.table(f"scan_{name}")
            else:
                raw = self.con.con
                raw.register(f"_arrow_{name}", table)
                # name is one of the three fixed table names (schema.TABLES), never input.
                raw.execute(f"CREATE OR REPLACE TABLE scan_{name} AS SELECT * FROM _arrow_{name}")  # noqa: S608
                raw.unregister(f"_arrow_{name}")
                out[name] = self.con.table(f"scan_{name}")
        return out

    def register_files(self, directory: Path | str) -> dict[str, ir.Table]:
        """The input directory's tables for the rules, read by the engine itself (validate
        first: ``schema.validate``). On DuckDB each ``NAME.parquet`` becomes a view over
        ``read_parquet`` giving the table as ``schema.batches`` reads it (streamed by the scan,
        nothing held in Python's memory); a CSV table, or a Parquet column stored in another
        type, is streamed in through ``schema.batches`` (validated and converted batch by
        batch). Spark reads the files itself (see ``_register_files_spark``)."""
        if self.backend != "duckdb":
            return self._register_files_spark(directory)
        out: dict[str, ir.Table] = {}
        streamed: dict[str, pa.RecordBatchReader] = {}
        for name, path in schema.files(directory).items():
            sql = _parquet_view_sql(name, path) if path.suffix == ".parquet" else None
            if sql is None:
                streamed[name] = pa.RecordBatchReader.from_batches(
                    schema.arrow_schema(name), schema.batches(path, name)
                )
                continue
            # name is one of the three fixed table names; the path is quoted in sql.
            self.con.con.execute(f"CREATE OR REPLACE VIEW scan_file_{name} AS {sql}")
            out[name] = self.con.table(f"scan_file_{name}")
        out.update(self.register(streamed))
        return {name: out[name] for name in schema.TABLES}

    def _register_files_spark(self, directory: Path | str) -> dict[str, ir.Table]:
        """Spark reads each table's file itself (``spark.read.parquet`` or ``csv``), converted
        in Spark to the format's columns and types; a file it cannot read so is staged as
        Parquet first (``_spark_frame``). Nothing of the input passes through the driver."""
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="madoguchi-scan-spark-"))
        out: dict[str, ir.Table] = {}
        for name, path in schema.files(directory).items():
            df = _spark_frame(self.con._session, name, path, self.scratch)
            df.createOrReplaceTempView(f"scan_file_{name}")
            out[name] = self.con.table(f"scan_file_{name}")
        return out

    def findings(self, tables: dict[str, ir.Table], *, staged: bool = True) -> ir.Table:
        """The findings expression. ``staged`` (the default) materialises the suspicious links
        first (that part runs here, now): the rest of the plan reads them several times, and
        neither engine would otherwise keep them. ``staged=False`` builds one expression and
        runs nothing (``explain``)."""
        udf = namematch.udf_for(self.backend)
        return rules.findings(rules.features(tables, udf, self._materialize if staged else None))

    def _materialize(self, table: ir.Table) -> ir.Table:
        """Run ``table`` now and keep its rows in a temporary table (dropped with the
        connection); on Spark, persisted (``_materialize_spark``)."""
        if self.backend != "duckdb":
            return self._materialize_spark(table)
        self._staged += 1
        return self.con.create_table(f"scan_stage_{self._staged}", table, temp=True)

    def _materialize_spark(self, table: ir.Table) -> ir.Table:
        """Spark: the table computed now and kept by the executors (``localCheckpoint``:
        its lineage cut, so the rest of the plan starts from the rows), under a temporary
        view. Compiled by hand with the UDF registered first (ibis's ``cache`` would compile it
        before). Without it Spark recomputed the features of every link for each of the five
        reads of the suspicious ones (docs/scan.md: figures). On a cluster, losing an executor
        then fails the run instead of recomputing its part."""
        self._staged += 1
        self.con._register_udfs(table)
        df = self.con._session.sql(str(ibis.to_sql(table, dialect=self.backend)))
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(f"scan_stage_{self._staged}")
        return self.con.table(f"scan_stage_{self._staged}")

    def explain(self, tables: dict[str, ir.Table]) -> Iterator[tuple[str, str]]:
        """Each rule's plan: the links it flags, as the engine would run it."""
        udf = namematch.udf_for(self.backend)
        feat = rules.features(tables, udf)
        for rule in rules.RULES:
            expr = feat.filter(rule.condition(feat).fill_null(False)).select("link_id")
            sql = ibis.to_sql(expr, dialect=self.backend)
            self.con._register_udfs(expr)  # what ibis does before it runs an expression
            if self.backend == "duckdb":
                plan = self.con.raw_sql(f"EXPLAIN {sql}").fetchall()
                text = "\n".join(str(row[1]) for row in plan)
            else:
                df = self.con._session.sql(str(sql))
                text = df._jdf.queryExecution().simpleString()
            yield rule.name, text

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return expr.to_pyarrow()


@contextmanager
def connect(
    engine: str = "duckdb",
    *,
    master: str = "local[2]",
    threads: int | None = None,
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    temp_directory: Path | str | None = None,
    conf: dict[str, str] | None = None,
) -> Iterator[Engine]:
    """An engine. DuckDB: ``threads`` (default: the machine's cores), ``memory_limit`` (its
    own memory; above it sorts and joins spill) and ``temp_directory`` (where they spill;
    default: a fresh temporary directory, removed afterwards). Insertion order is not kept
    (the findings are ordered by link id; keeping it costs memory on large scans)."""
    if engine == "duckdb":
        spill = Path(temp_directory) if temp_directory else None
        made = None
        if spill is None:
            made = spill = Path(tempfile.mkdtemp(prefix="madoguchi-scan-spill-"))
        con = ibis.duckdb.connect(
            threads=threads or os.cpu_count() or 1,
            memory_limit=memory_limit,
            temp_directory=str(spill),
            preserve_insertion_order=False,
        )
        try:
            yield Engine("duckdb", con, "duckdb")
        finally:
            con.disconnect()
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)
    elif engine == "spark":
        session = spark_session(master, **(conf or {}))
        eng = Engine("spark", ibis.pyspark.connect(session), "pyspark")
        try:
            yield eng
        finally:
            if eng.scratch is not None:
                shutil.rmtree(eng.scratch, ignore_errors=True)
    else:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
