"""Run the rules on an engine: DuckDB (embedded, the default) or Apache Spark.

The same ibis expressions (``madoguchi.scan.rules``) are compiled for either backend; only the
connection and the name-check UDF's binding differ (see ``namematch``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from madoguchi.scan import namematch, rules

__all__ = ["ENGINES", "Engine", "connect", "spark_session"]

ENGINES = ("duckdb", "spark")


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
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
    )
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

    def register(self, tables: dict[str, pa.Table]) -> dict[str, ir.Table]:
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

    def findings(self, tables: dict[str, ir.Table], *, staged: bool = True) -> ir.Table:
        """The findings expression. ``staged`` (the default) materialises the suspicious links
        first (that part runs here, now): the rest of the plan reads them several times, and
        neither engine would otherwise keep them. ``staged=False`` builds one expression and
        runs nothing (``explain``)."""
        udf = namematch.udf_for(self.backend)
        return rules.findings(rules.features(tables, udf, self._materialize if staged else None))

    def _materialize(self, table: ir.Table) -> ir.Table:
        """Run ``table`` now and keep its rows in a temporary table (dropped with the
        connection). DuckDB only: Spark plans the whole expression as one job (ibis's cache
        there would compile it before the name-check UDF is registered)."""
        if self.backend != "duckdb":
            return table
        self._staged += 1
        return self.con.create_table(f"scan_stage_{self._staged}", table, temp=True)

    def explain(self, tables: dict[str, ir.Table]) -> Iterator[tuple[str, str]]:
        """Each rule's plan: the links it flags, as the engine would run it."""
        udf = namematch.udf_for(self.backend)
        feat = rules.features(tables, udf)
        for rule in rules.RULES:
            expr = feat.filter(rule.condition(feat).fill_null(False)).select("link_id")
            sql = ibis.to_sql(expr, dialect="duckdb" if self.backend == "duckdb" else "spark")
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
    conf: dict[str, str] | None = None,
) -> Iterator[Engine]:
    if engine == "duckdb":
        con = ibis.duckdb.connect(threads=threads) if threads else ibis.duckdb.connect()
        try:
            yield Engine("duckdb", con, "duckdb")
        finally:
            con.disconnect()
    elif engine == "spark":
        session = spark_session(master, **(conf or {}))
        yield Engine("spark", ibis.pyspark.connect(session), "pyspark")
    else:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
