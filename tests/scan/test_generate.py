"""The generator and the evaluator; the whole command line on generated data (DuckDB)."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from madoguchi.scan import evaluate, generate, schema


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
    stdout = io.StringIO()
    call_command("scan", "run", str(data), "--out", str(out), stdout=stdout, stderr=io.StringIO())
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
