"""Engine equivalence: the same rules on DuckDB and on Spark local[2] give identical findings,
Spark reading the input files itself.

One Spark session for the whole test run (about 10 s to start), quiet logs, no UI. Marked
``spark``; it uses no database, so only the PostgreSQL pass of ``make test`` runs it (the SQLite
pass runs only tests marked ``database``).
"""

import io
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import bench, engine, generate, schema
from madoguchi.scan import run as scan_run
from tests.scan.builders import Desk, family
from tests.scan.test_files import _desk

pytestmark = pytest.mark.spark

COLUMNS = [
    "link_id",
    "cause",
    "score",
    "rule",
    "resident_id",
    "other_resident_id",
    "holder_check",
    "holder_kana",
]


@pytest.fixture(scope="session")
def spark_engine():
    with engine.connect(
        "spark", master="local[2]", conf={"spark.sql.shuffle.partitions": "2"}
    ) as eng:
        yield eng


def _found(eng, tables):
    return eng.to_arrow(eng.findings(tables)).select(COLUMNS).sort_by("link_id").to_pylist()


def _finds_the_hand_made_mislinks_as_duckdb(spark_engine, files, validated):
    """Spark over ``files`` finds what DuckDB finds in the ``validated`` tables of the
    hand-made input: its logout omission L3 and typed wrong ID L4."""
    with engine.connect("duckdb", threads=2) as duck:
        expected = _found(duck, duck.register(validated))
    assert _found(spark_engine, files) == expected
    assert {(r["link_id"], r["cause"]) for r in expected} == {
        ("L3", "logout_omission"),
        ("L4", "typed_wrong_id"),
    }


def test_duckdb_and_spark_reading_the_files_give_identical_findings(tmp_path, spark_engine):
    data = tmp_path / "data"
    generate.generate(data, links=2000, seed=11, rate=0.05, family_rate=0.01)
    with engine.connect("duckdb", threads=2) as duck:
        on_duck = _found(duck, duck.register(schema.load(data)))
    on_spark = _found(spark_engine, spark_engine.register_files(data))
    assert {r["cause"] for r in on_duck} == {
        "logout_omission",
        "typed_wrong_id",
        "lent_terminal",
        "wrong_card",
        "family_account",
    }
    assert on_spark == on_duck


def _naive(value):
    """Spark gives timestamps in the session's zone (UTC); the format's are local clock times."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _sorted_rows(table, name):
    key = [c.name for c in schema.TABLES[name]][:2]
    rows = table.sort_by([(k, "ascending") for k in key]).to_pylist()
    return [{k: _naive(v) for k, v in row.items()} for row in rows]


def test_spark_converts_csv_text_and_other_types_as_the_validation_does(tmp_path, spark_engine):
    directory = _desk().write(tmp_path / "in")
    # Times stored as text (a space instead of T, a fraction), a CSV table with a BOM, and a
    # date stored as a timestamp in nanoseconds (which Spark cannot read: staged as Parquet).
    links = pq.read_table(directory / "links.parquet")
    at = pa.array(
        [t.strftime("%Y-%m-%d %H:%M:%S.5") for t in links.column("linked_at").to_pylist()]
    )
    pq.write_table(links.set_column(6, "linked_at", at), directory / "links.parquet")
    events = pq.read_table(directory / "desk_events.parquet")
    (directory / "desk_events.parquet").unlink()
    pacsv.write_csv(events, tmp_path / "events.csv")
    (directory / "desk_events.csv").write_bytes(
        b"\xef\xbb\xbf" + (tmp_path / "events.csv").read_bytes()
    )
    residents = pq.read_table(directory / "residents.parquet")
    born = pa.array([datetime(1990, 1, 2)] + [None] * (residents.num_rows - 1), pa.timestamp("ns"))
    pq.write_table(residents.set_column(3, "birth_date", born), directory / "residents.parquet")

    validated = schema.load(directory)
    files = spark_engine.register_files(directory)
    for name, table in validated.items():
        got = files[name].to_pyarrow()
        assert got.schema.names == table.schema.names
        assert _sorted_rows(got, name) == _sorted_rows(table, name)
    assert spark_engine.scratch is not None
    assert [p.name for p in spark_engine.scratch.iterdir()] == ["residents.parquet"]
    _finds_the_hand_made_mislinks_as_duckdb(spark_engine, files, validated)


def _session_members(sid: int) -> list[int]:
    """Live (not zombie) processes of a session."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2 :].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


@pytest.mark.parametrize(
    ("memory", "timeout", "expected"),
    [
        ("2g", 1.0, "stopped: no result within 1 s (its JVM and workers killed)"),
        ("1k", 600.0, "failed: PySparkRuntimeError: [JAVA_GATEWAY_EXITED]"),
    ],
)
def test_bench_reports_a_spark_side_that_fails_or_overruns_in_one_line(
    tmp_path, monkeypatch, memory, timeout, expected
):
    data = tmp_path / "data"
    generate.generate(data, links=300, seed=2)
    monkeypatch.setitem(bench.SPARK_CONF, "spark.driver.memory", memory)
    started = []
    popen = subprocess.Popen

    def recording(*args, **kwargs):
        child = popen(*args, **kwargs)
        started.append(child.pid)
        return child

    monkeypatch.setattr(subprocess, "Popen", recording)
    result = bench.BenchResult(links=300, events=0, machine="")
    bench._spark_side(result, data, 300, tmp_path, timeout)
    assert result.skipped["spark_local2"].startswith(expected)
    assert "spark_local2" not in result.seconds
    assert "ibis_at_spark_size" in result.seconds  # DuckDB on the same files still measured
    result.seconds["ibis_duckdb"] = result.cpu["ibis_duckdb"] = 1.0  # the rest of the bench
    line = [x for x in bench.lines(result) if "Spark local[2]:" in x]
    assert line == [f"  Spark local[2]:          skipped ({result.skipped['spark_local2']})"]
    deadline = time.monotonic() + 60  # a poll: returns once the session is gone
    while _session_members(started[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_members(started[0]) == []  # no JVM or worker left behind


def test_explain_on_spark_shows_the_rules_reading_the_files(tmp_path, spark_engine):
    directory = _desk().write(tmp_path / "in")
    out = io.StringIO()
    call_command(
        "scan",
        "run",
        str(directory),
        "--out",
        str(tmp_path / "out"),
        "--engine",
        "spark",
        "--explain",
        stdout=out,
    )
    text = out.getvalue()
    assert "== logout_omission.v1" in text
    assert "FileScan parquet" in text
    assert "LocalTableScan" not in text  # nothing handed over from the driver
    assert not (tmp_path / "out").exists()


def test_scan_run_on_spark_writes_the_findings_and_timelines_duckdb_does(tmp_path, spark_engine):
    directory = _desk().write(tmp_path / "in")
    lines = {name: io.StringIO() for name in ("duckdb", "spark")}
    results = {
        name: scan_run.run(
            directory, tmp_path / name, engine=name, pdf=False, progress=lines[name], threads=2
        )
        for name in ("duckdb", "spark")
    }
    duck, spark = results["duckdb"], results["spark"]
    # The name checks run in Spark's Python workers, which the driver cannot count: the
    # progress line says where they ran instead of "0 name checks".
    assert "name checks in the engine's workers" in lines["spark"].getvalue()
    assert " 0 name checks" not in lines["spark"].getvalue()
    assert re.search(r"links, [1-9][\d,]* name checks in", lines["duckdb"].getvalue())
    assert spark.findings.select(COLUMNS).to_pylist() == duck.findings.select(COLUMNS).to_pylist()
    assert spark.findings.column("link_id").to_pylist() == ["L3", "L4"]
    assert spark.timelines == duck.timelines
    assert spark.timelines["L3"]  # the logout omission's desk events around its commit
    assert (tmp_path / "spark" / "report.html").exists()


def test_spark_reads_a_directory_with_glob_characters_as_itself(tmp_path, spark_engine):
    """Spark (Hadoop) reads '{', '[', '*' and '?' in a path as a glob: 'in[1]*?{a,b}' would
    read the files of 'in1xa' beside it. Parquet and CSV tables are read from their own
    directory."""
    directory = _desk().write(tmp_path / "in[1]*?{a,b}")
    events = pq.read_table(directory / "desk_events.parquet")
    (directory / "desk_events.parquet").unlink()
    pacsv.write_csv(events, directory / "desk_events.csv")
    decoy = tmp_path / "in1xa"  # what the glob would match: no logout omission there
    d = _desk()
    d.links = [r for r in d.links if r["link_id"] != "L3"]
    d.events = [e for e in d.events if e["link_id"] != "L3"]
    d.write(decoy)
    pacsv.write_csv(pq.read_table(decoy / "desk_events.parquet"), decoy / "desk_events.csv")
    (decoy / "desk_events.parquet").unlink()
    found = _found(spark_engine, spark_engine.register_files(directory))
    assert {(r["link_id"], r["cause"]) for r in found} == {
        ("L3", "logout_omission"),
        ("L4", "typed_wrong_id"),
    }


def test_spark_reads_and_validates_an_input_given_as_a_uri(tmp_path, spark_engine):
    """With --engine spark a URI (s3a://, hdfs://; file:// here, no network in tests) is
    validated by Spark itself, which reads it, and scanned as a local directory would be."""
    directory = _desk().write(tmp_path / "in[1]")
    events = pq.read_table(directory / "desk_events.parquet")
    (directory / "desk_events.parquet").unlink()
    pacsv.write_csv(events, directory / "desk_events.csv")
    uri = f"file://{directory}"
    assert spark_engine.validate(uri) == schema.validate(directory)
    result = scan_run.run(
        uri, tmp_path / "out", engine="spark", pdf=False, progress=io.StringIO(), threads=2
    )
    assert result.summary.rows == schema.validate(directory)
    with engine.connect("duckdb", threads=2) as duck:
        expected = _found(duck, duck.register_files(directory))
    assert result.findings.select(COLUMNS).to_pylist() == expected
    assert [r["link_id"] for r in expected] == ["L3", "L4"]
    plans = io.StringIO()
    call_command(
        "scan",
        "run",
        uri,
        "--out",
        str(tmp_path / "x"),
        "--engine",
        "spark",
        "--explain",
        stdout=plans,
    )
    assert "FileScan csv" in plans.getvalue()
    assert "FileScan parquet" in plans.getvalue()


def test_spark_validation_of_a_uri_gives_one_error_naming_file_and_column(tmp_path, spark_engine):
    directory = _desk().write(tmp_path / "in")
    uri = f"file://{directory}"
    links = pq.read_table(directory / "links.parquet")

    def refused(table, match):
        with pytest.raises(schema.InputError, match=match) as exc:
            spark_engine.validate(uri)
        assert exc.value.file == f"{uri}/{table}"
        return exc.value

    ids = links.column("link_id").to_pylist()
    pq.write_table(
        links.set_column(0, "link_id", pa.array([*ids[:-1], ids[0]])), directory / "links.parquet"
    )
    error = refused(
        "links.parquet",
        r"column 'link_id': a value of 2 characters \(not shown\) is not unique: 2 rows have it "
        r"\(the first is row 1\); each link_id must appear",
    )
    assert error.column == "link_id"
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=r"column 'link_id': a value of 2 characters \(not"):
        call_command("scan", "run", uri, "--out", str(out), "--engine", "spark")
    assert not out.exists()

    # The row named is the file's, whatever split Spark read it in: a row group per row and
    # splits of a few hundred bytes make several splits of one small file.
    conf = spark_engine.con._session.conf
    conf.set("spark.sql.files.maxPartitionBytes", "300")
    conf.set("spark.sql.files.openCostInBytes", "0")
    programme = links.column("programme").to_pylist()
    programme[-2] = "mynapoint_3"
    pq.write_table(
        links.set_column(1, "programme", pa.array(programme)),
        directory / "links.parquet",
        row_group_size=1,
    )
    refused(
        "links.parquet",
        rf"column 'programme': row {links.num_rows - 1} has unknown value 'mynapoint_3' "
        r"\(allowed: mynapoint_2,",
    )

    def second_last_code(code):
        codes = links.column("municipality_code").to_pylist()
        codes[-2] = code
        index = links.schema.get_field_index("municipality_code")
        pq.write_table(
            links.set_column(index, "municipality_code", pa.array(codes)),
            directory / "links.parquet",
            row_group_size=1,
        )

    second_last_code("13101")
    refused(
        "links.parquet",
        rf"column 'municipality_code': row {links.num_rows - 1} has value '13101', not a "
        r"municipality code \(全国地方公共団体コード: exactly 6 digits\): Excel probably dropped "
        r"its leading 0 \(was it '013101'\?\)",
    )
    second_last_code("131017")  # 13101's check digit is 6
    refused(
        "links.parquet",
        rf"column 'municipality_code': row {links.num_rows - 1} has value '131017', not a "
        r"municipality code \(全国地方公共団体コード: its last digit is the check digit of the five "
        r"before, and the check digit of 13101 is 6, not 7\)",
    )
    pq.write_table(links.drop_columns(["channel"]), directory / "links.parquet")
    refused("links.parquet", r"column 'channel': missing column \(the file has 'link_id',")
    pq.write_table(links.slice(0, 0), directory / "links.parquet")
    refused("links.parquet", r"^\S+links.parquet: has no rows")
    (directory / "links.parquet").write_bytes(b"not parquet at all")
    error = refused("links.parquet", r"^\S+links.parquet: cannot be read by Spark: \S")
    assert "\n" not in str(error)
    pq.write_table(links, directory / "links.parquet")

    residents = pq.read_table(directory / "residents.parquet")
    kana = pa.array([" \u3000", *residents.column("name_kana").to_pylist()[1:]])
    pq.write_table(residents.set_column(1, "name_kana", kana), directory / "residents.parquet")
    refused("residents.parquet", r"column 'name_kana': row 1 is empty \(required\)")
    (directory / "residents.parquet").unlink()
    refused("residents.parquet", r"missing: give residents.parquet or residents.csv")
    pq.write_table(residents, directory / "residents.parquet")

    events = pq.read_table(directory / "desk_events.parquet")
    (directory / "desk_events.parquet").unlink()
    pacsv.write_csv(events, tmp_path / "events.csv")
    text = (tmp_path / "events.csv").read_text()
    (directory / "desk_events.csv").write_text(
        re.sub(r"2022-08-01 09:01:00(\.0+)?", "yesterday", text)
    )
    # The row as the local validation counts it (Spark reads the file in splits, unordered).
    with pytest.raises(schema.InputError) as local:
        schema.validate(directory)
    row = re.search(r"row (\d+) has", str(local.value)).group(1)
    refused(
        "desk_events.csv",
        rf"column 'at': row {row} has value 'yesterday', not a date and time \(YYYY-MM-DDTHH",
    )
    conf.unset("spark.sql.files.maxPartitionBytes")
    conf.unset("spark.sql.files.openCostInBytes")


def test_spark_without_a_file_system_for_the_scheme_says_so(spark_engine):
    with pytest.raises(schema.InputError, match=r"^s3a://bucket/scan: cannot be read: .*s3a"):
        spark_engine.validate("s3a://bucket/scan")


def test_a_spark_session_ends_without_a_py4j_logging_error_at_exit(tmp_path):
    """py4j logs at INFO as its connections close, some in __del__ at interpreter exit, when a
    handler's stream may already be closed: "--- Logging error ---" after every Spark run."""
    script = (
        "import io, logging\n"
        "stream = io.StringIO()\n"
        "logging.basicConfig(level=logging.INFO, stream=stream)\n"
        "from madoguchi.scan import engine\n"
        "engine.spark_session('local[1]').range(3).count()\n"
        "stream.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Logging error" not in done.stderr


def test_spark_reads_zoned_timestamps_on_japans_clock_as_duckdb_does(tmp_path, spark_engine):
    from tests.scan.test_unscanned import _zoned

    directory = _desk().write(tmp_path / "in")
    naive = schema.load(directory)["desk_events"].column("at").to_pylist()
    _zoned(directory, "Asia/Tokyo")
    files = spark_engine.register_files(directory)
    got = files["desk_events"].to_pyarrow().column("at").to_pylist()
    assert sorted(_naive(v) for v in got) == sorted(naive)
    result = scan_run.run(directory, tmp_path / "out", engine="spark", pdf=False, progress=None)
    assert result.findings.column("link_id").to_pylist() == ["L3", "L4"]
    assert result.timelines["L3"][0]["at"] == datetime(2022, 8, 1, 9, 0)


def test_spark_counts_the_links_not_scanned_as_duckdb_does(tmp_path, spark_engine):
    from tests.scan.test_unscanned import _orphaned

    directory = _orphaned(tmp_path)
    result = scan_run.run(directory, tmp_path / "out", engine="spark", pdf=False, progress=None)
    assert result.summary.unscanned == 2
    assert result.summary.unscanned_examples == ["LZ1", "LZ9"]


def test_spark_refuses_a_row_breaking_a_row_rule_in_a_uri_as_schema_does(tmp_path, spark_engine):
    """The rules between a row's columns (schema.ROW_RULES) checked by Spark over a URI: the
    same file, column, row and link as schema's, and how many rows break it."""
    from tests.scan.test_row_rules import _desk

    d = _desk()
    d.links[1]["staff_id"] = "S1"  # a self link with a staff member
    d.link("L9", "C", "ﾀﾅｶ ﾊﾅｺ", channel="self")
    d.links[-1]["staff_id"] = "S2"
    directory = d.write(tmp_path / "in")
    uri = f"file://{directory}"
    with pytest.raises(schema.InputError) as local:
        schema.validate(directory)
    assert str(local.value).startswith(
        f"{directory / 'links.parquet'}, column 'staff_id': row 2 has channel 'self' and a "
        "staff_id: a self link is one"
    )
    with pytest.raises(schema.InputError) as by_spark:
        spark_engine.validate(uri)
    assert str(by_spark.value) == (
        f"{uri}/links.parquet, column 'staff_id': 2 rows have channel 'self' and a staff_id; the "
        f"first is row 2: {schema.ROW_RULES['links'][2].why}"
    )
    d.links[1]["staff_id"] = d.links[-1]["staff_id"] = None
    d.events[2]["link_id"] = None  # the commit of L1
    d.write(tmp_path / "in")
    with pytest.raises(schema.InputError) as by_spark:
        spark_engine.validate(uri)
    assert str(by_spark.value).startswith(
        f"{uri}/desk_events.parquet, column 'link_id': row 3 (at 2022-08-01 "
        "09:02:00) has event 'commit' and no link_id: a commit is the desk evidence"
    )


def test_spark_refuses_a_link_whose_commit_is_at_another_terminal_as_duckdb_does(
    tmp_path, spark_engine
):
    """The check of a desk link's terminal against its commit's is one expression the engine
    runs: Spark refuses the same link with DuckDB's sentence (a local directory), and under
    a URI names the link by its ID alone; nothing is written."""
    from tests.scan.test_row_rules import _desk

    d = _desk()
    d.link("L3", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=20, term="T2")
    d.links[-1]["terminal_id"] = "T9"
    directory = d.write(tmp_path / "in")
    refusals = {}
    for name, where in (
        ("duckdb", directory),
        ("spark", directory),
        ("uri", f"file://{directory}"),
    ):
        out = tmp_path / f"out-{name}"
        with pytest.raises(schema.InputError) as refused:
            scan_run.run(
                where,
                out,
                engine="spark" if name != "duckdb" else "duckdb",
                pdf=False,
                progress=None,
            )
        assert not out.exists()
        refusals[name] = str(refused.value)
    assert refusals["spark"] == refusals["duckdb"]
    assert "row 3 has a terminal_id other than the one" in refusals["duckdb"]
    assert "T9" not in refusals["duckdb"]
    assert "L3" not in refusals["duckdb"]
    # Under a URI the files are Spark's to find: the tables are named without their suffix.
    assert refusals["uri"].startswith(
        f"file://{directory}/links, column 'terminal_id': a link (its link_id of 2 "
        "characters) has a terminal_id other than the one desk_events records its commit at"
    )


def test_spark_reads_a_shift_jis_export_with_empty_rows_below_as_duckdb_does(
    tmp_path, spark_engine
):
    """The exports tests/scan/test_exports.py reads (Shift_JIS, rows of commas below the table,
    a value holding a line break) give Spark the same tables and findings as DuckDB: the
    Shift_JIS table staged, the UTF-8 ones read by Spark itself."""
    from tests.scan.test_exports import _exported, excel_csv

    _, exported = _exported(tmp_path, encoding="cp932", blank_rows=2)
    events = schema.load(exported)["desk_events"]
    (exported / "desk_events.csv").write_bytes(excel_csv(events, blank_rows=2))
    residents = schema.load(exported)["residents"]
    kanji = pa.array(["山田\n太郎"] + [None] * (residents.num_rows - 1), pa.string())
    residents = residents.set_column(2, "name_kanji", kanji)
    (exported / "residents.csv").write_bytes(excel_csv(residents, blank_rows=2, end="\n"))

    validated = schema.load(exported)
    # The engine is the session's: what earlier tests staged is still in its scratch folder
    # (residents.parquet, after a test that staged it). Emptied, what is there afterwards is
    # what these files staged.
    if spark_engine.scratch is not None:
        for earlier in spark_engine.scratch.iterdir():
            if earlier.is_dir():
                shutil.rmtree(earlier)
            else:
                earlier.unlink()
    files = spark_engine.register_files(exported)
    for name, table in validated.items():
        assert _sorted_rows(files[name].to_pyarrow(), name) == _sorted_rows(table, name), name
    assert [p.name for p in spark_engine.scratch.iterdir()] == ["links.parquet"]
    _finds_the_hand_made_mislinks_as_duckdb(spark_engine, files, validated)


def test_spark_reads_a_shift_jis_export_given_as_a_uri_as_a_local_path(
    tmp_path, spark_engine, monkeypatch
):
    """The same Shift_JIS export with rows of commas below its tables, given as a URI (which
    Spark reads, the driver cannot): the same rows, tables and findings as DuckDB's; an empty
    row with rows after it, and a byte of no Shift_JIS character, refused naming the same row
    as the local validation. Spark read it as UTF-8 and refused the empty rows."""
    from tests.scan.test_exports import _exported

    _, exported = _exported(tmp_path, encoding="cp932", blank_rows=2)
    uri = f"file://{exported}"
    validated = schema.load(exported)
    assert spark_engine.validate(uri) == schema.validate(exported)
    files = spark_engine.register_files(uri)
    for name, table in validated.items():
        assert _sorted_rows(files[name].to_pyarrow(), name) == _sorted_rows(table, name), name
    _finds_the_hand_made_mislinks_as_duckdb(spark_engine, files, validated)

    def refusals():
        with pytest.raises(schema.InputError) as local:
            schema.validate(exported)
        with pytest.raises(schema.InputError) as spark:
            spark_engine.validate(uri)
        assert spark.value.file == f"{uri}/{Path(local.value.file).name}"
        return local.value.problem, spark.value.problem

    residents = exported / "residents.csv"
    good = residents.read_bytes()
    rows = good.split(b"\r\n")
    residents.write_bytes(b"\r\n".join([*rows[:3], rows[-2], *rows[3:]]))  # an empty row 4
    local, spark = refusals()
    assert local == spark == schema.blank_row_problem(residents, 2)

    # A byte that starts a Shift_JIS character and no character after it, in row 5, past the
    # start that tells the encoding (a MiB; the first four rows here).
    kana = "タナカ".encode("cp932")
    assert kana in rows[4]
    rows[4] = rows[4].replace(kana, kana + b"\x81\x7f")
    residents.write_bytes(b"\r\n".join(rows))
    monkeypatch.setattr(schema, "SNIFF_BYTES", len(b"\r\n".join(rows[:4])))
    local, spark = refusals()
    assert local.startswith("is read as Shift_JIS (its start is), but row 5 holds the byte 0x81")
    assert spark.startswith("is read as Shift_JIS (its start is), but row 5 holds a byte")


def test_spark_refuses_an_account_number_given_for_its_hash_as_duckdb_does(tmp_path, spark_engine):
    d = _desk()
    d.links[0]["account_hash"] = "9001234567890123"
    directory = d.write(tmp_path / "in")
    with pytest.raises(schema.InputError) as local:
        schema.validate(directory)
    with pytest.raises(schema.InputError) as by_spark:
        spark_engine.validate(f"file://{directory}")
    for refused in (local, by_spark):
        said = str(refused.value)
        assert "column 'account_hash': row 1 has a value of 16 digits and separators" in said
        assert "9001234567890123" not in said


def test_spark_refuses_an_individual_number_as_an_id_as_duckdb_does(tmp_path, spark_engine):
    """An id column holding an individual number (12 digits ending in its check digit) is
    refused by Spark over a URI in schema's words, from text and from whole numbers, and the
    number is not echoed (tests/scan/test_individual_number_ids.py)."""
    from tests.scan.test_individual_number_ids import A_NUMBER, _with

    for table, column, integers in (
        ("desk_events", "resident_id", False),
        ("links", "resident_id", True),
    ):
        directory = _with(tmp_path / column / table, table, column, 2, A_NUMBER, integers=integers)
        with pytest.raises(schema.InputError) as local:
            schema.validate(directory)
        with pytest.raises(schema.InputError) as by_spark:
            spark_engine.validate(f"file://{directory}")
        assert local.value.column == by_spark.value.column == column
        assert local.value.problem == by_spark.value.problem
        assert local.value.problem == f"row 3 has {schema.INDIVIDUAL_NUMBER_PROBLEM}"
        assert A_NUMBER not in str(by_spark.value)


def test_spark_reads_times_as_excel_and_sql_server_write_them_as_duckdb_does(
    tmp_path, spark_engine
):
    """Excel's `yyyy-m-d h:mm:ss` (one-digit month and hour) and SQL Server's datetime2(7)
    (7 digits of fraction) in CSV: Spark, reading the local files or the same as a URI, gives
    the tables and findings DuckDB does (the fraction beyond the microsecond dropped on both);
    a time that is still none is refused naming the same row on both. Before, DuckDB's
    validation ended in Arrow's bare ArrowInvalid and Spark's URI validation refused them."""
    from tests.scan.test_export_times import written

    parquet, exported = written(tmp_path, "excel")
    _, seven = written(tmp_path, "datetime2")
    (exported / "desk_events.csv").write_bytes((seven / "desk_events.csv").read_bytes())
    validated = schema.load(exported)
    want = schema.load(parquet)
    for name, table in want.items():
        assert validated[name].to_pylist() == table.to_pylist(), name
    for location in (exported, f"file://{exported}"):
        assert spark_engine.validate(location) == schema.validate(exported)
        files = spark_engine.register_files(location)
        for name, table in validated.items():
            assert _sorted_rows(files[name].to_pyarrow(), name) == _sorted_rows(table, name)
        _finds_the_hand_made_mislinks_as_duckdb(spark_engine, files, validated)

    (tmp_path / "bad").mkdir()
    _, bad = written(tmp_path / "bad", "excel", first="2022-08-01T 9:00:00")
    with pytest.raises(schema.InputError) as local:
        schema.validate(bad)
    with pytest.raises(schema.InputError) as by_spark:
        spark_engine.validate(f"file://{bad}")
    for refused in (local, by_spark):
        assert refused.value.column == "linked_at"
        assert "row 2 has " in refused.value.problem
        assert "'2022-08-01T 9:00:00', not a date and time" in refused.value.problem


def test_spark_reads_a_null_word_in_an_optional_column_as_empty_as_duckdb_does(
    tmp_path, spark_engine
):
    """A holder_kana `NULL` (`nan`, `<NA>`, … schema.NULL_WORDS) is an unknown holder on Spark
    as on DuckDB, from Parquet and CSV, local or as a URI: the same tables and findings
    (holder_check 3); where a row rule wants a value it is refused as an empty one. Before,
    Spark read it as a name in Latin letters, close to every resident's."""
    from tests.scan.test_null_words import as_csv, omission

    d = omission("NULL")
    d.links[0]["account_last4"] = " n/a "
    d.events[0]["resident_id"] = "None"
    parquet = d.write(tmp_path / "in")
    exported = as_csv(parquet)
    validated = schema.load(parquet)
    with engine.connect("duckdb", threads=2) as duck:
        expected = _found(duck, duck.register_files(parquet))
    assert [(r["link_id"], r["holder_check"]) for r in expected] == [("L3", 3)]
    for location in (parquet, exported, f"file://{parquet}", f"file://{exported}"):
        assert spark_engine.validate(location) == schema.validate(parquet)
        files = spark_engine.register_files(location)
        for name, table in validated.items():
            assert _sorted_rows(files[name].to_pyarrow(), name) == _sorted_rows(table, name)
        assert _found(spark_engine, files) == expected, location

    d.links[1]["staff_id"] = " null"
    refused = d.write(tmp_path / "refused")
    with pytest.raises(schema.InputError) as local:
        schema.validate(refused)
    with pytest.raises(schema.InputError) as by_spark:
        spark_engine.validate(f"file://{refused}")
    for said in (local.value.problem, by_spark.value.problem):
        assert said.startswith("row 2 has channel 'desk' and no staff_id")


def test_spark_refuses_a_null_word_in_a_required_column_as_schema_does(tmp_path, spark_engine):
    """A household_id `NULL` is refused on Spark over a URI in schema's words (before, both
    read it as a household that every such resident shared)."""
    from tests.scan.test_null_words import A_OWN, as_csv, omission

    d = omission(A_OWN)
    d.residents[1]["household_id"] = "NULL"
    parquet = d.write(tmp_path / "in")
    for directory in (parquet, as_csv(parquet)):
        with pytest.raises(schema.InputError) as local:
            schema.validate(directory)
        with pytest.raises(schema.InputError) as by_spark:
            spark_engine.validate(f"file://{directory}")
        assert local.value.column == by_spark.value.column == "household_id"
        assert local.value.problem == by_spark.value.problem
        assert "has value 'NULL', a word a tool writes for a missing value" in local.value.problem


def test_spark_refuses_text_after_a_closing_quote_as_duckdb_does(tmp_path, spark_engine):
    """`"ｽｽﾞｷ ｲﾁﾛｳ" ` and `"ｽｽﾞ"ｷ ｲﾁﾛｳ` read as different holders on the two engines (Arrow kept
    the space and dropped the quotes; Spark dropped the space and kept the quotes), so the
    findings differed: both engines refuse the file, in the same words, before reading it."""
    from tests.scan.test_export_quotes import broken

    exported, path = broken(tmp_path, '"ｽｽﾞ"ｷ ｲﾁﾛｳ')
    said = []
    for name in ("duckdb", "spark"):
        with pytest.raises(schema.InputError) as refused:
            scan_run.run(exported, tmp_path / name, engine=name, pdf=False, progress=io.StringIO())
        assert not (tmp_path / name).exists()
        said.append(str(refused.value))
    assert said[0] == said[1]
    assert said[0].startswith(f"{path}, column 'holder_kana': row 4 has a quoted value with text")


def test_spark_orders_ties_and_reads_another_residents_commit_as_duckdb_does(spark_engine):
    """The tie order (a shift change in one second) and a logout omission whose evidence is
    another resident's commit: the same findings on both engines (one ibis definition)."""
    d = Desk()
    family(d)
    d.event(0, "login", staff="S1")
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛｳ")], staff="S1")
    d.event(30, "logout", staff="S1")
    d.event(30, "login", staff="S2")
    d.visit(31, "C", [("L4", "ﾀﾅｶ ﾊﾅｺ")], staff="S2")
    d.event(60, "logout", staff="S2")
    d.event(0, "login", term="T2")
    d.event(1, "card_read", term="T2", resident="A")
    d.link("L2", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=2, term="T2")
    d.link("L3", "A", "ｽｽﾞｷ ｲﾁﾛｳ", minute=4, term="T2")
    d.event(60, "logout", term="T2")
    # Two other residents' commits in A's visit: the one the holder matches (B), not the latest.
    d.event(0, "login", term="T3")
    d.event(1, "card_read", term="T3", resident="A")
    d.link("L5", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=2, term="T3")
    d.link("L6", "C", "ﾀﾅｶ ﾊﾅｺ", minute=3, term="T3")
    d.link("L7", "A", "ｽｽﾞｷ ｲﾁﾛｳ", minute=4, term="T3")
    d.event(60, "logout", term="T3")
    # A father's procedure committed late in his son's visit: the son's link into the
    # father's account stays a family account.
    d.event(0, "login", term="T4")
    d.event(1, "card_read", term="T4", resident="A")
    d.link("L8", "A", "ﾔﾏﾀﾞ ﾀﾛｳ", minute=2, term="T4")
    d.event(3, "card_read", term="T4", resident="A2")
    d.link("L9", "A", "ﾔﾏﾀﾞ ﾀﾛｳ", minute=4, term="T4", programme="public_fund")
    d.link("L10", "A2", "ﾔﾏﾀﾞ ﾀﾛｳ", minute=5, term="T4")
    d.event(60, "logout", term="T4")
    with engine.connect("duckdb", threads=2) as duck:
        expected = _found(duck, duck.register(d.tables()))
    assert sorted((r["link_id"], r["rule"], r["other_resident_id"]) for r in expected) == [
        ("L10", "family_account.v1", "A"),
        ("L3", "logout_omission_by_commit.v1", "B"),
        ("L7", "logout_omission_by_commit.v1", "B"),
    ]
    assert _found(spark_engine, spark_engine.register(d.tables())) == expected


def test_spark_refuses_round_22s_values_over_a_uri_as_schema_does(tmp_path, spark_engine):
    """Round 22's checks, by Spark reading a URI itself: an account hash not in madoguchi's
    form, a NUL in any text, a reading with kanji, a time before 2016 (stored as a timestamp,
    and as text). The same column and sentence as schema's, no account number or NUL'd value
    in it (tests/scan/test_round22_input.py)."""
    from tests.scan.builders import DAY

    breaks = {
        "hash": ("links", "account_hash", 1, "0005/001/1/1234567"),
        "nul": ("links", "holder_kana", 2, "ﾀﾅｶ\x00ﾊﾅｺ"),
        "kanji": ("residents", "name_kana", 2, "鈴木 一郎"),
        "early": ("links", "linked_at", 3, DAY.replace(year=1026)),
        "late text": ("desk_events", "at", 0, "9999-12-31 23:55:00"),
    }
    for name, (table, column, index, value) in breaks.items():
        d = _desk()
        rows = {"links": d.links, "residents": d.residents, "desk_events": d.events}[table]
        rows[index][column] = value if not isinstance(value, str) or column != "at" else DAY
        directory = d.write(tmp_path / name.replace(" ", "-"))
        if column == "at":  # the time as text, as a CSV or a text column holds it
            t = pq.read_table(directory / f"{table}.parquet")
            i = t.schema.get_field_index(column)
            text = [value if r == index else str(v) for r, v in enumerate(t.column(i).to_pylist())]
            pq.write_table(t.set_column(i, column, pa.array(text)), directory / f"{table}.parquet")
        with pytest.raises(schema.InputError) as local:
            schema.validate(directory)
        with pytest.raises(schema.InputError) as by_spark:
            spark_engine.validate(f"file://{directory}")
        assert local.value.column == by_spark.value.column == column, name
        assert local.value.problem == by_spark.value.problem, name
        assert f"row {index + 1} has " in by_spark.value.problem
        assert "1234567" not in str(by_spark.value)
        assert "\x00" not in str(by_spark.value)
