"""`madoguchi namecheck` and `madoguchi bench`, called through call_command (no database)."""

import csv
import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_two_names():
    out = run("namecheck", "やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ")
    assert out.startswith("match EXACT_AFTER_NORMALISATION")
    assert "ヤマダ タロウ / ヤマダ タロウ" in out


def test_close_shows_the_account_name_and_japanese_text():
    out = run("namecheck", "ヤマダ タロウ", "ﾔﾏﾀﾞ ｼﾞﾛｳ", "--lang", "ja")
    assert out.startswith("close GIVEN_NAME_DIFFERS")
    assert "account name to show: ﾔﾏﾀﾞ ｼﾞﾛｳ" in out
    assert "姓は一致" in out


def test_one_name_means_no_account_name():
    data = json.loads(run("namecheck", "ヤマダ タロウ", "--json"))
    assert data["outcome"] == "unavailable"
    assert data["reason"] == "NAME_UNAVAILABLE"


def test_json_for_one_pair():
    data = json.loads(run("namecheck", "サカイ ハナコ", "ｽｽﾞｷ ｲﾁﾛｳ", "--json"))
    assert data["outcome"] == "no_match"
    assert data["reason"] == "DIFFERENT"
    assert data["account_display"] is None


@pytest.fixture
def pairs_csv(tmp_path):
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["resident", "account"])
        writer.writerow(["やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"])
        writer.writerow(["サカイ ハナコ", "ｻｶｲ ﾊﾅｺ"])
        writer.writerow(["ヤマダ タロウ", "ｻﾄｳ ﾊﾅｺ"])
        writer.writerow(["ヤマダ タロウ", ""])
        writer.writerow(["すずき きょうこ", "ｽｽﾞｷ ｷﾖｳｺ"])
    return path


def test_csv_to_stdout(pairs_csv):
    rows = list(csv.DictReader(io.StringIO(run("namecheck", "--csv", str(pairs_csv)))))
    assert [(r["outcome"], r["reason"]) for r in rows] == [
        ("match", "EXACT_AFTER_NORMALISATION"),
        ("match", "EXACT_AFTER_NORMALISATION"),
        ("no_match", "DIFFERENT"),
        ("unavailable", "NAME_UNAVAILABLE"),
        ("match", "SMALL_KANA_FOLDED"),
    ]
    assert rows[0]["resident_normalised"] == "ヤマダ タロウ"


def test_csv_to_json_file(pairs_csv, tmp_path):
    target = tmp_path / "out.json"
    out = run("namecheck", "--csv", str(pairs_csv), "--json", "--output", str(target))
    assert "5 pairs checked" in out
    assert "no_match 1" in out
    data = json.loads(target.read_text(encoding="utf-8"))
    assert [d["outcome"] for d in data] == ["match", "match", "no_match", "unavailable", "match"]


def test_csv_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,other\nA,B\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing column"):
        run("namecheck", "--csv", str(path))


def test_missing_file_and_wrong_arguments_are_refused(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("namecheck", "--csv", str(tmp_path / "absent.csv"))
    with pytest.raises(CommandError, match="two names"):
        run("namecheck")


def test_bench_runs_small_and_reports_both_figures():
    out = run("bench", "namecheck", "--pairs", "2000", "--repeat", "1")
    for label in (
        "check_batch:",
        "check_many:",
        "bare fuzz.ratio:",
        "cpdist",
        "bare / check_batch:",
    ):
        assert label in out
    assert "cores" in out
    assert "load average:" in out
    assert len(re.findall(r"^  target (met|not met): ", out, re.MULTILINE)) == 1


@pytest.mark.parametrize(
    ("batch", "bare", "met"),
    [(1_200_000, 3_500_000, True), (900_000, 2_000_000, False), (1_100_000, 3_600_000, False)],
)
def test_bench_verdict_needs_both_the_rate_and_the_ratio(batch, bare, met):
    from madoguchi.namecheck.bench import BenchResult

    result = BenchResult(
        pairs=1,
        repeat=1,
        distinct_names=1,
        distinct_pairs=1,
        batch_pairs_per_s=batch,
        many_pairs_per_s=batch,
        rapidfuzz_pairs_per_s=bare,
        cpdist_pairs_per_s=bare,
        batch_cpu_pairs_per_s=batch,
        rapidfuzz_cpu_pairs_per_s=bare,
        machine="test",
        load_before=(0.0, 0.0, 0.0),
        load_after=(0.0, 0.0, 0.0),
    )
    assert result.target_met is met
    assert result.slowdown == bare / batch


def test_bench_namecheck_and_unknown():
    # `bench all` also drives the database and server benchmarks (make bench); this one needs neither.
    assert "check_batch:" in run("bench", "namecheck", "--pairs", "500", "--repeat", "1")
    with pytest.raises(CommandError, match="Unknown benchmark"):
        run("bench", "nosuch")
