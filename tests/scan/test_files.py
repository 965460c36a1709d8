"""DuckDB reads the Parquet input itself: the same tables, and the same findings, as the
validated Arrow tables; a column stored in another type falls back to the validated table."""

import re

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from madoguchi.scan import engine, generate, schema
from tests.scan.builders import Desk, family

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"
B_OWN = "ｽｽﾞｷ ｲﾁﾛｳ"


def _desk() -> Desk:
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(10, "card_read", resident="B")
    d.link("L2", "B", B_OWN, minute=11)
    d.link("L3", "A", B_OWN, minute=12)  # logout omission
    d.link("L4", "A", "ｻﾄｳ ﾐﾂｺ", channel="self")  # a stranger's account: typed wrong id
    d.link("L5", "C", "\u3000 ", channel="self")  # holder blank (ideographic space): unknown
    d.event(30, "logout")
    return d


def _rows(eng, tables):
    return eng.to_arrow(eng.findings(tables)).to_pylist()


def test_parquet_read_by_duckdb_gives_the_validated_tables_and_findings(duck, tmp_path):
    directory = _desk().write(tmp_path / "in")
    validated = schema.load(directory)
    files = duck.register_files(directory)
    for name, table in validated.items():
        got = files[name].to_pyarrow()
        assert got.schema.names == table.schema.names
        key = [c.name for c in schema.TABLES[name]][:2]
        assert (
            got.sort_by([(k, "ascending") for k in key]).to_pylist()
            == table.sort_by([(k, "ascending") for k in key]).to_pylist()
        )
    holders = files["links"].to_pyarrow()
    assert holders.filter(pc.equal(holders["link_id"], "L5"))["holder_kana"].to_pylist() == [None]
    found = _rows(duck, files)
    assert found == _rows(duck, duck.register(validated))
    assert {(r["link_id"], r["cause"]) for r in found} == {
        ("L3", "logout_omission"),
        ("L4", "typed_wrong_id"),
    }


def test_optional_text_is_blank_in_duckdb_exactly_where_validation_says(duck, tmp_path):
    # DuckDB's view keeps a text by a test on its first character before it trims: the
    # boundaries of that test (U+0020/U+0021, U+0084/U+0085, U+3000/U+3001) and white space
    # from each range of Unicode's set, alone or before other text.
    holders = [
        "",
        " ",
        "\t",
        "\r\n",
        "!",
        "~",
        "\u0084x",
        "\u0085",
        "\u00a0",
        "\u00e9",
        "\u1680",
        "\u2000\u200a",
        "\u2028",
        "\u202f",
        "\u205f ",
        "\u3000",
        "\u3000x",
        "\u3001",
        " a",
        "\u00a0ｱ",
        "ｱ",
        "ﾔﾏﾀﾞ ﾀﾛｳ",
    ]
    d = Desk()
    family(d)
    d.event(0, "login")
    for i, holder in enumerate(holders):
        d.link(f"L{i:02d}", "A", holder, channel="self")
    directory = d.write(tmp_path / "in")
    expected = schema.load(directory)["links"].sort_by("link_id")
    got = duck.register_files(directory)["links"].to_pyarrow().sort_by("link_id")
    assert got["holder_kana"].to_pylist() == expected["holder_kana"].to_pylist()
    assert got["holder_kana"].null_count == 12


def test_a_column_stored_as_text_or_a_csv_table_falls_back_to_validation(duck, tmp_path):
    directory = _desk().write(tmp_path / "in")
    expected = _rows(duck, duck.register(schema.load(directory)))
    links = pq.read_table(directory / "links.parquet")
    at = links.column("linked_at").cast(pa.string())
    pq.write_table(links.set_column(6, "linked_at", at), directory / "links.parquet")
    events = pq.read_table(directory / "desk_events.parquet")
    (directory / "desk_events.parquet").unlink()
    pacsv.write_csv(events, directory / "desk_events.csv")
    files = duck.register_files(directory)
    assert files["links"].schema()["linked_at"].is_timestamp()
    assert _rows(duck, files) == expected


def test_partitioned_steps_give_the_same_findings_as_one(duck, tmp_path, monkeypatch):
    # At national scale the steps over every link run per partition of residents and of
    # terminals (engine.PART_LINKS links each); the findings must not depend on the split.
    data = tmp_path / "data"
    generate.generate(data, links=3000, seed=5, rate=0.05, family_rate=0.02)
    files = duck.register_files(data)
    assert duck.parts(files) == 1
    whole = _rows(duck, files)
    monkeypatch.setattr(engine, "PART_LINKS", 700)
    assert duck.parts(files) == 5
    assert _rows(duck, files) == whole
    assert {r["cause"] for r in whole} == {
        "logout_omission",
        "typed_wrong_id",
        "lent_terminal",
        "wrong_card",
        "family_account",
    }


def test_the_last_query_joins_nothing_and_reads_each_partition(duck, tmp_path, monkeypatch):
    # At 100M links the last query (the suspicious links joined with the residents they name,
    # the second name checks and the household members) could not spill and ran out of
    # memory: every join is now a kept step, per partition of links at national scale, and
    # the rules only read the kept partitions' union.
    data = tmp_path / "data"
    generate.generate(data, links=3000, seed=5, rate=0.05, family_rate=0.02)
    files = duck.register_files(data)
    monkeypatch.setattr(engine, "PART_LINKS", 700)
    sql = str(ibis.to_sql(duck.findings(files), dialect="duckdb")).upper()
    assert " JOIN " not in sql
    assert len(set(re.findall(r"SCAN_STAGE_\d+", sql))) == 5
