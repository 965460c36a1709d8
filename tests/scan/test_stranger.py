"""What a stranger tries first, refused as one sentence before anything is written: options
no run can use, an output that cannot be one, a CSV saved as UTF-16, two tables that do not
write the resident IDs the same way, a directory that is not a generator's, and findings
scored against the truth of another generated input or a truth naming links not scanned."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import engine, schema
from madoguchi.scan.generate import generate


def _run(inp, out, *extra):
    call_command(
        "scan", "run", str(inp), "--out", str(out), "--no-pdf", *extra, stdout=io.StringIO()
    )


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (("--memory-limit", "lots"), r"--memory-limit 'lots' is not an amount of memory"),
        (("--threads", "-1"), r"--threads -1: give 1 or more"),
        (("--timeline-limit", "-1"), r"--timeline-limit -1: give 0 or more"),
        # Past 64 bits these were DuckDB's and Arrow's tracebacks.
        (
            ("--threads", "99999999999999999999"),
            r"--threads 99999999999999999999: give at most 1,024",
        ),
        (("--threads", "1025"), r"--threads 1025: give at most 1,024"),
        (
            ("--timeline-limit", "99999999999999999999"),
            r"--timeline-limit 99999999999999999999: give at most 1,000,000,000 findings",
        ),
    ],
)
def test_options_no_run_can_use_are_refused_before_anything_runs(good, tmp_path, extra, said):
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=said):
        _run(good, out, *extra)
    assert not out.exists()


def test_an_out_named_like_a_file_or_under_a_file_is_refused(good, tmp_path):
    # --out data/findings.parquet made a directory of that name inside the input, which the
    # next run then refused as a stray table.
    with pytest.raises(CommandError, match=r"--out names the directory the run writes"):
        _run(good, good / "findings.parquet")
    assert not (good / "findings.parquet").exists()
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(CommandError, match=r"afile is not a directory\): give a directory"):
        _run(good, blocker / "out")


def test_a_csv_saved_as_utf16_says_so_not_shift_jis(good):
    t = pq.read_table(good / "links.parquet")
    (good / "links.parquet").unlink()
    header = ",".join(t.column_names)
    (good / "links.csv").write_text(header + "\n", encoding="utf-16")
    with pytest.raises(schema.InputError, match=r"links.csv: is UTF-16 text") as got:
        schema.validate(good)
    assert "Shift_JIS" not in str(got.value)


def test_no_link_naming_a_resident_of_the_residents_table_is_refused(good, tmp_path):
    # A number as resident_id: the residents stored as whole numbers, the links as 'A', 'B'.
    t = pq.read_table(good / "residents.parquet")
    ids = pa.array(range(t.num_rows), pa.int64())
    pq.write_table(t.set_column(0, "resident_id", ids), good / "residents.parquet")
    out = tmp_path / "out"
    with pytest.raises(
        CommandError,
        match=r"links.parquet, column 'resident_id': no link's resident_id is in "
        r"residents.parquet \(links have e.g. 'A', residents e.g. '0'\)",
    ):
        _run(good, out)
    assert not out.exists()


def test_some_links_without_their_resident_are_still_scanned_and_reported(good, tmp_path):
    t = pq.read_table(good / "links.parquet")
    extra = t.slice(0, 1).to_pylist()[0] | {"link_id": "L9", "resident_id": "GONE"}
    pq.write_table(
        pa.concat_tables([t, pa.Table.from_pylist([extra], t.schema)]), good / "links.parquet"
    )
    out = tmp_path / "out"
    _run(good, out)
    assert (out / "findings.parquet").exists()


def test_generate_refuses_a_file_and_a_directory_it_did_not_write(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(CommandError, match=r"afile: exists and is not a directory"):
        call_command("scan", "generate", "--links", "100", str(blocker))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "residents.csv").write_text("resident_id\n")
    with pytest.raises(CommandError, match=r"mine: holds residents.csv, which scan generate"):
        call_command("scan", "generate", "--links", "100", str(mine))
    assert sorted(p.name for p in mine.iterdir()) == ["residents.csv"]
    # A generator's own directory is replaced, as the help says.
    again = tmp_path / "gen"
    call_command("scan", "generate", "--links", "100", str(again), stdout=io.StringIO())
    call_command("scan", "generate", "--links", "120", str(again), stdout=io.StringIO())
    assert pq.read_metadata(again / "links.parquet").num_rows == 120


def test_evaluate_refuses_the_truth_of_another_generated_input(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    generate(one, links=2_000, seed=1)
    generate(two, links=2_000, seed=2)

    # The same N gives the same link IDs: the IDs alone cannot tell the two apart.
    def ids(d):
        return set(pq.read_table(d / "links.parquet").column("link_id").to_pylist())

    assert ids(one) == ids(two)
    out = tmp_path / "out"
    _run(one, out)
    said = io.StringIO()
    call_command("scan", "evaluate", str(one), "--findings", str(out), stdout=said)
    assert "targets met" in said.getvalue()  # the run's OUT directory stands for its findings
    with pytest.raises(CommandError, match=r"findings.parquet: are the findings of another"):
        call_command("scan", "evaluate", str(two), "--findings", str(out / "findings.parquet"))
    with pytest.raises(CommandError, match=r"findings.parquet: are the findings of another"):
        call_command(
            "scan",
            "evaluate",
            str(one),
            "--findings",
            str(out / "findings.parquet"),
            "--truth",
            str(two / "truth.parquet"),
        )
    (out / "report.html").write_text("<html>")
    with pytest.raises(CommandError, match=r"report.html: cannot be read as Parquet"):
        call_command("scan", "evaluate", str(one), "--findings", str(out / "report.html"))


@pytest.mark.parametrize("as_csv", [False, True])
def test_an_account_last4_longer_than_4_is_refused_it_would_show_the_whole_number(good, as_csv):
    t = pq.read_table(good / "links.parquet")
    last4 = t.column("account_last4").to_pylist()
    last4[0] = "0001234567"
    t = t.set_column(t.schema.get_field_index("account_last4"), "account_last4", pa.array(last4))
    (good / "links.parquet").unlink()
    if as_csv:
        import pyarrow.csv as pacsv

        pacsv.write_csv(t, good / "links.csv")
    else:
        pq.write_table(t, good / "links.parquet")
    said = r"column 'account_last4': row \d has value '0001234567', 10 characters: give only"
    with pytest.raises(schema.InputError, match=said):
        schema.validate(good)
    # DuckDB's own check of a Parquet file (scan run's default) refuses it too.
    with engine.connect("duckdb", threads=1) as eng, pytest.raises(schema.InputError, match=said):
        eng.validate(good)
    # Four or fewer, or none, pass.
    last4[0] = ""
    t = t.set_column(t.schema.get_field_index("account_last4"), "account_last4", pa.array(last4))
    (good / "links.csv").unlink(missing_ok=True)
    pq.write_table(t, good / "links.parquet")
    assert schema.validate(good)["links"] == t.num_rows


def test_text_stored_dictionary_encoded_is_read_as_text(good, tmp_path):
    # pandas writes its "category" columns so: the same text, not another type.
    t = pq.read_table(good / "links.parquet")
    i = t.schema.get_field_index("programme")
    pq.write_table(
        t.set_column(i, "programme", t.column(i).dictionary_encode()), good / "links.parquet"
    )
    assert pa.types.is_dictionary(pq.read_schema(good / "links.parquet").field("programme").type)
    assert schema.validate(good)["links"] == t.num_rows
    out = tmp_path / "out"
    _run(good, out)
    assert pq.read_table(out / "findings.parquet").num_rows >= 0
    # An unknown value in it is still refused.
    values = t.column(i).to_pylist()
    values[0] = "mynapoint_3"
    bad = pa.array(values).dictionary_encode()
    pq.write_table(t.set_column(i, "programme", bad), good / "links.parquet")
    with pytest.raises(schema.InputError, match=r"row 1 has unknown value 'mynapoint_3'"):
        schema.validate(good)


def test_a_csv_time_with_a_zone_says_to_write_it_on_japans_clock(good):
    t = pq.read_table(good / "links.parquet")
    (good / "links.parquet").unlink()
    i = t.schema.get_field_index("linked_at")
    zoned = pa.array(["2022-08-01T09:01:00+09:00"] * t.num_rows)
    import pyarrow.csv as pacsv

    pacsv.write_csv(t.set_column(i, "linked_at", zoned), good / "links.csv")
    with pytest.raises(
        schema.InputError, match=r"row 2 has '2022-08-01T09:01:00\+09:00'.*it has a time zone"
    ):
        schema.validate(good)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('{"format": "madoguchi-scan", "version": "1"}', r"has version '1' as text: write the"),
        ('{"version": 1}', r'names no "format": a scan\'s format.json reads'),
        ('{"format": "other", "version": 1}', r"has format 'other': a scan's format.json"),
        ('{"format": "madoguchi-scan", "version": 2}', r"version 2 is not supported"),
    ],
)
def test_a_format_json_says_what_it_should_read(good, tmp_path, content, said):
    (good / "format.json").write_text(content)
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=r"format.json: " + said) as got:
        _run(good, out)
    assert "column" not in str(got.value)  # format.json has keys, not columns
    assert not out.exists()


def test_evaluate_refuses_a_truth_naming_links_that_were_not_scanned(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    generate(data, links=2_000, seed=1)
    _run(data, out)
    truth = pq.read_table(data / "truth.parquet")
    links = pq.read_table(data / "links.parquet").column("link_id").to_pylist()
    # Seven more rows name links the input does not hold (mistyped, or of a larger generated
    # input); the file keeps the input's identity, so only its link IDs can tell.
    typos = sorted(f"{i}x" for i in links[:7])
    assert not set(typos) & set(links)
    more = pa.table({"link_id": typos, "cause": ["logout_omission"] * 7}, schema=truth.schema)
    edited = pa.concat_tables([truth, more])
    assert edited.schema.metadata == truth.schema.metadata
    wrong = tmp_path / "typed-truth.parquet"
    pq.write_table(edited, wrong)
    said = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(
            "scan",
            "evaluate",
            str(data),
            "--findings",
            str(out),
            "--truth",
            str(wrong),
            stdout=said,
        )
    message = str(refused.value)
    assert message.startswith(f"{wrong}: 7 of its {edited.num_rows:,} link IDs are not links of ")
    assert ", ".join(repr(i) for i in typos[:5]) + ", …)" in message
    assert typos[5] not in message
    assert "\n" not in message
    assert said.getvalue() == ""  # no figure printed
    # The input's own truth is scored as before.
    call_command("scan", "evaluate", str(data), "--findings", str(out), stdout=said)
    assert "targets met" in said.getvalue()


@pytest.mark.parametrize("as_csv", [False, True])
@pytest.mark.parametrize("number", ["9001234567890123", "0001-123-1-1234567", "９００１２３４５"])
def test_an_account_number_given_for_its_hash_is_refused_and_never_echoed(
    good, tmp_path, as_csv, number
):
    """A city exports the account itself into account_hash: the data rules keep an account only
    as its keyed hash and last 4, so the scan refuses it before writing anything, and the
    refusal does not repeat the number (it used to be stored in findings.parquet, the
    database's findings and the cases opened from them)."""
    t = pq.read_table(good / "links.parquet")
    hashes = t.column("account_hash").to_pylist()
    hashes[0] = number
    t = t.set_column(t.schema.get_field_index("account_hash"), "account_hash", pa.array(hashes))
    (good / "links.parquet").unlink()
    if as_csv:
        import pyarrow.csv as pacsv

        pacsv.write_csv(t, good / "links.csv")
    else:
        pq.write_table(t, good / "links.parquet")
    said = r"column 'account_hash': row \d has a value of \d+ digits and separators \(not shown\)"
    with pytest.raises(schema.InputError, match=said) as refused:
        schema.validate(good)
    assert number not in str(refused.value)
    assert "an account number itself, not its keyed hash" in str(refused.value)
    # DuckDB's own check of a Parquet file (scan run's default) refuses it too.
    with engine.connect("duckdb", threads=1) as eng, pytest.raises(schema.InputError) as by_duck:
        eng.validate(good)
    assert str(by_duck.value) == str(refused.value)
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        _run(good, out)
    assert number not in str(refused.value)
    assert not out.exists() or not any(out.iterdir())


def test_a_keyed_hash_and_the_generators_hashes_pass(good, tmp_path):
    from madoguchi.benefits import identifiers

    t = pq.read_table(good / "links.parquet")
    hashes = t.column("account_hash").to_pylist()
    hashes[0] = identifiers.identifier_hash("9001234567890123")
    t = t.set_column(t.schema.get_field_index("account_hash"), "account_hash", pa.array(hashes))
    pq.write_table(t, good / "links.parquet")
    assert schema.validate(good)["links"] == t.num_rows
    generate(tmp_path / "gen", links=20_000, seed=3)
    assert schema.validate(tmp_path / "gen")["links"] >= 20_000
