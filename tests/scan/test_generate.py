"""The generator and the evaluator; the whole command line on generated data (DuckDB)."""

import io
import json
import re
import unicodedata

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from madoguchi.municipality import is_code
from madoguchi.scan import engine, evaluate, generate, schema


def test_mix_follows_the_national_figures():
    assert generate.mix(172) == {
        "logout_omission": 136,
        "typed_wrong_id": 32,
        "lent_terminal": 2,
        "wrong_card": 2,
    }
    assert sum(generate.mix(1000).values()) == 1000
    small = generate.mix(10)
    assert sum(small.values()) == 10
    assert min(small.values()) >= 1


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    a = generate.generate(tmp_path / "a", links=3000, seed=4, rate=0.01)
    b = generate.generate(tmp_path / "b", links=3000, seed=4, rate=0.01)
    generate.generate(tmp_path / "c", links=3000, seed=5, rate=0.01)
    assert a == b
    read = lambda d: pq.read_table(d / "links.parquet")  # noqa: E731
    assert read(tmp_path / "a").equals(read(tmp_path / "b"))
    assert not read(tmp_path / "a").equals(read(tmp_path / "c"))
    assert a.links == 3000
    tables = schema.load(tmp_path / "a")  # the generator writes valid input
    truth = pq.read_table(tmp_path / "a" / "truth.parquet")
    assert set(truth.column("link_id").to_pylist()) <= set(
        tables["links"].column("link_id").to_pylist()
    )
    assert a.truth["logout_omission"] > a.truth["typed_wrong_id"]


def test_evaluate_counts_precision_and_recall():
    truth = pa.table(
        {
            "link_id": ["1", "2", "3", "4"],
            "cause": ["logout_omission", "logout_omission", "typed_wrong_id", "family_account"],
        }
    )
    found = pa.table(
        {
            "link_id": ["1", "3", "4", "9"],
            "cause": ["logout_omission", "logout_omission", "typed_wrong_id", "typed_wrong_id"],
        }
    )
    ev = evaluate.evaluate(found, truth)
    by = {c.cause: c for c in ev.per_cause}
    assert (by["logout_omission"].precision, by["logout_omission"].recall) == (0.5, 0.5)
    assert by["typed_wrong_id"].recall == 0.0
    assert ev.family_as_mislink == 1
    assert ev.mislink_precision == 0.5  # 1 and 3 are mis-links; 4 is a family account, 9 nothing
    assert not ev.targets_met()


def test_generate_run_evaluate_meets_the_targets(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    call_command(
        "scan",
        "generate",
        "--links",
        "30000",
        "--seed",
        "7",
        "--rate",
        "0.01",
        str(data),
        stdout=io.StringIO(),
    )
    # The report shows 5 findings' desk timelines, not the default 200: WeasyPrint laid out 110
    # pages for them, about 25 s of the test's 33 s on a loaded 2-core machine, for a PDF this
    # test only checks is written. The findings, which the targets are judged on, are the same.
    stdout = io.StringIO()
    call_command(
        "scan",
        "run",
        str(data),
        "--out",
        str(out),
        "--timeline-limit",
        "5",
        stdout=stdout,
        stderr=io.StringIO(),
    )
    assert {p.name for p in out.iterdir()} == {
        "findings.parquet",
        "report.html",
        "report.pdf",
        "summary.json",
    }
    findings = pq.read_table(out / "findings.parquet")
    assert {"link_id", "cause", "score", "rule"} <= set(findings.column_names)
    assert len(set(findings.column("link_id").to_pylist())) == findings.num_rows
    ev = evaluate.evaluate_files(out / "findings.parquet", data / "truth.parquet")
    assert ev.targets_met(), ev.lines()
    report = (out / "report.html").read_text()
    assert "ログアウト漏れ" in report
    assert "市区町村別" in report
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"]["links"] == 30000
    lines = io.StringIO()
    call_command(
        "scan", "evaluate", str(data), "--findings", str(out / "findings.parquet"), stdout=lines
    )
    assert "targets met" in lines.getvalue()


@pytest.mark.parametrize("bad", [["--links", "10"], ["--links", "1000", "--rate", "0.9"]])
def test_generate_refuses_bad_arguments(tmp_path, bad):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("scan", "generate", *bad, str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_generated_block_by_block_each_block_self_contained(tmp_path, monkeypatch):
    """The bounded-memory path: one block at a time, each written as one row group."""
    sizes = []
    real_block = generate._block

    def spy(plan, u, off):
        block = real_block(plan, u, off)
        sizes.append(block.links.num_rows)
        return block

    monkeypatch.setattr(generate, "_block", spy)
    a = generate.generate(tmp_path / "a", links=3500, seed=3, rate=0.02, block_links=1000)
    assert sizes == [1166, 1167, 1167]  # 3 blocks, never the whole data at once
    files = {t: pq.ParquetFile(tmp_path / "a" / f"{t}.parquet") for t in (*schema.TABLES, "truth")}
    assert {f.metadata.num_row_groups for f in files.values()} == {3}
    assert [files["links"].metadata.row_group(i).num_rows for i in range(3)] == sizes
    tables = schema.load(tmp_path / "a")
    links = tables["links"]
    assert links.num_rows == a.links == 3500
    assert len(set(links.column("link_id").to_pylist())) == 3500
    ids = tables["residents"].column("resident_id").to_pylist()
    assert len(set(ids)) == len(ids) == a.residents
    assert set(links.column("resident_id").to_pylist()) <= set(ids)
    # A block's terminals and their events stay in that block's row group.
    for i in range(3):
        ev = files["desk_events"].read_row_group(i)
        lk = files["links"].read_row_group(i)
        terms = {t for t in ev.column("terminal_id").to_pylist()}
        assert {t.split("-")[1] for t in terms} == {f"B{i:04d}"}
        committed = {x for x in ev.column("link_id").to_pylist() if x}
        assert committed == {x["link_id"] for x in lk.to_pylist() if x["channel"] == "desk"}
    truth = pq.read_table(tmp_path / "a" / "truth.parquet")
    assert sum(a.truth.values()) == truth.num_rows
    assert a.truth["logout_omission"] == generate.mix(70)["logout_omission"]
    # Same seed and link count, same files; the blocks draw from their own streams.
    b = generate.generate(tmp_path / "b", links=3500, seed=3, rate=0.02, block_links=1000)
    assert a == b
    for t in (*schema.TABLES, "truth"):
        assert pq.read_table(tmp_path / "a" / f"{t}.parquet").equals(
            pq.read_table(tmp_path / "b" / f"{t}.parquet")
        )
    assert not list((tmp_path / "a").glob(".*part*"))


def test_a_failed_generation_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="too few desk visits"):
        generate.generate(tmp_path / "x", links=200, seed=1, rate=0.2, self_share=0.99)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("links", [1_000_000_001, 10**20])
def test_more_links_than_the_generator_makes_are_refused_and_nothing_written(tmp_path, links):
    """`scan generate --links 99999999999999999999` stopped with numpy's OverflowError."""
    with pytest.raises(ValueError, match="is too many: give at most 1,000,000,000"):
        generate.generate(tmp_path / "x", links=links, seed=1)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("seed", [-1, 2**32, 10**20])
def test_a_seed_the_generator_cannot_take_is_refused_and_nothing_written(tmp_path, seed):
    """A seed of 2**32 or more stopped the generator with an OverflowError traceback (it fills
    the top 32 bits of a 64-bit account number); -1 was numpy's own "expected non-negative
    integer"."""
    with pytest.raises(ValueError, match="give a whole number from 0 to 4,294,967,295"):
        generate.generate(tmp_path / "x", links=1000, seed=seed)
    assert not (tmp_path / "x").exists()
    assert generate.generate(tmp_path / "y", links=1000, seed=2**32 - 1).links == 1000


def bench_scan(*args: str) -> str:
    """``madoguchi bench scan`` on 2,000 generated links without Spark; its output."""
    out = io.StringIO()
    call_command("bench", "scan", "--links", "2000", "--spark-links", "0", *args, stdout=out)
    return out.getvalue()


def test_bench_scan_prints_every_side_and_a_verdict_per_target():
    text = bench_scan("--pandas-links", "500")
    assert "2,000 generated links" in text
    assert "hand-written DuckDB SQL:" in text
    assert "agrees: True" in text
    assert "Spark local[2]:          skipped (--spark-links 0)" in text
    for target in (
        "ibis / SQL <= 1.2:",
        "pandas / ibis >= 10:",
        "100M links < 180 s:",
        "peak memory <= 8 GiB:",
        "same findings everywhere: met",
    ):
        assert target in text
    assert "not measured" in text  # 2,000 links: the 100M time target is not judged
    assert re.search(r"peak memory:\s+[\d,]+ MiB during the ibis scan", text)
    # pandas and ibis on its slice name the slice's size, not the whole input's
    assert re.search(r"pandas: .*; 500 links; agrees: True", text)
    assert re.search(r"ibis, pandas' slice: .*; 500 links; the same links", text)


def test_bench_scan_with_only_ibis_says_no_findings_were_compared():
    """With SQL, pandas and Spark skipped the bench compared nothing, and said the target
    "same findings everywhere" was met, with nothing in its brackets."""
    text = bench_scan("--pandas-links", "0", "--skip-sql")
    assert (
        "same findings everywhere: not measured (nothing compared: SQL, pandas and Spark "
        "skipped)" in text
    )
    assert "same findings everywhere: met" not in text


def test_bench_scan_repeats_the_ibis_and_sql_sides_and_reports_medians(monkeypatch):
    from madoguchi.scan import bench

    # Every ibis run of the bench, its kept steps counted at its end.
    kept: list[int] = []
    real = bench._drop_stages

    def drop(eng):
        kept.append(
            eng.con.con.sql(
                "SELECT count(*) FROM duckdb_tables() "
                f"WHERE database_name = '{engine.STEPS_CATALOG}' AND table_name LIKE 'scan_stage_%'"
            ).fetchall()[0][0]
        )
        real(eng)

    monkeypatch.setattr(bench, "_drop_stages", drop)
    text = bench_scan("--pandas-links", "0", "--repeat", "3")
    assert "runs:                    ibis and SQL 3 times each, in turn" in text
    assert "agrees: True" in text
    # Three runs, each starting with none of the last run's kept steps.
    assert len(kept) == 3
    assert kept[0] > 0
    assert kept[1] == kept[2] == kept[0]


def test_bench_scan_writes_nothing_beside_the_data(tmp_path, monkeypatch):
    """The input may be read-only or shared: DuckDB's database file (``--storage file``) and
    its spill go into the bench's own temporary directory."""
    from madoguchi.scan import bench

    data = tmp_path / "in"
    generate.generate(data, links=2000, seed=1)
    before = sorted(p.name for p in data.iterdir())
    during: list[list[str]] = []
    real = bench._pairs

    def look(table):  # called while the DuckDB connection is open
        during.append(sorted(p.name for p in data.iterdir()))
        return real(table)

    monkeypatch.setattr(bench, "_pairs", look)
    text = bench_scan("--data", str(data), "--storage", "file", "--pandas-links", "0")
    assert "DuckDB tables file" in text
    assert "agrees: True" in text
    assert during
    assert all(names == before for names in during)


def test_no_logout_omission_is_injected_between_namesakes(tmp_path):
    """A logout omission puts B's account into A's procedure; when A and B have the same
    reading the holder matches A's own name, and no scan by name can tell it from A's own
    account (the issue defines the case by the holder matching B and not A). The sweep of
    seeds found 2,000 links at rate 0.01 with seed 5 missing its target by one such pair: every
    injected logout omission now has two readings, and that input meets the targets."""
    from madoguchi.scan import run as scan_run

    data = tmp_path / "data"
    generate.generate(data, links=2000, seed=5, rate=0.01)
    truth = pq.read_table(data / "truth.parquet").to_pylist()
    omissions = {r["link_id"] for r in truth if r["cause"] == "logout_omission"}
    readings = {
        r["resident_id"]: r["name_kana"]
        for r in pq.read_table(data / "residents.parquet").to_pylist()
    }
    own = [
        readings[r["resident_id"]]
        for r in pq.read_table(data / "links.parquet").to_pylist()
        if r["link_id"] in omissions
    ]
    holders = [
        r["holder_kana"]
        for r in pq.read_table(data / "links.parquet").to_pylist()
        if r["link_id"] in omissions
    ]
    assert len(omissions) == 14
    same = [h for h, n in zip(holders, own, strict=True) if unicodedata.normalize("NFKC", h) == n]
    assert same == []
    result = scan_run.run(data, tmp_path / "out", pdf=False, progress=None)
    ev = evaluate.evaluate_files(result.out / "findings.parquet", data / "truth.parquet")
    assert ev.targets_met(), ev.lines()


def test_a_typed_wrong_ids_holder_is_no_match_for_the_resident(tmp_path):
    """A typed wrong ID is defined by the holder's name being no match; a stranger one kana
    from the resident's reading is close, which the rules leave alone (a bank's rendering of
    one's own name differs so). 20,000 links at rate 0.01 with seed 4 drew such a stranger
    (ﾏﾂﾓﾄ ｷﾖｳﾍｲ for マツモト キョウコ): none is drawn now, and all are flagged."""
    from madoguchi.namecheck import check_batch
    from madoguchi.scan import namematch
    from madoguchi.scan import run as scan_run

    data = tmp_path / "data"
    generate.generate(data, links=20000, seed=4, rate=0.01)
    typed = {
        r["link_id"]
        for r in pq.read_table(data / "truth.parquet").to_pylist()
        if r["cause"] == "typed_wrong_id"
    }
    readings = {
        r["resident_id"]: r["name_kana"]
        for r in pq.read_table(data / "residents.parquet").to_pylist()
    }
    rows = [r for r in pq.read_table(data / "links.parquet").to_pylist() if r["link_id"] in typed]
    assert len(rows) == 37
    codes = check_batch(
        [readings[r["resident_id"]] for r in rows], [r["holder_kana"] for r in rows]
    ).outcome_codes
    assert [
        r["holder_kana"] for r, c in zip(rows, codes, strict=True) if c != namematch.NO_MATCH
    ] == []
    result = scan_run.run(data, tmp_path / "out", pdf=False, progress=None)
    found = {
        r["link_id"]: r["cause"] for r in pq.read_table(result.out / "findings.parquet").to_pylist()
    }
    assert {found.get(link) for link in typed} <= {"typed_wrong_id", "wrong_card", "family_account"}
    assert None not in {found.get(link) for link in typed}


def test_no_household_holds_two_members_of_one_name_and_every_family_account_is_found(tmp_path):
    """The generator drew the given names of a household's members independently, so a
    household could hold two サトウ ヒロシ; a family account into the other's account then
    matches the resident's own name, which no name check tells apart, and about 5% of family
    accounts went unreported. A household register holds no two members of one name: the
    generator draws them apart, and every family account is found."""
    from madoguchi.scan import run as scan_run

    data = tmp_path / "data"
    generate.generate(data, links=20000, seed=1, family_rate=0.02)
    residents = pq.read_table(data / "residents.parquet", columns=["household_id", "name_kana"])
    pairs = list(
        zip(
            residents.column("household_id").to_pylist(),
            residents.column("name_kana").to_pylist(),
            strict=True,
        )
    )
    assert len(set(pairs)) == len(pairs)
    family_accounts = {
        r["link_id"]
        for r in pq.read_table(data / "truth.parquet").to_pylist()
        if r["cause"] == "family_account"
    }
    assert len(family_accounts) == 400
    result = scan_run.run(data, tmp_path / "out", pdf=False, progress=None)
    found = {
        r["link_id"]: r["cause"] for r in pq.read_table(result.out / "findings.parquet").to_pylist()
    }
    assert {found.get(link) for link in family_accounts} == {"family_account"}


def test_every_generated_municipality_code_carries_its_check_digit():
    """An operator gives a city one of the generated codes (`organisation set-code`), which
    refuses a code whose check digit is wrong: the made-up ones past the eight real ones ended
    in 0 whatever their digits."""
    plan = generate._plan(
        links=5_000_000, seed=1, rate=0.01, family_rate=0.002, self_share=0.3, block_links=500_000
    )
    assert len(plan.munis) == 200
    assert len(set(plan.munis)) == 200
    assert [code for code in plan.munis if not is_code(code)] == []
