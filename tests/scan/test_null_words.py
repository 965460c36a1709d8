"""What tools write for a missing value — SQL's ``NULL``, MySQL's ``\\N``, pandas' ``nan``,
``None`` and ``<NA>``, ``N/A``, Excel's ``#N/A`` — in an optional text column is empty, as docs/
scan.md says (holder_kana: "empty when unknown"), on DuckDB's view of a Parquet file, in the
validated batches (CSV) and on Spark (tests/scan/test_spark.py) alike."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import schema
from tests.scan.builders import Desk, family
from tests.scan.test_exports import excel_csv

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"
B_OWN = "ｽｽﾞｷ ｲﾁﾛｳ"
WORDS = ["NULL", "null", "nan", "NaN", "None", "<NA>", "N/A", "#N/A", "\\N", " NULL\u3000"]


def omission(holder) -> Desk:
    """A logout omission L3 whose holder's name is ``holder``; B's own link L2 before it."""
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(10, "card_read", resident="B")
    d.link("L2", "B", B_OWN, minute=11)
    d.link("L3", "A", holder, minute=12)
    d.event(30, "logout")
    return d


def as_csv(directory):
    """The tables of ``directory`` (Parquet) as CSV, beside them in ``directory``-csv."""
    out = directory.with_name(directory.name + "-csv")
    out.mkdir()
    for name in schema.TABLES:
        (out / f"{name}.csv").write_bytes(excel_csv(pq.read_table(directory / f"{name}.parquet")))
    return out


def found(directory, out):
    call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf", stdout=io.StringIO())
    return {r["link_id"]: r for r in pq.read_table(out / "findings.parquet").to_pylist()}


@pytest.fixture(scope="module")
def unknown(tmp_path_factory):
    """The finding of L3 when its holder is empty: the holder unchecked (3), score 0.75."""
    tmp = tmp_path_factory.mktemp("unknown")
    got = found(omission(None).write(tmp / "in"), tmp / "out")["L3"]
    assert got["holder_check"] == 3
    assert got["score"] == 0.75
    return got


@pytest.mark.parametrize("word", WORDS)
def test_a_null_word_as_holder_kana_is_an_unknown_holder_on_parquet_and_csv(
    tmp_path, word, unknown
):
    """Before, `NULL` was a holder's name in Latin letters, which the name check calls close
    to every kana reading: holder_check 1, score 0.85, and a sentence saying the holder's name
    is close to A's and to B's."""
    parquet = omission(word).write(tmp_path / "in")
    for directory in (parquet, as_csv(parquet)):
        got = found(directory, tmp_path / f"out-{directory.name}")["L3"]
        assert got == unknown, directory.name
        links = schema.load(directory)["links"].to_pylist()
        assert [r["holder_kana"] for r in links if r["link_id"] == "L3"] == [None]


def test_duckdbs_view_of_the_parquet_file_reads_the_words_as_schema_does(duck, tmp_path):
    d = omission("NULL")
    d.links[0]["account_last4"] = "n/a"
    d.links[1]["holder_kana"] = "NULLY"  # a word inside a value is the value
    d.events[0]["resident_id"] = "None"
    directory = d.write(tmp_path / "in")
    validated = schema.load(directory)
    files = duck.register_files(directory)
    for name, table in validated.items():
        key = [c.name for c in schema.TABLES[name]][:2]
        got = files[name].to_pyarrow().sort_by([(k, "ascending") for k in key]).to_pylist()
        assert got == table.sort_by([(k, "ascending") for k in key]).to_pylist(), name
    links = {r["link_id"]: r for r in validated["links"].to_pylist()}
    assert links["L1"]["account_last4"] is None
    assert links["L2"]["holder_kana"] == "NULLY"
    assert links["L3"]["holder_kana"] is None


@pytest.mark.parametrize("table", ["parquet", "csv"])
def test_a_null_word_where_a_row_rule_wants_a_value_is_refused_as_an_empty_one(tmp_path, table):
    """A desk link's staff_id `NULL` is no staff member (refused as an empty one, by DuckDB's
    query over the Parquet file and by schema alike); a self link's `None` is no staff member
    either, so accepted."""
    d = omission(A_OWN)
    d.links[1]["staff_id"] = "NULL"
    directory = d.write(tmp_path / "in")
    if table == "csv":
        directory = as_csv(directory)
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    row = 3 if table == "csv" else 2  # CSV counts its header as row 1
    said = f"links.{table}, column 'staff_id': row {row} has channel 'desk' and no "
    assert said in str(refused.value)
    assert not out.exists()

    d = omission(A_OWN)
    d.link("L9", "C", "ｽｽﾞｷ ﾊﾅｺ", channel="self")
    d.links[-1]["staff_id"] = "None"
    directory = d.write(tmp_path / "self")
    if table == "csv":
        directory = as_csv(directory)
    links = schema.load(directory)["links"].to_pylist()
    assert [r["staff_id"] for r in links if r["link_id"] == "L9"] == [None]
    found(directory, tmp_path / "out-self")


@pytest.mark.parametrize("table", ["parquet", "csv"])
@pytest.mark.parametrize("word", ["NULL", " nan ", "#N/A"])
def test_a_null_word_in_a_required_column_is_refused_and_nothing_written(tmp_path, table, word):
    """A required column holding such a word is refused, naming the row and the word, by
    DuckDB's query over the Parquet file and by schema alike, and nothing is written. Before,
    it was a value: every resident with household `NULL` was one household, so a logout
    omission to another such resident was reported as a family account, not a mis-link."""
    d = omission(A_OWN)
    d.residents[1]["household_id"] = word
    directory = d.write(tmp_path / "in")
    if table == "csv":
        directory = as_csv(directory)
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    row = 3 if table == "csv" else 2
    said = str(refused.value)
    assert f"residents.{table}, column 'household_id': row {row} has value {word!r}, a word" in said
    assert "where the column is required" in said
    assert not out.exists()


def test_a_word_inside_a_required_value_is_the_value(tmp_path):
    d = omission(A_OWN)
    d.residents[0]["household_id"] = "NULL-1"
    d.residents[1]["household_id"] = "nancy"
    residents = schema.load(d.write(tmp_path / "in"))["residents"]
    assert {"NULL-1", "nancy"} <= set(residents.column("household_id").to_pylist())
    assert pa.types.is_string(residents.schema.field("household_id").type)
