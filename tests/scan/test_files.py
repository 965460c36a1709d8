"""DuckDB reads the Parquet input itself: the same tables, and the same findings, as the
validated Arrow tables; a column stored in another type falls back to the validated table."""

import re

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

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


def test_the_last_query_joins_nothing_and_reads_one_kept_step(duck, tmp_path, monkeypatch):
    # At 100M links the last query (the suspicious links joined with the residents they name,
    # the second name checks and the household members) could not spill and ran out of
    # memory: every join is now a kept step, and the rules only read the last. The
    # suspicious links are a few percent of all: at national scale too their steps run once,
    # not per partition (split, each partition joined the named residents again).
    data = tmp_path / "data"
    generate.generate(data, links=3000, seed=5, rate=0.05, family_rate=0.02)
    files = duck.register_files(data)
    monkeypatch.setattr(engine, "PART_LINKS", 700)
    sql = str(ibis.to_sql(duck.findings(files), dialect="duckdb")).upper()
    assert " JOIN " not in sql
    assert len(set(re.findall(r"SCAN_STAGE_\d+", sql))) == 1


def test_partitions_are_written_once_and_read_from_their_own_files(tmp_path, monkeypatch):
    # At 100M links each of the eight partitions of steps (1) and (2) read every link,
    # resident and desk event again: each input is now written once, split by the hash, and
    # no step of any partition reads the input files; the files go in the run's temporary
    # directory (its name not read as a glob), each partition's are removed once the step
    # reading them has run, and all are removed with the connection, also when the scan
    # fails.
    data = tmp_path / "data"
    generate.generate(data, links=3000, seed=5, rate=0.05, family_rate=0.02)
    spill = tmp_path / "spill[1]?"  # not read as a glob
    spill.mkdir()
    staged: list[str] = []
    real = engine.Engine._materialize

    def spy(self, table):
        staged.append(str(ibis.to_sql(table, dialect="duckdb")))
        return real(self, table)

    monkeypatch.setattr(engine.Engine, "_materialize", spy)
    written: list[tuple[str, ...]] = []
    split = engine.Engine._split_by_hash

    def split_spy(self, table, column, parts):
        out = split(self, table, column, parts)
        # each partition's files, as the split leaves them
        where = self.scratch / f"split_{self._splits}"
        written.extend(p.relative_to(spill).parts[1:] for p in where.rglob("*.parquet"))
        return out

    monkeypatch.setattr(engine.Engine, "_split_by_hash", split_spy)

    def reads(name):
        return sum(f"scan_file_{name}" in sql for sql in staged)

    with engine.connect("duckdb", threads=2, temp_directory=spill) as eng:
        files = eng.register_files(data)
        whole = _rows(eng, files)
        one = {t: reads(t) for t in schema.TABLES}
        staged.clear()
        monkeypatch.setattr(engine, "PART_LINKS", 1500)
        assert _rows(eng, files) == whole
        two = {t: reads(t) for t in schema.TABLES}
        assert written
        assert not any(spill.rglob("*.parquet"))  # each removed once read, before the end
        written.clear()
        staged.clear()
        monkeypatch.setattr(engine, "PART_LINKS", 700)
        assert _rows(eng, files) == whole
        assert not any(spill.rglob("*.parquet"))
        # The same reads of the input for two partitions and for five (steps (3) and (4)),
        # fewer than with one (whose steps (1) and (2) read the files).
        assert {t: reads(t) for t in schema.TABLES} == two
        assert all(two[t] < one[t] for t in schema.TABLES)
        assert two["desk_events"] == 0
        assert len({p[0] for p in written}) == 3  # links, residents and desk events, once each
        assert {p[1] for p in written} == {f"_scan_part={k}" for k in range(5)}
    assert list(spill.iterdir()) == []

    def fails() -> None:
        with engine.connect("duckdb", threads=2, temp_directory=spill) as eng:
            written.clear()
            eng.findings(eng.register_files(data))
            assert written
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        fails()
    assert list(spill.iterdir()) == []


def _scan_reads(monkeypatch):
    """What each scan's split wrote (per table: the column split by the hash) and which input
    files its steps read."""
    hashed: list[str] = []
    split = getattr(engine.Engine, "_split_by_hash", None)

    def spy(self, table, column, parts):
        hashed.append(column)
        assert split is not None
        return split(self, table, column, parts)

    # (not raising: before row groups, every split was by the hash, in ``_split``)
    monkeypatch.setattr(engine.Engine, "_split_by_hash", spy, raising=False)
    return hashed


def test_files_in_key_order_are_split_by_their_own_row_groups(tmp_path, monkeypatch):
    # At 100M links writing the links', residents' and desk events' splits was about a
    # third of the scan's CPU beside the steps reading them back. Files whose row groups hold
    # runs of keys no other row group holds (residents and their links written in the
    # residents' order, a desk log terminal by terminal) need no split: each partition reads
    # its own row groups of the input file, and nothing is written; the same findings.
    data = tmp_path / "data"
    generate.generate(data, links=4000, seed=5, rate=0.05, family_rate=0.02, block_links=250)
    assert pq.read_metadata(data / "links.parquet").num_row_groups == 16
    spill = tmp_path / "spill"
    spill.mkdir()
    hashed = _scan_reads(monkeypatch)
    with engine.connect("duckdb", threads=2, temp_directory=spill) as eng:
        files = eng.register_files(data)
        whole = _rows(eng, files)
        monkeypatch.setattr(engine, "PART_LINKS", 500)
        assert eng.parts(files) == 8
        assert _rows(eng, files) == whole
        assert hashed == []
        assert eng.scratch is None  # no split written, not even one partition's
    assert {r["cause"] for r in whole} >= {"logout_omission", "typed_wrong_id", "wrong_card"}


def test_row_groups_that_share_keys_are_split_by_the_hash(tmp_path, monkeypatch):
    # The row groups only choose how the rows are cut, never which rows a partition holds:
    # a desk log in time order (every row group holds every terminal) and links in another
    # order than their residents' are split by the hash as before; the same findings.
    data = tmp_path / "data"
    generate.generate(data, links=4000, seed=5, rate=0.05, family_rate=0.02, block_links=250)
    events = pq.read_table(data / "desk_events.parquet")
    pq.write_table(events.sort_by("at"), data / "desk_events.parquet", row_group_size=300)
    hashed = _scan_reads(monkeypatch)
    with engine.connect("duckdb", threads=2) as eng:
        files = eng.register_files(data)
        whole = _rows(eng, files)
        monkeypatch.setattr(engine, "PART_LINKS", 500)
        assert _rows(eng, files) == whole
        assert hashed == ["terminal_id"]
    links = pq.read_table(data / "links.parquet")
    pq.write_table(links.sort_by("link_id"), data / "links.parquet", row_group_size=250)
    hashed.clear()
    with engine.connect("duckdb", threads=2) as eng:
        files = eng.register_files(data)
        assert _rows(eng, files) == whole
        assert hashed == ["resident_id", "a_id", "terminal_id"]


def test_a_key_in_two_runs_of_row_groups_is_split_by_the_hash(tmp_path, monkeypatch):
    # Row groups whose keys look apart by their ranges can still share a terminal (the
    # ranges overlap, the runs of rows do not): the file is checked, not trusted.
    data = tmp_path / "data"
    generate.generate(data, links=4000, seed=5, rate=0.05, family_rate=0.02, block_links=250)
    events = pq.read_table(data / "desk_events.parquet")
    first = events.slice(0, 1)  # one terminal's first event again, in the last row group
    pq.write_table(
        pa.concat_tables([events, first]),
        data / "desk_events.parquet",
        row_group_size=events.num_rows // 16 + 1,
    )
    hashed = _scan_reads(monkeypatch)
    monkeypatch.setattr(engine, "PART_LINKS", 500)
    with engine.connect("duckdb", threads=2) as eng:
        files = eng.register_files(data)
        eng.to_arrow(eng.findings(files))
        assert hashed == ["terminal_id"]


def test_a_partition_without_rows_gives_the_same_findings(duck, tmp_path, monkeypatch):
    # One terminal and three residents in five partitions: some hold no rows at all.
    directory = _desk().write(tmp_path / "in")
    files = duck.register_files(directory)
    whole = _rows(duck, files)
    monkeypatch.setattr(engine, "PART_LINKS", 1)
    assert duck.parts(files) == 5
    assert _rows(duck, files) == whole


def _set(table, column, values):
    t = pq.read_table(table)
    pq.write_table(t.set_column(t.schema.get_field_index(column), column, values), table)


def _breaks():
    """Ways to break a valid input, each with its file."""

    def values(table, column, fn):
        def apply(directory):
            path = directory / f"{table}.parquet"
            t = pq.read_table(path)
            _set(
                path,
                column,
                pa.array(fn(t.column(column).to_pylist()), t.schema.field(column).type),
            )

        return apply

    def rewrite(table, fn):
        def apply(directory):
            path = directory / f"{table}.parquet"
            pq.write_table(fn(pq.read_table(path)), path)

        return apply

    def last(v):
        return lambda xs: [*xs[:-1], v]

    return {
        "blank name": values("residents", "name_kana", last(" ")),
        "wide space": values("residents", "household_id", last("\u3000\u2000")),
        "null key": values("links", "link_id", last(None)),
        "empty resident": values("links", "resident_id", last("")),
        "null time": values("desk_events", "at", last(None)),
        "unknown value": values("links", "programme", last("mynapoint_3")),
        # Six digits then a line break, and full-width digits: not six ASCII digits (DuckDB
        # checks the municipality code by GLOB, not RE2's "\\z").
        "code with a line break": values("links", "municipality_code", last("131016\n")),
        "full-width code": values("residents", "municipality_code", last("１３１０１６")),
        "five-digit code": values("links", "municipality_code", last("13101")),
        # At most four characters: DuckDB skips RE2 for four bytes without a line break.
        "last 4 with a line break": values("links", "account_last4", last("12\n")),
        "five wide last 4": values("links", "account_last4", last("１２３４５")),
        "duplicate key": values("links", "link_id", lambda xs: [*xs[:-1], xs[0]]),
        "duplicate resident": values("residents", "resident_id", lambda xs: [*xs[:-1], xs[0]]),
        "no rows": rewrite("links", lambda t: t.slice(0, 0)),
        # Over schema.ID_LENGTH characters (DuckDB counts the bytes first, then characters).
        "long id": values("desk_events", "staff_id", last("S" * 101)),
        "long kana id": values("links", "resident_id", last("リ" * 101)),
        "missing column": rewrite("links", lambda t: t.drop_columns(["channel"])),
        # Round 22: an account hash not in madoguchi's form (DuckDB: its length and a GLOB),
        # a NUL in any text (required or not), a reading with kanji (RE2), a time outside
        # 2016-01-01 to 2099-12-31.
        "account number with slashes": values("links", "account_hash", last("0005/001/1/1234567")),
        "hash in upper case": values("links", "account_hash", last("AB" * 32)),
        "hash one digit short": values("links", "account_hash", last("ab" * 31 + "a")),
        "NUL in a holder": values("links", "holder_kana", last("ﾀﾅｶ\x00ﾊﾅｺ")),
        "NUL in an id": values("desk_events", "staff_id", last("S1\x00")),
        "reading in kanji": values("residents", "name_kana", last("鈴木 一郎")),
        "link in 1026": values(
            "links", "linked_at", lambda xs: [*xs[:-1], xs[-1].replace(year=1026)]
        ),
        "event in 2100": values(
            "desk_events", "at", lambda xs: [*xs[:-1], xs[-1].replace(year=2100)]
        ),
        "text time": rewrite(
            "links",
            lambda t: t.set_column(
                6,
                "linked_at",
                pa.array([*t.column(6).cast(pa.string()).to_pylist()[:-1], "yesterday"]),
            ),
        ),
        "not parquet": lambda d: (d / "residents.parquet").write_bytes(b"PAR1 not really"),
    }


@pytest.mark.parametrize("broken", list(_breaks()))
def test_duckdb_validation_refuses_what_schema_refuses_with_the_same_error(duck, tmp_path, broken):
    # The scan on DuckDB checks a valid Parquet input in one query over its own read of the
    # files; any problem is then told by schema, which names the first bad row: the same
    # error either way, and the command writes nothing.
    directory = _desk().write(tmp_path / "in")
    _breaks()[broken](directory)
    with pytest.raises(schema.InputError) as expected:
        schema.validate(directory)
    with pytest.raises(schema.InputError) as got:
        duck.validate(directory)
    assert str(got.value) == str(expected.value)
    assert (got.value.file, got.value.column) == (expected.value.file, expected.value.column)
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=re.escape(str(expected.value))):
        call_command("scan", "run", str(directory), "--out", str(out))
    assert not out.exists()


def test_duckdb_validates_a_good_parquet_input_without_schemas_batches(duck, tmp_path, monkeypatch):
    # Required text that starts with a character the cheap test does not clear (a space, and
    # U+3000 before text: a reading holds no é or U+2000 since round 22), and keys whose
    # hashes repeat (checked again by schema, on the keys).
    directory = _desk().write(tmp_path / "in")
    path = directory / "residents.parquet"
    names = pq.read_table(path).column("name_kana").to_pylist()
    _set(path, "name_kana", pa.array([" ｱ", "\u3000ｱ", *names[2:]]))
    rows = schema.validate(directory)

    def no(*args, **kwargs):
        raise AssertionError("schema read the batches")

    monkeypatch.setattr(schema, "batches", no)
    assert duck.validate(directory) == rows
    monkeypatch.setattr(schema, "UNIQUE_HASH", "hash(length(key))")
    # Keys in increasing order are not counted at all: made to be counted here.
    monkeypatch.setattr(engine, "_increasing", lambda path, column: False)
    with pytest.raises(AssertionError, match="schema read the batches"):
        duck.validate(directory)
    monkeypatch.undo()
    monkeypatch.setattr(schema, "UNIQUE_HASH", "hash(length(key))")
    assert duck.validate(directory) == rows


@pytest.mark.parametrize(
    "value", ["1234", "", None, "12345", "１２３４", "１２３４５", "12\n", "1\n3", "12\r4", "\n"]
)
def test_the_last_4s_check_without_re2_flags_the_rows_re2_flags(value):
    """The account's last 4 is checked by its bytes first and by RE2 only when they do not
    settle it: the same rows either way, four wide characters (12 bytes) included."""
    import duckdb

    from madoguchi.scan.engine import _unmatched_sql

    con = duckdb.connect()
    fast, re2 = con.execute(
        f"SELECT {_unmatched_sql('x', schema.LAST4)}, NOT regexp_matches(x, ?) "
        "FROM (SELECT ?::VARCHAR AS x)",
        [schema.LAST4, value],
    ).fetchall()[0]
    assert fast == re2
