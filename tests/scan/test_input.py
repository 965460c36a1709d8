"""Bad input: one clear error naming the file and the column, and nothing written."""

import io
import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import schema
from tests.scan.builders import Desk, family


def _rewrite(directory, table, fn):
    t = pq.read_table(directory / f"{table}.parquet")
    pq.write_table(fn(t), directory / f"{table}.parquet")


def test_good_input_loads_as_parquet_and_as_csv(good, tmp_path):
    tables = schema.load(good)
    assert tables["links"].num_rows == 1
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in tables.items():
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    again = schema.load(csv_dir)
    assert (
        again["links"].column("linked_at").to_pylist()
        == tables["links"].column("linked_at").to_pylist()
    )
    assert again["desk_events"].column("resident_id").null_count == 2  # login, logout


def test_missing_column(good):
    _rewrite(good, "links", lambda t: t.drop_columns(["holder_kana"]))
    with pytest.raises(schema.InputError) as exc:
        schema.load(good)
    assert exc.value.file.endswith("links.parquet")
    assert exc.value.column == "holder_kana"
    assert "missing column" in str(exc.value)


@pytest.mark.parametrize(
    ("renamed", "column"), [("linked_at ", "linked_at"), ("Link_ID", "link_id")]
)
def test_a_column_renamed_by_a_spreadsheet_edit_is_named_first(good, tmp_path, renamed, column):
    """A space left after a name, or a capital typed in, is one of eleven names in the list
    of the file's columns: the refusal names it and says how it differs."""
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, loaded in schema.load(good).items():
        pacsv.write_csv(loaded, csv_dir / f"{name}.csv")
    path = csv_dir / "links.csv"
    header, rest = path.read_text().split("\n", 1)
    path.write_text(header.replace(f'"{column}"', f'"{renamed}"') + "\n" + rest)
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(csv_dir), "--out", str(out), "--no-pdf")
    assert str(refused.value) == (
        f"{path}, column {column!r}: missing column: the file has {renamed!r}, which differs "
        f"from {column!r} only in spaces or upper and lower case; column names are exact, as "
        "docs/scan.md lists them"
    )
    assert not out.exists()


def test_unknown_programme(good):
    _rewrite(
        good,
        "links",
        lambda t: t.set_column(1, "programme", pa.array(["mynapoint_3"])),
    )
    with pytest.raises(
        schema.InputError,
        match=r"links.parquet, column 'programme': row 1 has unknown value 'mynapoint_3'",
    ):
        schema.load(good)


def test_wrong_type_in_csv(good, tmp_path):
    tables = schema.load(good)
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in tables.items():
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    text = (csv_dir / "desk_events.csv").read_text()
    (csv_dir / "desk_events.csv").write_text(
        re.sub(r"2022-08-01 09:01:00(\.0+)?", "yesterday", text)
    )
    with pytest.raises(
        schema.InputError,
        match=r"desk_events.csv, column 'at': row \d+ has 'yesterday', not a date and time",
    ):
        schema.load(csv_dir)


@pytest.mark.parametrize(
    ("table", "column", "pattern", "written", "hint"),
    [
        (
            "desk_events",
            "at",
            r"2022-08-01 09:01:00(\.0+)?",
            "2022/8/1 9:01",
            "yyyy-mm-dd hh:mm:ss",
        ),
        ("residents", "birth_date", r"\d{4}-\d\d-\d\d", "1980/4/1", "as yyyy-mm-dd before"),
        (
            "desk_events",
            "at",
            r"2022-08-01 09:01:00(\.0+)?",
            "２０２２-08-01 09:01:00",
            "half-width",
        ),
    ],
)
def test_a_date_as_a_spreadsheet_writes_it_names_its_row_and_what_to_do(
    good, tmp_path, table, column, pattern, written, hint
):
    """Excel saves a date column as it shows it (2022/8/1 9:01); Japanese input gives
    full-width digits. One error naming the file, column and row, saying what to change."""
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, loaded in schema.load(good).items():
        if name == "residents":  # the builder leaves birth dates empty: give the last one
            dates = [None] * (loaded.num_rows - 1) + ["1980-04-01"]
            at = loaded.schema.get_field_index("birth_date")
            loaded = loaded.set_column(at, "birth_date", pa.array(dates, pa.string()))
        pacsv.write_csv(loaded, csv_dir / f"{name}.csv")
    text = (csv_dir / f"{table}.csv").read_text()
    (csv_dir / f"{table}.csv").write_text(re.sub(pattern, written, text, count=1))
    row = next(
        i + 1
        for i, line in enumerate((csv_dir / f"{table}.csv").read_text().splitlines())
        if written in line
    )
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(csv_dir), "--out", str(out), "--no-pdf")
    said = str(refused.value)
    assert said.startswith(f"{csv_dir / table}.csv, column '{column}': row {row} has '{written}'")
    assert hint in said, said
    assert not out.exists()


@pytest.mark.parametrize(
    ("table", "old", "new", "column"),
    [
        ("residents", None, "1990-02-30", "birth_date"),
        ("residents", None, "1991-02-29", "birth_date"),
        ("desk_events", r"2022-08-01 09:01:00(\.0+)?", "2022-02-30 09:01:00", "at"),
        ("desk_events", r"2022-08-01 09:01:00(\.0+)?", "2022-08-01T23:59:60", "at"),
    ],
)
def test_a_day_or_second_that_does_not_exist_is_refused_not_moved_on(
    good, tmp_path, table, old, new, column
):
    """strptime reads 30 February as 2 March and a 60th second as the next minute: the
    check refuses them with the file, the column and the row, not an Arrow message or a
    silently shifted date."""
    tables = schema.load(good)
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, t in tables.items():
        pacsv.write_csv(t, csv_dir / f"{name}.csv")
    path = csv_dir / f"{table}.csv"
    text = path.read_text()
    if old is None:  # the first resident's birth date
        lines = text.splitlines()
        lines[1] = lines[1].replace(",,,", f",,{new},", 1)  # name_kanji, birth_date empty
        text = "\n".join(lines) + "\n"
    else:
        text = re.sub(old, new, text, count=1)
    assert new in text
    path.write_text(text)
    with pytest.raises(
        schema.InputError,
        match=rf"{table}.csv, column '{column}': row \d+ has '{new}', not a date.*: no such day",
    ):
        schema.load(csv_dir)
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=rf"column '{column}': row \d+ has '{new}'"):
        call_command("scan", "run", str(csv_dir), "--out", str(out), "--no-pdf")
    assert not out.exists()


def test_wrong_type_in_parquet(good):
    _rewrite(good, "links", lambda t: t.set_column(6, "linked_at", pa.array([1.5])))
    with pytest.raises(
        schema.InputError,
        match=r"column 'linked_at': holds decimal numbers \(double\) where the format has dates",
    ):
        schema.load(good)


def test_required_value_empty(good):
    _rewrite(
        good, "residents", lambda t: t.set_column(1, "name_kana", pa.array(["", "x", "y", "z"]))
    )
    with pytest.raises(
        schema.InputError, match=r"residents.parquet, column 'name_kana': row 1 is empty"
    ):
        schema.load(good)


def test_missing_table_and_unsupported_version(good):
    (good / "format.json").write_text(json.dumps({"format": "madoguchi-scan", "version": 2}))
    with pytest.raises(schema.InputError, match="version 2 is not supported"):
        schema.load(good)
    (good / "format.json").unlink()
    (good / "residents.parquet").unlink()
    with pytest.raises(schema.InputError, match=r"residents\.parquet: missing"):
        schema.load(good)


@pytest.mark.parametrize("extra", ["links_2023.csv", "links (1).csv", "Residents.parquet"])
def test_a_table_file_beside_the_three_is_refused_not_left_out(good, tmp_path, extra):
    """An office that splits a table into parts, or whose download renamed one, would have
    had those rows left out of the scan without a word."""
    import shutil

    shutil.copy(good / "links.parquet", good / extra)
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(good), "--out", str(out), "--no-pdf")
    said = str(refused.value)
    assert said.startswith(str(good / extra) + ": is not one of the scan's tables"), said
    assert "put all of a table's rows into its one file" in said
    assert not out.exists()
    # The truth scan generate writes beside the tables, notes and hidden files are no tables.
    (good / extra).unlink()
    shutil.copy(good / "links.parquet", good / "truth.parquet")
    (good / "README.txt").write_text("exported 2026-11-30")
    (good / ".links.csv.swp").write_text("")
    assert schema.files(good)["links"] == good / "links.parquet"


def test_the_command_refuses_bad_input_and_writes_nothing(good, tmp_path):
    _rewrite(good, "links", lambda t: t.drop_columns(["channel"]))
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=r"links.parquet, column 'channel': missing column"):
        call_command("scan", "run", str(good), "--out", str(out))
    assert not out.exists()


def test_running_out_of_memory_is_one_clear_error_and_writes_nothing(good, tmp_path):
    """A plan that cannot spill within DuckDB's limit (as at 100M links with the default 5GB)
    ends in one sentence saying what to do, not a traceback; nothing is written."""
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=r"ran out of memory.*--memory-limit.*--engine spark"):
        call_command("scan", "run", str(good), "--out", str(out), "--memory-limit", "1MB")
    assert not out.exists()
    call_command(
        "scan",
        "run",
        str(good),
        "--out",
        str(out),
        "--memory-limit",
        "1GB",
        "--threads",
        "1",
        "--no-pdf",
        stdout=io.StringIO(),
    )
    assert (out / "findings.parquet").exists()


def test_explain_prints_each_rules_plan_and_writes_nothing(good, tmp_path):
    out = io.StringIO()
    call_command("scan", "run", str(good), "--out", str(tmp_path / "out"), "--explain", stdout=out)
    text = out.getvalue()
    for rule in (
        "family_account.v1",
        "lent_terminal.v1",
        "logout_omission.v1",
        "wrong_card.v1",
        "typed_wrong_id.v1",
    ):
        assert f"== {rule}" in text
    assert "WINDOW" in text.upper()
    assert "JOIN" in text.upper()
    assert not (tmp_path / "out").exists()


def test_validation_reads_one_batch_at_a_time_and_counts_rows_across_batches(
    good, tmp_path, monkeypatch
):
    """Bounded memory: Parquet a batch of rows at a time, CSV a block of bytes at a time; the
    row named in an error is the file's row, whichever batch it is in."""
    tables = schema.load(good)
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in tables.items():
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    monkeypatch.setattr(schema, "BATCH_ROWS", 1)
    monkeypatch.setattr(schema, "CSV_BLOCK_BYTES", 200)
    seen = []
    real = schema._validate

    def spy(path, table, raw, offset):
        seen.append((path.suffix, table, raw.num_rows, offset))
        return real(path, table, raw, offset)

    monkeypatch.setattr(schema, "_validate", spy)
    rows = {t: v.num_rows for t, v in tables.items()}
    assert schema.validate(good) == rows
    assert all(n <= 1 for suffix, _, n, _ in seen if suffix == ".parquet")
    assert schema.validate(csv_dir) == rows
    csv_events = [s for s in seen if s[:2] == (".csv", "desk_events")]
    assert len(csv_events) > 1  # the CSV file came in several blocks
    assert [s[3] for s in csv_events] == list(np.cumsum([0] + [s[2] for s in csv_events])[:-1])
    streamed = {t: r.read_all() for t, r in schema.readers(csv_dir).items()}
    assert streamed["links"].equals(tables["links"])

    _rewrite(
        good, "residents", lambda t: t.set_column(1, "name_kana", pa.array(["x", "y", "z", " "]))
    )
    with pytest.raises(
        schema.InputError, match=r"residents.parquet, column 'name_kana': row 4 is empty"
    ):
        schema.validate(good)
    text = (csv_dir / "desk_events.csv").read_text().splitlines()
    last = text[-1].replace('"logout"', '"log_out"')
    assert last != text[-1]
    (csv_dir / "desk_events.csv").write_text("\n".join([*text[:-1], last]) + "\n")
    with pytest.raises(
        schema.InputError,
        match=rf"desk_events.csv, column 'event': row {len(text)} has unknown value 'log_out'",
    ):
        schema.validate(csv_dir)


def _duplicate_link(t):
    """The last link's id made the same as the first's."""
    ids = t.column("link_id").to_pylist()
    return t.set_column(0, "link_id", pa.array([*ids[:-1], ids[0]]))


@pytest.fixture
def three_links(tmp_path):
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛｳ"), ("L2", "ﾔﾏﾀﾞ ﾀﾛｳ"), ("L3", "ﾔﾏﾀﾞ ﾀﾛｳ")])
    d.event(30, "logout")
    return d.write(tmp_path / "in")


def test_a_duplicate_link_id_is_one_error_naming_the_file_column_value_and_rows(
    three_links, tmp_path, monkeypatch
):
    """The rules join on link_id and report one row per link: a link listed twice is refused,
    counted by DuckDB over the stream (one batch at a time), rows counted across batches."""
    _rewrite(three_links, "links", _duplicate_link)
    message = (
        r"links.parquet, column 'link_id': a value of 2 characters \(not shown\) is not "
        r"unique: 2 rows have it \(rows 1 and 3\); each link_id must appear once"
    )
    with pytest.raises(schema.InputError, match=message) as exc:
        schema.validate(three_links)
    assert exc.value.column == "link_id"
    monkeypatch.setattr(schema, "BATCH_ROWS", 1)
    with pytest.raises(schema.InputError, match=message):
        schema.validate(three_links)
    with pytest.raises(schema.InputError, match=message):
        schema.load(three_links)
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=message):
        call_command("scan", "run", str(three_links), "--out", str(out))
    assert not out.exists()


def test_a_resident_listed_twice_is_refused_in_csv_too(three_links, tmp_path):
    """A resident listed twice would double each of their links in the rules' joins."""
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in schema.load(three_links).items():
        if name == "residents":
            table = pa.concat_tables([table, table.slice(2, 1), table.slice(2, 1)])
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    with pytest.raises(
        schema.InputError,
        match=r"residents.csv, column 'resident_id': a value of 1 characters \(not shown\) is not "
        r"unique: 3 rows have it \(rows 4 and 7 and others\)",
    ):
        schema.validate(csv_dir)


def test_keys_that_only_share_a_hash_are_not_duplicates(three_links, tmp_path, monkeypatch):
    """The check counts a 64-bit hash of each key first: keys whose hashes are equal (here
    forced: every key of the same length) are confirmed by their real values, so distinct keys
    pass, and a real duplicate among them is reported as exactly as before, in Parquet and in
    CSV (whose key column is read again)."""
    monkeypatch.setattr(schema, "UNIQUE_HASH", "hash(length(key))")
    assert schema.validate(three_links)["links"] == 3
    assert schema.load(three_links)["residents"].num_rows > 1
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in schema.load(three_links).items():
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    assert schema.validate(csv_dir)["links"] == 3
    monkeypatch.setattr(schema, "BATCH_ROWS", 1)
    _rewrite(three_links, "links", _duplicate_link)
    message = (
        r"links.parquet, column 'link_id': a value of 2 characters \(not shown\) is not "
        r"unique: 2 rows have it \(rows 1 and 3\); each link_id must appear once"
    )
    with pytest.raises(schema.InputError, match=message):
        schema.validate(three_links)
    with pytest.raises(schema.InputError, match=message):
        schema.load(three_links)
    pacsv.write_csv(pq.read_table(three_links / "links.parquet"), csv_dir / "links.csv")
    with pytest.raises(
        schema.InputError,
        match=r"links.csv, column 'link_id': a value of 2 characters \(not shown\) is not "
        r"unique: 2 rows have it \(rows 2 and 4\)",
    ):
        schema.validate(csv_dir)


def test_a_bad_value_met_while_keys_are_counted_is_still_its_own_error(three_links, monkeypatch):
    """The key column is counted in the same pass as the validation: a problem in a later
    batch comes out as that problem (not as DuckDB's error), before any duplicate."""
    monkeypatch.setattr(schema, "BATCH_ROWS", 1)

    def both(t):
        t = _duplicate_link(t)
        programmes = t.column("programme").to_pylist()
        return t.set_column(1, "programme", pa.array([*programmes[:-1], "mynapoint_3"]))

    _rewrite(three_links, "links", both)
    with pytest.raises(
        schema.InputError,
        match=r"links.parquet, column 'programme': row 3 has unknown value 'mynapoint_3'",
    ):
        schema.validate(three_links)


def test_a_directory_with_glob_characters_is_read_as_itself(tmp_path):
    """DuckDB reads '[', '*' and '?' in a path as a glob: a directory 'in[1]*?{a,b}' would read
    the files of 'in1x{a,b}' beside it. The scan reads its own directory."""
    directory = _three(tmp_path / "in[1]*?{a,b}", logout_omission=True)
    _three(tmp_path / "in1x{a,b}", logout_omission=False)  # what the glob would match
    out = tmp_path / "out[1]"
    call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf", stdout=io.StringIO())
    found = pq.read_table(out / "findings.parquet")
    assert found.column("cause").to_pylist() == ["logout_omission"]


def _three(directory, *, logout_omission):
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛｳ")])
    d.event(10, "card_read", resident="B")
    d.link("L2", "A", "ｽｽﾞｷ ｲﾁﾛｳ" if logout_omission else "ﾔﾏﾀﾞ ﾀﾛｳ", minute=12)
    d.event(30, "logout")
    return d.write(directory)


def test_duckdb_refuses_a_uri_and_says_to_use_spark(tmp_path):
    """DuckDB, embedded, reads local directories: an object store URI is refused before
    anything starts, naming the engine that reads it; nothing is written."""
    out = tmp_path / "out"
    refusal = r"s3a://bucket/scan: a URI is read only by Spark: run with --engine spark"
    with pytest.raises(CommandError, match=refusal):
        call_command("scan", "run", "s3a://bucket/scan", "--out", str(out))
    with pytest.raises(CommandError, match=refusal):
        call_command("scan", "run", "s3a://bucket/scan", "--out", str(out), "--explain")
    with pytest.raises(schema.InputError, match=refusal):
        schema.validate("s3a://bucket/scan")
    assert not out.exists()


def test_a_uniqueness_check_that_cannot_run_is_one_line_not_a_duckdb_traceback(
    three_links, tmp_path, monkeypatch
):
    """DuckDB failing under the check (here: no memory to start; in practice a full
    temporary directory) is one line naming the file and column, not the scan's own
    out-of-memory advice (--memory-limit does not govern this check); nothing written. (A
    CSV table: the scan's DuckDB checks Parquet itself, ``test_files``.)"""
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in schema.load(three_links).items():
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    monkeypatch.setattr(schema, "UNIQUE_MEMORY_LIMIT", "1KB")
    out = tmp_path / "out"
    with pytest.raises(CommandError) as exc:
        call_command("scan", "run", str(csv_dir), "--out", str(out))
    message = str(exc.value)
    assert re.match(
        r"\S*residents.csv, column 'resident_id': its uniqueness could not be checked "
        r"\(Out of Memory Error: .*\); the check may use 1KB .*TMPDIR",
        message,
    )
    assert "\n" not in message
    assert not out.exists()


def test_a_parquet_file_is_read_one_row_group_at_a_time(tmp_path, monkeypatch):
    """Validation holds one batch, whatever the file's size: the Parquet reader must not keep
    the column chunks it has read (pre-buffering kept the whole file, 2.5 GB of links at
    100M). Here 40 row groups: Arrow holds at most a few of them at once."""
    rng = np.random.default_rng(1)
    n, group = 200_000, 5_000
    ids = pa.array([f"R{i:09d}" for i in range(n)])
    text = rng.bytes(24 * n).hex()
    noise = pa.array([text[i * 48 : (i + 1) * 48] for i in range(n)])
    table = pa.table(
        {
            "resident_id": ids,
            "name_kana": noise,
            "name_kanji": noise,
            "birth_date": pa.nulls(n, pa.date32()),
            "household_id": ids,
            "municipality_code": pa.array(["131016"] * n),
        }
    )
    path = tmp_path / "residents.parquet"
    pq.write_table(table, path, row_group_size=group, compression="none")
    whole = table.nbytes
    del table, noise
    monkeypatch.setattr(schema, "BATCH_ROWS", group)
    start = pa.total_allocated_bytes()
    most = 0
    rows = 0
    for batch in schema.batches(path, "residents"):
        rows += batch.num_rows
        most = max(most, pa.total_allocated_bytes() - start)
    assert rows == n
    assert most < whole / 8


def test_keys_in_increasing_order_skip_the_count_and_a_repeat_among_them_is_still_refused(
    three_links, monkeypatch
):
    """A key column whose values each exceed the one before (a registry sorted by its key)
    is unique without counting its hashes; equal neighbours, even across two batches, or any
    value out of order leave it to the count, so a duplicate is refused word for word."""
    from madoguchi.scan import engine

    path = three_links / "links.parquet"
    monkeypatch.setattr(schema, "BATCH_ROWS", 1)
    assert engine._increasing(path, "link_id")  # L1, L2, L3
    with engine.connect("duckdb") as eng:
        assert eng.validate(three_links)["links"] == 3
    _rewrite(
        three_links, "links", lambda t: t.set_column(0, "link_id", pa.array(["L1", "L2", "L2"]))
    )
    assert not engine._increasing(path, "link_id")
    with (
        engine.connect("duckdb") as eng,
        pytest.raises(
            schema.InputError,
            match=r"links.parquet, column 'link_id': a value of 2 characters \(not shown\) is "
            r"not unique: 2 rows have it \(rows 2 and 3\); each link_id must appear once",
        ),
    ):
        eng.validate(three_links)
    _rewrite(
        three_links, "links", lambda t: t.set_column(0, "link_id", pa.array(["L2", "L1", "L3"]))
    )
    assert not engine._increasing(path, "link_id")
    with engine.connect("duckdb") as eng:
        assert eng.validate(three_links)["links"] == 3


def _as_csv(good, tmp_path):
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in schema.load(good).items():
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    return csv_dir


def test_a_csv_row_with_a_field_too_few_names_its_row(good, tmp_path):
    """Arrow's message quotes the row but not its number: the error gives the row (as a
    spreadsheet numbers it) and what to look for, and nothing is written."""
    csv_dir = _as_csv(good, tmp_path)
    path = csv_dir / "residents.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]  # the third resident loses municipality_code
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        schema.InputError,
        match=r"residents.csv: cannot be read: row 4 has 5 fields where the header has 6 "
        r"\(a quote left open or a comma missing or extra\?\), starting '\"B\",",
    ):
        schema.load(csv_dir)
    out = tmp_path / "out"
    with pytest.raises(CommandError, match="row 4 has 5 fields"):
        call_command("scan", "run", str(csv_dir), "--out", str(out), "--no-pdf")
    assert not out.exists()


@pytest.mark.parametrize(("mark", "word"), [("\t", "tabs"), (";", "semicolons")])
def test_a_csv_separated_by_tabs_or_semicolons_says_to_use_commas(good, tmp_path, mark, word):
    csv_dir = _as_csv(good, tmp_path)
    path = csv_dir / "links.csv"
    path.write_text(path.read_text().replace(",", mark))
    with pytest.raises(
        schema.InputError,
        match=rf"links.csv, column 'link_id': missing column .*; the header is separated by "
        rf"{word}: separate it by commas",
    ):
        schema.load(csv_dir)


def _refused_code(good, tmp_path, fmt, table, code):
    """`scan run`'s refusal of the input `good` as `fmt` files, `table`'s last row's
    municipality code `code`: (the message, the file and the row it should name). Nothing is
    written."""
    tables = schema.load(good)
    codes = tables[table].column("municipality_code").to_pylist()
    codes[-1] = code
    index = tables[table].schema.get_field_index("municipality_code")
    tables[table] = tables[table].set_column(index, "municipality_code", pa.array(codes))
    directory = tmp_path / fmt
    directory.mkdir()
    for name, t in tables.items():
        if fmt == "csv":
            pacsv.write_csv(t, directory / f"{name}.csv")
        else:
            pq.write_table(t, directory / f"{name}.parquet")
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    assert not out.exists()
    return str(refused.value), directory / f"{table}.{fmt}", len(codes) + (fmt == "csv")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("table", "code", "excel"),
    [
        ("residents", "13101", True),  # Excel read 013101 as a number
        ("links", "1310160", False),
        ("links", "13101６", False),  # a full-width digit
        ("residents", "131016 ", False),
    ],
)
def test_a_municipality_code_not_six_digits_is_refused(good, tmp_path, fmt, table, code, excel):
    """A code that is not 6 ASCII digits matches no city's code, so its findings would reach
    no official: refused naming file, column, row and value, on the DuckDB scan's way in;
    five digits say that Excel dropped the leading 0 and how to keep it. Nothing written."""
    message, path, row = _refused_code(good, tmp_path, fmt, table, code)
    assert message.startswith(
        f"{path}, column 'municipality_code': row {row} has value {code!r}, not a municipality "
        "code (全国地方公共団体コード: exactly 6 digits)"
    )
    assert "\n" not in message
    assert ("Excel probably dropped its leading 0 (was it '013101'?)" in message) == excel
    assert ("(文字列)" in message) == excel
    assert ("write them half-width (0-9)" in message) == ("６" in code)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("table", "code", "right"), [("links", "131017", "6"), ("residents", "271400", "3")]
)
def test_a_municipality_code_with_a_wrong_check_digit_is_refused(
    good, tmp_path, fmt, table, code, right
):
    """Six digits whose last is not the check digit of the five before (a slip copying 131016,
    Chiyoda's) match no city's code either, every city's being checked so: its findings would
    reach no official. Refused naming the file, column, row and value and the check digit it
    should have, on the DuckDB scan's way in, from a Parquet file as from a CSV; nothing
    written."""
    message, path, row = _refused_code(good, tmp_path, fmt, table, code)
    assert message == (
        f"{path}, column 'municipality_code': row {row} has value {code!r}, not a municipality code "
        "(全国地方公共団体コード: its last digit is the check digit of the five before, and the "
        f"check digit of {code[:5]} is {right}, not {code[5]}): check that the code was copied "
        "right"
    )


def test_a_municipality_code_stored_as_a_number_in_parquet_is_refused(good):
    """An export that typed the column as an integer loses the leading 0 the same way."""
    _rewrite(
        good,
        "residents",
        lambda t: t.set_column(
            t.schema.get_field_index("municipality_code"),
            "municipality_code",
            pa.array([13101] * t.num_rows, pa.int64()),
        ),
    )
    with pytest.raises(
        schema.InputError,
        match=r"residents.parquet, column 'municipality_code': row 1 has value '13101', "
        r"not a municipality code .*Excel probably dropped its leading 0",
    ):
        schema.validate(good)


def test_a_municipality_code_with_a_leading_0_is_kept_from_csv(good, tmp_path):
    """Hokkaido's codes start with 0: a CSV holding them as text reads them whole."""
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in schema.load(good).items():
        if "municipality_code" in table.column_names:
            index = table.schema.get_field_index("municipality_code")
            table = table.set_column(
                index, "municipality_code", pa.array(["013013"] * table.num_rows)
            )
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    loaded = schema.load(csv_dir)
    assert set(loaded["residents"].column("municipality_code").to_pylist()) == {"013013"}
    assert loaded["links"].column("municipality_code").to_pylist() == ["013013"]
