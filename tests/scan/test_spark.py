"""Engine equivalence: the same rules on DuckDB and on Spark local[2] give identical findings.

One Spark session for the whole test run (about 10 s to start), quiet logs, no UI. Marked
``spark``: only the PostgreSQL pass of ``make test`` runs it (the SQLite pass skips the marker).
"""

import pytest

from madoguchi.scan import engine, generate, schema

pytestmark = pytest.mark.spark

COLUMNS = ["link_id", "cause", "score", "rule", "resident_id", "other_resident_id", "holder_check"]


@pytest.fixture(scope="session")
def spark_engine():
    with engine.connect(
        "spark", master="local[2]", conf={"spark.sql.shuffle.partitions": "2"}
    ) as eng:
        yield eng


def test_duckdb_and_spark_give_identical_findings(tmp_path, spark_engine):
    data = tmp_path / "data"
    generate.generate(data, links=2000, seed=11, rate=0.05, family_rate=0.01)
    tables = schema.load(data)
    with engine.connect("duckdb", threads=2) as duck:
        on_duck = duck.to_arrow(duck.findings(duck.register(tables))).select(COLUMNS)
    on_spark = spark_engine.to_arrow(spark_engine.findings(spark_engine.register(tables)))
    on_spark = on_spark.select(COLUMNS).sort_by("link_id")
    causes = set(on_duck.column("cause").to_pylist())
    assert causes == {
        "logout_omission",
        "typed_wrong_id",
        "lent_terminal",
        "wrong_card",
        "family_account",
    }
    assert on_spark.to_pylist() == on_duck.sort_by("link_id").to_pylist()
